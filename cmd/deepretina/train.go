package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/cmd/deepretina/internal/sweep"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/results"
	"github.com/deepretina/deepretina/internal/runlock"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/runconfig"
)

var errInterrupted = retina.ErrInterrupted

func trainCmd() *cobra.Command {
	var plan sweep.PlanFlags
	var out string
	var noLN, checkNaN bool
	var keep, stopAfter, index int
	var fine fineTuneFlags
	cmd := &cobra.Command{
		Use:   "train [--config hyperparams.json] [--ranges hyperranges.json [--index I]] --out DIR",
		Short: "Train models (default: BNCNN on the simulated small retina), then evaluate them",
		Long: `Trains one run per configuration into DIR/<exp_name>/ (checkpoints every epoch; running the
same command again resumes where it stopped), trains the LN baseline of each CNN into
DIR/<exp_name>/ln/, evaluates both on the test set, and records the scores in
DIR/results.csv and DIR/results.json (one row per run).

With no --config the CPU default is trained (runconfig.SmallConfig: BNCNN on the simulated "small"
retina, 20×20 frames, 40-frame history, batch 64, 8 epochs). A --config file starts instead from the
published setting (runconfig.DefaultConfig: BNCNN on sim-paper natural scenes, img_shape
[40,50,50], ksizes [15,11], batch_size 512, 50 epochs, …) for every key it does not set. A
--ranges file maps config keys to lists of values; every combination is trained, each in
DIR/<exp_name>_<key>=<value>_…/, or only combination --index (counted from 0, as a Slurm array
task does). A config whose recordings key lists several recordings trains one core on all of
them with a readout per recording, and scores each recording on its own test set
(DIR/<exp_name>/eval-<name>.json; eval.json holds their means). --from RUN starts the core from
a trained run; with --readout-only only the new recordings' readouts train, on the frozen core
(--unfreeze-after N: the core too after N epochs). See docs/multirecording.md. A finished run is not trained again. One process at a time trains a run: a second
one stops, naming the first. Nothing is created until the configuration has been checked
against the data; a run that fails before its first checkpoint leaves nothing behind.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := plan.Check(cmd); err != nil {
				return err
			}
			if cmd.Flags().Changed("index") {
				// As the sweep planned it: a data folder named by its absolute path.
				var err error
				if plan, err = plan.Absolute(); err != nil {
					return err
				}
			}
			configs, err := plan.Configs()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("index") {
				if index < 0 || index >= len(configs) {
					return fmt.Errorf("--index %d: expected 0 to %d (the number of combinations less one)", index, len(configs)-1)
				}
				if err := sweep.CheckAgainstPlan(out, index, configs); err != nil {
					return err
				}
				configs = configs[index : index+1]
			}
			for i := range configs {
				if err := fine.apply(cmd, &configs[i]); err != nil {
					return err
				}
			}
			if err := outputs.CheckRunsFolder("--out", out); err != nil {
				return err
			}
			if _, err := os.Stat(out); errors.Is(err, os.ErrNotExist) {
				defer outputs.RemoveIfEmpty(out) // created by this command: not left behind empty
			}
			ctx, opts := stopAfterSteps(cmd.Context(), stopAfter,
				retina.TrainOptions{Log: os.Stderr, Keep: keep, CheckNaN: checkNaN})
			for i, cfg := range configs {
				if len(configs) > 1 {
					fmt.Fprintf(os.Stderr, "=== run %d/%d: %s\n", i+1, len(configs), cfg.ExpName)
				}
				if err := trainRun(ctx, cfg, out, opts, !noLN); err != nil {
					return plan.Origin().Explain(err)
				}
			}
			return nil
		},
	}
	plan.Register(cmd)
	f := cmd.Flags()
	f.StringVar(&out, "out", "runs", "output folder")
	f.IntVar(&index, "index", 0, "train only combination I of --ranges (0-based; a Slurm array task passes $SLURM_ARRAY_TASK_ID)")
	f.BoolVar(&noLN, "no-ln", false, "do not train the LN baseline")
	f.BoolVar(&checkNaN, "check-nan", false, "check every variable for NaN/Inf after each step and name the first one that breaks")
	f.IntVar(&keep, "keep", 2, "checkpoints to keep besides the best one")
	fine.register(cmd)
	f.IntVar(&stopAfter, "stop-after-steps", 0, "stop (with a checkpoint) after this many steps; for testing resumption")
	_ = f.MarkHidden("stop-after-steps")
	return cmd
}

// trainRun trains, evaluates and records one run, holding the lock on its folder throughout so
// that no other process trains it at the same time. A run already finished is only recorded.
func trainRun(ctx context.Context, cfg runconfig.Config, out string, opts retina.TrainOptions, withLN bool) error {
	runDir := filepath.Join(out, cfg.ExpName)
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return fmt.Errorf("run %s: %w", cfg.ExpName, err)
	}
	defer os.Remove(runDir) // only if the run left nothing in it
	lock, err := runlock.Acquire(filepath.Join(runDir, runlock.FileName))
	if err != nil {
		return fmt.Errorf("run %s: %w", cfg.ExpName, err)
	}
	defer lock.Release()
	if s := lock.Stale(); s != nil {
		fmt.Fprintf(opts.Log, "%s: taking over from %s, which stopped without releasing the run\n", runDir, s)
	}
	_ = os.Remove(sweep.FailedPath(out, cfg.ExpName))
	if ev, ok := sweep.Finished(runDir, cfg, withLN); ok {
		fmt.Fprintf(opts.Log, "%s: already trained and evaluated (CNN r %.3f)\n", runDir, ev.CNNPearsonMean)
		return recordResults(out, cfg, ev)
	}
	train := trainAndEvaluate
	if cfg.MultiRecording() {
		train = trainAndEvaluateRecordings
	}
	ev, err := train(ctx, cfg, runDir, opts, withLN)
	if err != nil {
		err = fmt.Errorf("run %s: %w", cfg.ExpName, err)
		if !errors.Is(err, errInterrupted) {
			sweep.RecordFailure(out, cfg.ExpName, err)
		}
		return err
	}
	return recordResults(out, cfg, ev)
}

// trainAndEvaluate trains cfg (and its LN baseline) and scores it on the test set. Both runs
// are checked against the data and their folders before either trains; a run that fails
// leaves behind only what it had saved.
func trainAndEvaluate(ctx context.Context, cfg runconfig.Config, runDir string, opts retina.TrainOptions, withLN bool) (*sweep.EvalSummary, error) {
	rec, err := retina.LoadData(cfg, opts.Log)
	if err != nil {
		return nil, err
	}
	opts.Data = rec
	lnCfg, lnDir := lnBaselineConfig(cfg), filepath.Join(runDir, "ln")
	withLN = withLN && !strings.EqualFold(cfg.ModelType, "LN")
	if err := checkStart(cfg, runDir, rec); err != nil {
		return nil, err
	}
	if withLN {
		if err := checkStart(lnCfg, lnDir, rec); err != nil {
			return nil, fmt.Errorf("LN baseline: %w", err)
		}
	}
	if err := trainOnly(ctx, cfg, runDir, opts); err != nil {
		return nil, err
	}
	if withLN {
		fmt.Fprintln(opts.Log, "training the LN baseline")
		if err := trainOnly(ctx, lnCfg, lnDir, opts); err != nil {
			return nil, fmt.Errorf("LN baseline: %w", err)
		}
	}
	ev, err := evaluateRun(runDir, "", "", rec, false, opts.Log)
	if err != nil {
		return nil, err
	}
	if err := writeEvaluation(ev, filepath.Join(runDir, "eval.json")); err != nil {
		return nil, err
	}
	fmt.Printf("\n%s (%s) on %s, test set:\n", cfg.ExpName, cfg.ModelType, ev.Data)
	return summaryOf(ev), ev.WriteTable(os.Stdout)
}

// lnBaselineConfig is the config of cfg's LN baseline: cfg's data and training, model_type LN,
// exp_name <exp_name>-ln, and none of the CNN-only stages (gain_control: the LN model has no
// hidden layer to divide).
func lnBaselineConfig(cfg runconfig.Config) runconfig.Config {
	ln := cfg
	ln.ModelType, ln.ExpName = "LN", cfg.ExpName+"-ln"
	ln.GainControl = false
	return ln
}

// appendResults records an evaluation's scores in OUT/results.csv and OUT/results.json (see
// recordResults).
func appendResults(out string, cfg runconfig.Config, ev *analysis.Evaluation) error {
	return recordResults(out, cfg, summaryOf(ev))
}

func summaryOf(ev *analysis.Evaluation) *sweep.EvalSummary {
	return &sweep.EvalSummary{CNNPearsonMean: ev.CNNPearsonMean, LNPearsonMean: ev.LNPearsonMean, CeilingMean: ev.CeilingMean, FEVMean: ev.FEVMean}
}

// recordResults records the run's scores in OUT/results.csv and OUT/results.json, replacing
// the run's earlier row if it has one. A multi-recording run's row holds the means over its
// recordings, its dataset names them all ("ret1+ret2+ret3"), and its recordings each one's
// scores (results.csv: their CNN r).
func recordResults(out string, cfg runconfig.Config, ev *sweep.EvalSummary) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dataset := cfg.Dataset
	var recs []results.Recording
	if cfg.MultiRecording() { // the scores are means over these: name them all, and keep each one's
		var names []string
		datasetOf := map[string]string{}
		for _, s := range cfg.RecordingSpecs() {
			names = append(names, s.Dataset)
			datasetOf[s.Name] = s.Dataset
		}
		dataset = strings.Join(names, "+")
		for _, r := range ev.Recordings {
			r.Dataset = datasetOf[r.Name]
			recs = append(recs, r)
		}
	}
	return results.Record(ctx, out, results.Row{ExpName: cfg.ExpName, ModelType: cfg.ModelType, Dataset: dataset,
		StimType: cfg.StimType, CNNPearsonMean: ev.CNNPearsonMean, LNPearsonMean: ev.LNPearsonMean,
		CeilingMean: ev.CeilingMean, FEVMean: ev.FEVMean, Config: cfg, Recordings: recs})
}

// stopAfterSteps makes training stop (with a checkpoint, as on Ctrl-C) after n steps of this
// process; n = 0 leaves ctx alone. The hidden --stop-after-steps flag uses it to test resumption.
func stopAfterSteps(ctx context.Context, n int, opts retina.TrainOptions) (context.Context, retina.TrainOptions) {
	if n <= 0 {
		return ctx, opts
	}
	ctx, cancel := context.WithCancel(ctx)
	steps := 0
	opts.OnStep = func(retina.StepInfo) {
		if steps++; steps >= n {
			cancel()
		}
	}
	return ctx, opts
}

// checkStart is retina.CheckStart with advice for data that changed under an existing run.
func checkStart(cfg runconfig.Config, runDir string, rec *datasets.Recording) error {
	err := retina.CheckStart(cfg, runDir, rec)
	var changed *retina.DataChangedError
	if errors.As(err, &changed) {
		return fmt.Errorf("%w (restore that recording to resume the run, or train into another --out)", err)
	}
	return err
}

// trainOnly trains cfg into runDir (retina.Train checks before it creates anything and removes
// what a failed start left), keeping only the error.
func trainOnly(ctx context.Context, cfg runconfig.Config, runDir string, opts retina.TrainOptions) error {
	_, err := retina.Train(ctx, cfg, runDir, opts)
	return err
}
