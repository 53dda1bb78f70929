package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/bench"
	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
	"github.com/deepretina/deepretina/internal/fsutil"
	"github.com/deepretina/deepretina/internal/progress"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// benchFlags are the settings of one `deepretina bench`.
type benchFlags struct {
	out, jsonOut, python, script string
	models, batches              string
	minSeconds                   float64
	noTorch, noE2E               bool
	e2eData, e2eModel            string
	e2eWindows, e2eBatch         int
}

func benchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench [--out docs/benchmarks.md]",
		Short: "Training speed of the reference models here and in PyTorch on the same machine (--out docs/benchmarks.md records it)",
		Long: `Measures, on the default engine, the training samples/s of the reference BNCNN and
LinearStackedBNCNN (40×50×50 input, 5 cells) at each batch size on a batch resident on the
device, and the end-to-end time of one training epoch on the simulated "paper" retina (the
"train" command's own loop), next to PyTorch running the same models on the same machine in
the same command (CUDA when a GPU is present, else the CPU with all cores). PyTorch runs first,
so that XLA claims the GPU's memory only after it has finished.

The reference is the PyTorch of the project's virtual environment .venv-torch/ (the newest
torch from the Python index, pinned by scripts/torch_venv.sh), else the first of python3 and
/usr/bin/python3 that imports torch; --python names another.

Nothing is written unless asked: --out docs/benchmarks.md replaces that file's GPU or CPU
section with the table, machine, versions, load average and date; --json writes the results.
On a CPU the epoch is capped at 4,096 windows unless --e2e-windows says otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "Markdown file whose GPU or CPU section gets the results, e.g. docs/benchmarks.md (default: none)")
	fl.StringVar(&f.jsonOut, "json", "", "also write the results as JSON")
	fl.StringVar(&f.models, "models", "bncnn,linearstacked", "models to measure: bncnn, linearstacked")
	fl.StringVar(&f.batches, "batches", "64,512", "batch sizes of the compute measurements")
	fl.Float64Var(&f.minSeconds, "min-seconds", 3, "time each compute measurement for at least this long")
	fl.BoolVar(&f.noTorch, "no-torch", false, "measure deepretina only")
	fl.BoolVar(&f.noE2E, "no-e2e", false, "skip the end-to-end epoch")
	fl.StringVar(&f.e2eData, "e2e-data", "", "data root holding sim-paper/naturalscene.h5 (default: simulate it into a temporary folder)")
	fl.StringVar(&f.e2eModel, "e2e-model", "bncnn", "model of the end-to-end epoch")
	fl.IntVar(&f.e2eWindows, "e2e-windows", 0, "training windows in the end-to-end epoch (0: all on a GPU, 4,096 on a CPU)")
	fl.IntVar(&f.e2eBatch, "e2e-batch", 512, "batch size of the end-to-end epoch")
	fl.StringVar(&f.python, "python", "", "Python with torch for the reference (default: .venv-torch/bin/python of scripts/torch_venv.sh, else the first of python3, /usr/bin/python3 that imports torch)")
	fl.StringVar(&f.script, "torch-script", "scripts/bench_torch.py", "the reference benchmark script")
	return cmd
}

func runBench(cmd *cobra.Command, f benchFlags) error {
	models, err := benchModels(f.models)
	if err != nil {
		return err
	}
	batches, err := positiveInts("--batches", f.batches)
	if err != nil {
		return err
	}
	machine, gpu := bench.MachineDescription()
	rep := bench.Report{Date: time.Now(), Command: "deepretina " + strings.Join(os.Args[1:], " "), Machine: machine,
		Versions: bench.ModuleVersions()}
	torchOK := !f.noTorch
	if torchOK {
		if f.python, f.script, err = torchSetup(f.python, f.script); err != nil {
			fmt.Fprintln(os.Stderr, "bench: PyTorch side skipped:", err)
			torchOK = false
		}
	}
	// The GPU question is settled before any engine exists: XLA's CUDA client would take most
	// of the GPU's memory away from PyTorch.
	rep.GPU = gpu != "" && strings.Contains(strings.ToLower(os.Getenv("GOMLX_BACKEND")), "cuda")
	// Where the results go is checked before anything is measured.
	if f.out != "" {
		if err := outputs.CheckNotAmongRunFiles("--out", f.out, outputs.KindMarkdown); err != nil {
			return err
		}
		if err := bench.CheckSection(f.out, rep.Section()); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	if f.jsonOut != "" {
		if err := outputs.CheckOutputFile("--json", f.jsonOut, outputs.KindBenchJSON, nil); err != nil {
			return err
		}
		if st, err := os.Stat(filepath.Dir(f.jsonOut)); err != nil || !st.IsDir() {
			return fmt.Errorf("--json %s: no folder %s to write it in", f.jsonOut, filepath.Dir(f.jsonOut))
		}
	}
	if err := untilInterrupted(cmd.Context(), "bench", func() error { return measureBench(cmd.Context(), f, &rep, models, batches, torchOK) }); err != nil {
		return err
	}
	rep.Load = bench.LoadAverage()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	if err := rep.WriteTable(tw); err != nil {
		return err
	}
	if f.jsonOut != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := fsutil.WriteFileAtomic(f.jsonOut, data); err != nil {
			return err
		}
	}
	if f.out != "" {
		if err := bench.UpdateSection(f.out, rep.Section(), rep.Markdown()); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: wrote the %s section of %s\n", rep.Section(), f.out)
	}
	return nil
}

// measureBench measures what the flags ask into rep: PyTorch first, then deepretina.
func measureBench(ctx context.Context, f benchFlags, rep *bench.Report, models []string, batches []int, torchOK bool) error {
	var err error
	windows := f.e2eWindows
	if windows == 0 && !rep.GPU {
		windows = 4096
	}

	var rec *datasets.Recording
	var h5 string
	if !f.noE2E {
		if rec, h5, err = benchData(f.e2eData); err != nil {
			return err
		}
	}
	// PyTorch first.
	for _, m := range models {
		for _, b := range batches {
			row := bench.ComputeRow{Model: m, Batch: b}
			if torchOK {
				fmt.Fprintf(os.Stderr, "bench: PyTorch %s, batch %d…\n", m, b)
				r, err := bench.RunTorch(ctx, f.python, f.script, "--model", m, "--batch", strconv.Itoa(b), "--min-seconds", fmt.Sprint(f.minSeconds))
				if err != nil {
					row.TorchErr = err.Error()
				} else {
					row.Torch = &r
				}
			}
			rep.Compute = append(rep.Compute, row)
		}
	}
	if rec != nil {
		rep.E2E = &bench.EndToEnd{Data: fmt.Sprintf("%s/%s, %d frames of %d×%d", rec.Expt, rec.Stim, rec.Train.Stimulus.T, rec.Train.Stimulus.H, rec.Train.Stimulus.W),
			Model: f.e2eModel, Batch: f.e2eBatch}
		if torchOK {
			fmt.Fprintf(os.Stderr, "bench: PyTorch, one epoch on %s…\n", h5)
			r, err := bench.RunTorch(ctx, f.python, f.script, "--mode", "e2e", "--model", f.e2eModel, "--h5", h5,
				"--batch", strconv.Itoa(f.e2eBatch), "--windows", strconv.Itoa(windows))
			if err != nil {
				rep.E2E.TorchErr = err.Error()
			} else {
				rep.E2E.Torch = &r
			}
		}
	}

	engine, err := retina.DefaultEngine(os.Stderr)
	if err != nil {
		return err
	}
	rep.Engine = fmt.Sprintf("%s (%s)", engine.Backend.Name(), engine.Config)
	for i, row := range rep.Compute {
		fmt.Fprintf(os.Stderr, "bench: deepretina %s, batch %d on %s…\n", row.Model, row.Batch, engine.Backend.Name())
		mcfg := nn.DefaultModelConfig(5)
		mcfg.Type = row.Model
		if rep.Compute[i].Go, err = bench.TrainingThroughput(engine.Backend, mcfg, row.Batch, f.minSeconds); err != nil {
			return fmt.Errorf("bench %s batch %d: %w", row.Model, row.Batch, err)
		}
		if rep.E2E != nil && row.Model == f.e2eModel && row.Batch == f.e2eBatch {
			rep.E2E.ComputeRate = rep.Compute[i].Go.SamplesPerSec
		}
	}
	if rep.E2E != nil {
		if rep.E2E.Go, err = benchEpoch(ctx, engine, rec, f.e2eModel, f.e2eBatch, windows); err != nil {
			return err
		}
	}
	return nil
}

// benchEpoch trains one epoch of `train` on rec and reports its training part.
func benchEpoch(ctx context.Context, engine retina.Engine, rec *datasets.Recording, model string, batch, windows int) (bench.EpochRun, error) {
	cfg := runconfig.DefaultConfig()
	cfg.ExpName, cfg.NEpochs, cfg.BatchSize, cfg.MaxTrainWindows = "bench-epoch", 1, batch, windows
	cfg.ModelType = map[string]string{nn.ModelBNCNN: "BNCNN", nn.ModelLinearStacked: "LinearStackedBNCNN"}[model]
	cfg.Dataset, cfg.StimType = rec.Expt, rec.Stim
	dir, err := os.MkdirTemp("", "deepretina-bench-")
	if err != nil {
		return bench.EpochRun{}, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(os.Stderr, "bench: deepretina, one epoch of train on %s/%s…\n", rec.Expt, rec.Stim)
	meta, err := retina.Train(ctx, cfg, dir, retina.TrainOptions{Backend: engine.Backend, Data: rec, Log: os.Stderr})
	if err != nil {
		return bench.EpochRun{}, fmt.Errorf("bench epoch: %w", err)
	}
	h := meta.History[0]
	run := bench.EpochRun{Windows: (h.TrainSteps - 1) * batch, TrainSeconds: h.TrainSeconds - h.CompileSeconds,
		CompileSeconds: h.CompileSeconds, EpochSeconds: h.Seconds, HostToDevice: h.HostToDevice}
	if run.TrainSeconds > 0 {
		run.SamplesPerSec = float64(run.Windows) / run.TrainSeconds
	}
	return run, nil
}

// benchData returns the sim-paper natural-scene recording and the path of its HDF5 file, which
// the PyTorch side reads: from root when given, else simulated into a temporary folder.
func benchData(root string) (*datasets.Recording, string, error) {
	if root != "" {
		rec, err := datasets.Load(root, "sim-paper", datasets.NaturalScene, nil)
		if err != nil {
			return nil, "", fmt.Errorf("--e2e-data: %w", err)
		}
		return rec, filepath.Join(root, "sim-paper", datasets.NaturalScene+".h5"), nil
	}
	sc, err := simretina.Preset("paper")
	if err != nil {
		return nil, "", err
	}
	bar := progress.New(os.Stderr, "bench: simulating the paper retina", 1, 0)
	sim, err := simretina.Simulate(sc, []string{datasets.NaturalScene}, func(done, total int) { bar.Set(done, total, "") })
	bar.Finish()
	if err != nil {
		return nil, "", err
	}
	rec := sim.Recordings[datasets.NaturalScene]
	dir := filepath.Join(os.TempDir(), "deepretina-bench-data")
	path := filepath.Join(dir, "sim-paper", datasets.NaturalScene+".h5")
	if err := datasets.WriteFile(path, rec); err != nil {
		return nil, "", err
	}
	return rec, path, nil
}

func benchModels(list string) ([]string, error) {
	var out []string
	for _, m := range strings.Split(list, ",") {
		switch m = strings.TrimSpace(strings.ToLower(m)); m {
		case nn.ModelBNCNN, nn.ModelLinearStacked:
			out = append(out, m)
		default:
			return nil, fmt.Errorf("--models: %q is not bncnn or linearstacked", m)
		}
	}
	return out, nil
}

func positiveInts(flag, list string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || v < 2 {
			return nil, fmt.Errorf("%s: %q is not a batch size of at least 2", flag, s)
		}
		out = append(out, v)
	}
	return out, nil
}

// torchSetup finds a Python that imports torch and the reference script.
func torchSetup(python, script string) (string, string, error) {
	if _, err := os.Stat(script); err != nil {
		if exe, e := os.Executable(); e == nil {
			alt := filepath.Join(filepath.Dir(filepath.Dir(exe)), script) // bin/deepretina → repo
			if _, e := os.Stat(alt); e == nil {
				script = alt
			}
		}
	}
	if _, err := os.Stat(script); err != nil {
		return "", "", fmt.Errorf("--torch-script %s: %w", script, err)
	}
	candidates := []string{python}
	if python == "" {
		candidates = []string{"python3", "/usr/bin/python3"}
		// The project's pinned PyTorch (scripts/torch_venv.sh), beside the script's scripts/.
		venv := filepath.Join(filepath.Dir(filepath.Dir(script)), ".venv-torch", "bin", "python")
		if _, err := os.Stat(venv); err == nil {
			candidates = append([]string{venv}, candidates...)
		} else {
			fmt.Fprintf(os.Stderr, "bench: no %s (run scripts/torch_venv.sh for the newest PyTorch); trying %v\n", venv, candidates)
		}
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", "import torch").Run() == nil {
			return p, script, nil
		}
	}
	return "", "", fmt.Errorf("no Python among %v imports torch (install python3-torch, or give --python)", candidates)
}
