package main

import (
	"bytes"
	stdcontext "context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/cmd/deepretina/internal/sweep"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/runlock"
)

// The second new-user pass (issue 24): no command destroys another's output, every long
// command stops on Ctrl-C or SIGTERM, inputs and outputs are checked before the work.

// importedRun imports the reference checkpoint bncnn_newest_zip.pt (8 cells, 10×20×20 input)
// as a run on the simulated small retina's white noise: a run in a second, without training.
func importedRun(t *testing.T, data, dir string) {
	t.Helper()
	pt, err := filepath.Abs("../../torchio/testdata/torch/bncnn_newest_zip.pt")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "import", "--pt", pt, "--out", dir, "--data", data, "--dataset", "sim-small", "--stim", "whitenoise"); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
}

// wantError runs the binary and checks that it fails with a message holding every want.
func wantError(t *testing.T, want []string, args ...string) {
	t.Helper()
	out, err := run(t, args...)
	if err == nil {
		t.Errorf("%v succeeded:\n%s", args, out)
		return
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%v: output lacks %q:\n%s", args, w, out)
		}
	}
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestNoCommandWritesAmongAnothersFiles covers items 1, 2, 4 (predict), 8 and 11 (import --out,
// phenomena --only ","): outputs inside a run's own files are refused by every command that
// writes, a file of another kind is not replaced (phenomena's results.json over train's
// results table, an npz over phenomena results), train checks its results table before
// training, predict does not write non-finite rates, and report checks the kind and the run of
// the phenomena and probe results it is given.
func TestNoCommandWritesAmongAnothersFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("needs /usr/bin/python3 with numpy; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	work := t.TempDir()
	r1, r2 := filepath.Join(work, "r1"), filepath.Join(work, "r2")
	importedRun(t, data, r1)
	importedRun(t, data, r2)
	runJSON := filepath.Join(r1, "run.json")
	meta := filepath.Join(r1, "checkpoints", "epoch-0007", "meta.json")
	before, beforeMeta := fileBytes(t, runJSON), fileBytes(t, meta)
	stim := filepath.Join(work, "movie.npy")
	if out, err := exec.Command("/usr/bin/python3", "-c", "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(1).normal(size=(30, 20, 20)).astype(np.float32))", stim).CombinedOutput(); err != nil {
		t.Fatalf("movie: %v\n%s", err, out)
	}

	among := []string{"among the files of the run", r1}
	for _, args := range [][]string{
		{"export", "--run", r1, "--out", runJSON},
		{"export", "--run", r1, "--out", meta},
		{"report", "--run", r1, "--out", meta},
		{"report", "--run", r2, "--out", filepath.Join(r1, "checkpoints", "new.html")},
		{"predict", "--run", r1, "--stimulus", stim, "--out", runJSON},
		{"eval", "--run", r2, "--json", runJSON},
		{"eval", "--run", r2, "--json", filepath.Join(r1, "eval.json")},
		{"bench", "--no-torch", "--no-e2e", "--out", "", "--json", runJSON},
		{"simulate", "--out", filepath.Join(r1, "checkpoints")},
		{"import", "--pt", "../../torchio/testdata/torch/bncnn_newest_zip.pt", "--out", filepath.Join(r1, "ln")},
		{"probe", "--run", r1, "--out", filepath.Join(r1, "checkpoints")},
		{"phenomena", "--run", r1, "--out", filepath.Join(r1, "ln"), "--only", "step_response"},
	} {
		wantError(t, among, args...)
	}
	if !bytes.Equal(fileBytes(t, runJSON), before) || !bytes.Equal(fileBytes(t, meta), beforeMeta) {
		t.Fatal("a refused command changed the run's files")
	}
	if out, err := run(t, "export", "--run", r1, "--out", filepath.Join(work, "w.npz")); err != nil {
		t.Fatalf("export after the refusals: %v\n%s", err, out)
	}

	// Item 4: a stimulus that drives the model to non-finite rates writes nothing.
	huge := filepath.Join(work, "huge.npy")
	if out, err := exec.Command("/usr/bin/python3", "-c", "import numpy as np, sys; np.save(sys.argv[1], np.full((30, 20, 20), 3e38, np.float32))", huge).CombinedOutput(); err != nil {
		t.Fatalf("movie: %v\n%s", err, out)
	}
	wantError(t, []string{"predicts", "NaN", "not writing"}, "predict", "--run", r1, "--stimulus", huge, "--out", filepath.Join(work, "p.npy"))
	if _, err := os.Stat(filepath.Join(work, "p.npy")); err == nil {
		t.Error("predict wrote non-finite rates")
	}

	// Item 2: phenomena does not replace train's results table, and train checks its table
	// before it trains.
	runs := filepath.Join(work, "runs")
	table := `[{"exp_name": "a", "model_type": "BNCNN", "cnn_pearson_mean": 0.5}]`
	_ = os.MkdirAll(runs, 0o755)
	writeFile(t, filepath.Join(runs, "results.json"), table)
	wantError(t, []string{"--out " + runs, "results.json", "results table of deepretina train"},
		"phenomena", "--run", r1, "--out", runs, "--truth", "small", "--only", "step_response")
	if string(fileBytes(t, filepath.Join(runs, "results.json"))) != table {
		t.Fatal("phenomena replaced train's results.json")
	}
	phen := filepath.Join(r1, "phenomena")
	if out, err := run(t, "phenomena", "--run", r1, "--out", phen, "--truth", "small", "--only", "step_response"); err != nil {
		t.Fatalf("phenomena: %v\n%s", err, out)
	}
	var id struct{ Kind, Run, Checkpoint string }
	readJSON(t, filepath.Join(phen, "results.json"), &id)
	if id.Kind != "deepretina.phenomena" || id.Run != r1 || filepath.Base(id.Checkpoint) != "epoch-0007" {
		t.Errorf("phenomena results.json identity: %+v", id)
	}
	wantError(t, []string{"--out " + phen, "holds the results of deepretina phenomena", "not the results table"},
		"train", "--config", tinyConfig(t, work, ""), "--data", data, "--out", phen)
	wantError(t, []string{"already holds the results of deepretina phenomena"},
		"export", "--run", r1, "--out", filepath.Join(phen, "results.json"))
	if _, err := os.Stat(filepath.Join(phen, "tiny")); err == nil {
		t.Error("train trained into a folder whose results.json it cannot record in")
	}

	// Item 8: report checks what its inputs are and which run they describe.
	page := filepath.Join(work, "page.html")
	otherProbe := filepath.Join(work, "p2", "probe.json")
	_ = os.MkdirAll(filepath.Dir(otherProbe), 0o755)
	writeFile(t, otherProbe, fmt.Sprintf(`{"run": %q, "checkpoint": %q, "summary": {"learned": {"bipolar": 0.5}}, "layers": []}`,
		r2, filepath.Join(r2, "checkpoints", "epoch-0007")))
	staleProbe := filepath.Join(work, "p3", "probe.json")
	_ = os.MkdirAll(filepath.Dir(staleProbe), 0o755)
	writeFile(t, staleProbe, fmt.Sprintf(`{"run": %q, "checkpoint": %q, "summary": {"learned": {"bipolar": 0.5}}, "layers": []}`,
		r1, filepath.Join(r1, "checkpoints", "epoch-0003")))
	wantError(t, []string{"--probe " + otherProbe, "describes the run " + r2}, "report", "--run", r1, "--out", page, "--probe", otherProbe)
	wantError(t, []string{"--probe", "holds the results of deepretina phenomena", "--phenomena"},
		"report", "--run", r1, "--out", page, "--probe", filepath.Join(phen, "results.json"))
	wantError(t, []string{"--phenomena", "describes the run " + r1}, "report", "--run", r2, "--out", page, "--phenomena", phen)
	wantError(t, []string{"--probe " + staleProbe, "epoch-0003", "epoch-0007"}, "report", "--run", r1, "--out", page, "--probe", staleProbe)
	if _, err := os.Stat(page); err == nil {
		t.Error("report wrote a page from refused inputs")
	}

	// Item 11: messages.
	wantError(t, []string{"--out " + stim, "is a file"}, "import", "--pt", "../../torchio/testdata/torch/bncnn_newest_zip.pt", "--out", stim)
	wantError(t, []string{`--only ","`, "names no experiment"}, "phenomena", "--run", r1, "--out", filepath.Join(work, "ph"), "--only", ",")
	wantError(t, []string{`--cells "1,1,1,1,1,1,1,1"`, "cell 1 is listed twice"},
		"import", "--pt", "../../torchio/testdata/torch/bncnn_newest_zip.pt", "--out", filepath.Join(work, "dup"), "--cells", "1,1,1,1,1,1,1,1")
	// Item 3 through the command: a numpy array of cells names cells and --cells.
	wantError(t, []string{"cells", "numpy array", "--cells"},
		"import", "--pt", "../../torchio/testdata/torch/bad_cells_numpy.pt", "--out", filepath.Join(work, "np"))
	wantError(t, []string{"NaN", "sequential.0.weight"},
		"import", "--pt", "../../torchio/testdata/torch/bad_nan_weight.pt", "--out", filepath.Join(work, "nan"), "--dataset", "sim-small")
}

// TestLongCommandsStopOnASignal covers item 5: phenomena and probe (long runs: the whole
// battery, --max-shift 10) stop within seconds of the first SIGINT or SIGTERM, exit 130 as
// train does, and leave no output folder or results behind.
func TestLongCommandsStopOnASignal(t *testing.T) {
	data := simulated(t)
	work := t.TempDir()
	r := filepath.Join(work, "r")
	importedRun(t, data, r)
	bipolars := filepath.Join(data, "sim-small", "bipolars_sim.h5")
	for _, tc := range []struct {
		name    string
		sig     syscall.Signal
		started string // printed once the long work is under way
		args    []string
	}{
		{"phenomena", syscall.SIGINT, "phenomena: [1/", []string{"phenomena", "--run", r, "--out", filepath.Join(work, "phen"), "--truth", "small"}},
		{"probe", syscall.SIGTERM, "probe: correlating", []string{"probe", "--run", r, "--out", filepath.Join(work, "probe"), "--interneurons", bipolars, "--max-shift", "10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, tc.args...)
			cmd.Env = append(os.Environ(), "GOMLX_BACKEND=go")
			var buf syncBuffer
			cmd.Stdout, cmd.Stderr = &buf, &buf
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(2 * time.Minute)
			for !strings.Contains(buf.String(), tc.started) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			sent := time.Now()
			_ = cmd.Process.Signal(tc.sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("%s still ran 30 s after %v:\n%s", tc.name, tc.sig, buf.String())
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 130 || !strings.Contains(buf.String(), "interrupted by a signal") {
				t.Fatalf("%s after %v: %v (want exit status 130)\n%s", tc.name, tc.sig, err, buf.String())
			}
			t.Logf("%s stopped %.1f s after %v", tc.name, time.Since(sent).Seconds(), tc.sig)
			if out := tc.args[4]; fileExists(out) {
				t.Errorf("%s left %s behind", tc.name, out)
			}
		})
	}
}

// TestSweepGridsAndPlans covers items 6 and 9: a grid's size is said and refused above
// --max-combinations (--sample draws from any size), the plan stores no config per run, one
// value spelled two ways is refused, and a plan whose runs have started is not replaced by
// another unless --replan.
func TestSweepGridsAndPlans(t *testing.T) {
	work := t.TempDir()
	cfg := tinyConfig(t, work, "")
	out := filepath.Join(work, "runs")
	ranges := filepath.Join(work, "ranges.json")
	vals := func(n int, f func(int) string) string {
		var s []string
		for i := range n {
			s = append(s, f(i))
		}
		return "[" + strings.Join(s, ",") + "]"
	}
	seeds := vals(100, func(i int) string { return fmt.Sprint(i + 1) })
	lrs := vals(100, func(i int) string { return fmt.Sprintf("0.%04d", i+1) })
	huge := fmt.Sprintf(`{"seed": %s, "lr": %s, "l2": %s, "l1": %s, "batch_size": %s, "n_epochs": %s}`, seeds, lrs, lrs, lrs,
		vals(100, func(i int) string { return fmt.Sprint(i + 2) }), seeds)
	writeFile(t, ranges, huge)
	wantError(t, []string{"1000000000000 runs", "--max-combinations 1000", "--sample"},
		"sweep", "--ranges", ranges, "--config", cfg, "--out", out, "--dry-run")
	if text, err := run(t, "sweep", "--ranges", ranges, "--config", cfg, "--out", out, "--dry-run", "--sample", "3", "--seed", "4"); err != nil {
		t.Fatalf("--sample 3 of 10¹² combinations: %v\n%s", err, text)
	}
	if p := readPlanFile(t, out); len(p.Runs) != 3 {
		t.Fatalf("--sample 3 planned %d runs", len(p.Runs))
	}

	// 2,000 runs: refused, then planned when confirmed, in a plan of a few hundred bytes a run.
	out2 := filepath.Join(work, "runs2")
	writeFile(t, ranges, fmt.Sprintf(`{"seed": %s, "lr": %s}`, vals(20, func(i int) string { return fmt.Sprint(i + 1) }), lrs))
	wantError(t, []string{"2000 runs", "lr 100 × seed 20"}, "sweep", "--ranges", ranges, "--config", cfg, "--out", out2, "--dry-run")
	text, err := run(t, "sweep", "--ranges", ranges, "--config", cfg, "--out", out2, "--dry-run", "--max-combinations", "2000")
	if err != nil || !strings.Contains(text, "2000 combinations") || !strings.Contains(text, "--max-combinations 2000") {
		t.Fatalf("--max-combinations 2000: %v\n%s", err, text)
	}
	if lines := strings.Count(text, "\n"); lines > 40 {
		t.Errorf("the dry run printed %d lines for 2000 combinations", lines)
	}
	st, err := os.Stat(filepath.Join(out2, outputs.PlanFile))
	if err != nil {
		t.Fatal(err)
	}
	plan := readPlanFile(t, out2)
	if len(plan.Runs) != 2000 || st.Size() > 2000*300 || plan.Runs[1999].Config != nil || plan.Base == nil {
		t.Errorf("plan of 2000 runs: %d bytes, %d runs, last config %v", st.Size(), len(plan.Runs), plan.Runs[1999].Config)
	}
	// A task gets the same limit: the sweep passes --max-combinations on to its workers.
	wantError(t, []string{"2000 runs", "--max-combinations 1000"}, "train", "--ranges", ranges, "--config", cfg, "--index", "1999", "--out", out2)

	// Item 9: values, not their spelling; a started sweep's plan is not silently replaced.
	writeFile(t, ranges, `{"lr": [1e-3, 0.001]}`)
	wantError(t, []string{`key "lr"`, "1e-3", "0.001", "same value twice"}, "sweep", "--ranges", ranges, "--config", cfg, "--out", out, "--dry-run")
	out3 := filepath.Join(work, "runs3")
	writeFile(t, ranges, `{"seed": [1, 2]}`)
	if text, err := run(t, "sweep", "--ranges", ranges, "--config", cfg, "--out", out3, "--dry-run"); err != nil {
		t.Fatalf("plan: %v\n%s", err, text)
	}
	first := readPlanFile(t, out3)
	_ = os.MkdirAll(filepath.Join(out3, first.Runs[0].ExpName, "checkpoints", "epoch-0001"), 0o755)
	writeFile(t, ranges, `{"seed": [3, 4]}`)
	wantError(t, []string{"plans another sweep", first.Runs[0].ExpName, "--replan"}, "sweep", "--ranges", ranges, "--config", cfg, "--out", out3, "--dry-run")
	if p := readPlanFile(t, out3); p.Runs[0].ExpName != first.Runs[0].ExpName {
		t.Fatalf("the refused dry run replaced the plan: %v", p.Runs[0].ExpName)
	}
	if text, err := run(t, "sweep", "--ranges", ranges, "--config", cfg, "--out", out3, "--dry-run", "--replan"); err != nil {
		t.Fatalf("--replan: %v\n%s", err, text)
	}
}

// TestSweepCountsARunHeldElsewhereAsRunning covers item 7: a train task whose run another
// process holds exits with status 75 naming the holder, and a sweep's worker that exits so is
// reported as running elsewhere, not FAILED, with no failure noted and no error.
func TestSweepCountsARunHeldElsewhereAsRunning(t *testing.T) {
	work := t.TempDir()
	cfg := tinyConfig(t, work, "")
	ranges := filepath.Join(work, "ranges.json")
	writeFile(t, ranges, `{"seed": [1, 2]}`)
	out := filepath.Join(work, "runs")
	if text, err := run(t, "sweep", "--ranges", ranges, "--config", cfg, "--out", out, "--dry-run"); err != nil {
		t.Fatalf("plan: %v\n%s", err, text)
	}
	plan, err := sweep.ReadPlan(out)
	if err != nil {
		t.Fatal(err)
	}
	name := plan.Runs[0].ExpName
	_ = os.MkdirAll(filepath.Join(out, name), 0o755)
	lock, err := runlock.Acquire(filepath.Join(out, name, runlock.FileName))
	if err != nil {
		t.Fatal(err)
	}
	text, err := run(t, "train", "--ranges", ranges, "--config", cfg, "--index", "0", "--out", out)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != sweep.ExitHeld || !strings.Contains(text, fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("train on a held run: %v (want exit status %d naming pid %d)\n%s", err, sweep.ExitHeld, os.Getpid(), text)
	}
	lock.Release()

	// A worker that finds its run held (another sweep's worker took it after this sweep
	// looked) is running elsewhere.
	worker := filepath.Join(work, "worker")
	writeFile(t, worker, "#!/bin/sh\necho \"deepretina: run $5: in use by pid 4242 on host elsewhere\"\nexit 75\n")
	_ = os.Chmod(worker, 0o755)
	sw := &sweep.Sweep{Out: out, Plan: plan, Train: []string{"train"}, Exe: worker}
	stdout := os.Stdout
	r, w, _ := os.Pipe()
	os.Stdout = w
	runErr := sw.RunLocal(stdcontext.Background(), 1)
	w.Close()
	os.Stdout = stdout
	var printed bytes.Buffer
	_, _ = printed.ReadFrom(r)
	if runErr != nil || strings.Contains(printed.String(), "FAILED") || !strings.Contains(printed.String(), "running elsewhere") {
		t.Errorf("sweep with its runs held elsewhere: %v\n%s", runErr, printed.String())
	}
	for _, r := range plan.Runs {
		if _, err := os.Stat(sweep.FailedPath(out, r.ExpName)); err == nil {
			t.Errorf("%s noted as failed", r.ExpName)
		}
	}
}

// TestInputsAndOutputsCheckedBeforeTheWork covers items 10 and 11 (probe's message): bench
// refuses an --out it cannot write and a --json folder that does not exist before it measures
// anything; probe refuses a constant interneuron stimulus and a recording given as interneurons
// before it loads the model, in words a user can act on.
func TestInputsAndOutputsCheckedBeforeTheWork(t *testing.T) {
	data := simulated(t)
	work := t.TempDir()
	r := filepath.Join(work, "r")
	importedRun(t, data, r)
	bench := []string{"bench", "--no-torch", "--no-e2e", "--models", "bncnn", "--batches", "2", "--min-seconds", "0.01"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", filepath.Join(work, "nowhere", "x.md")}, "--out"},
		{[]string{"--out", "", "--json", filepath.Join(work, "nowhere", "x.json")}, "--json"},
	} {
		out, err := run(t, append(bench, tc.args...)...)
		if err == nil || !strings.Contains(out, tc.want) || strings.Contains(out, "bench: deepretina") {
			t.Errorf("bench %v: %v (want an error naming %s before any measurement)\n%s", tc.args, err, tc.want, out)
		}
	}

	// An interneuron file whose stimulus never changes.
	const T, H, W, N = 200, 20, 20, 3
	set := &datasets.InterneuronSet{CellType: "bipolars", Provenance: "test: constant stimulus", Groups: []datasets.InterneuronGroup{{
		Name:       "boxes",
		Stimuli:    datasets.Movie{T: T, H: H, W: W, Data: make([]float32, T*H*W)},
		Potentials: datasets.Matrix{Rows: T, Cols: N, Data: make([]float32, T*N)},
	}}}
	for i := range set.Groups[0].Potentials.Data {
		set.Groups[0].Potentials.Data[i] = float32(i % 7)
	}
	flat := filepath.Join(work, "flat.h5")
	if err := datasets.WriteInterneuronFile(flat, set); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	wantError(t, []string{"--interneurons " + flat, `group "boxes"`, "stimulus is constant"},
		"probe", "--run", r, "--out", filepath.Join(work, "probe"), "--interneurons", flat)
	t.Logf("constant stimulus refused in %.1f s", time.Since(start).Seconds())
	recording := filepath.Join(data, "sim-small", "whitenoise.h5")
	out, err := run(t, "probe", "--run", r, "--out", filepath.Join(work, "probe"), "--interneurons", recording)
	if err == nil || strings.Contains(out, "LoadFile") || !strings.Contains(out, "ganglion-cell recording") || !strings.Contains(out, "--interneurons "+recording) {
		t.Errorf("probe with a recording as interneurons: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(work, "probe")); err == nil {
		t.Error("a refused probe left its output folder")
	}
}
