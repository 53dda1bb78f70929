package main

import (
	stdcontext "context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/internal/results"
	"github.com/deepretina/deepretina/internal/runlock"
	"github.com/deepretina/deepretina/retina"
)

var errInterrupted = retina.ErrInterrupted

func trainCmd() *cobra.Command {
	var plan planFlags
	var out string
	var noLN, checkNaN bool
	var keep, stopAfter, index int
	cmd := &cobra.Command{
		Use:   "train [--config hyperparams.json] [--ranges hyperranges.json [--index I]] --out DIR",
		Short: "Train models (default: BNCNN on the simulated small retina), then evaluate them",
		Long: `Trains one run per configuration into DIR/<exp_name>/ (checkpoints every epoch; running the
same command again resumes where it stopped), trains the LN baseline of each CNN into
DIR/<exp_name>/ln/, evaluates both on the test set, and records the scores in
DIR/results.csv and DIR/results.json (one row per run).

With no --config the default model (BNCNN on the simulated "small" retina) is trained. A
--ranges file maps config keys to lists of values; every combination is trained, or only
combination --index (counted from 0, as a Slurm array task does). A finished run is not
trained again. One process at a time trains a run: a second one stops, naming the first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := plan.check(cmd); err != nil {
				return err
			}
			if cmd.Flags().Changed("index") {
				// As the sweep planned it: a data folder named by its absolute path.
				var err error
				if plan, err = plan.absolute(); err != nil {
					return err
				}
			}
			configs, err := plan.configs()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("index") {
				if index < 0 || index >= len(configs) {
					return fmt.Errorf("--index %d: expected 0 to %d (the number of combinations less one)", index, len(configs)-1)
				}
				if err := checkAgainstPlan(out, index, configs); err != nil {
					return err
				}
				configs = configs[index : index+1]
			}
			opts := retina.TrainOptions{Log: os.Stderr, Cancel: cmd.Context(), Keep: keep, CheckNaN: checkNaN, StopAfterSteps: stopAfter}
			for i, cfg := range configs {
				if len(configs) > 1 {
					fmt.Fprintf(os.Stderr, "=== run %d/%d: %s\n", i+1, len(configs), cfg.ExpName)
				}
				if err := trainRun(cfg, out, opts, !noLN); err != nil {
					return err
				}
			}
			return nil
		},
	}
	plan.register(cmd)
	f := cmd.Flags()
	f.StringVar(&out, "out", "runs", "output folder")
	f.IntVar(&index, "index", 0, "train only combination I of --ranges (0-based; a Slurm array task passes $SLURM_ARRAY_TASK_ID)")
	f.BoolVar(&noLN, "no-ln", false, "do not train the LN baseline")
	f.BoolVar(&checkNaN, "check-nan", false, "check every variable for NaN/Inf after each step and name the first one that breaks")
	f.IntVar(&keep, "keep", 2, "checkpoints to keep besides the best one")
	f.IntVar(&stopAfter, "stop-after-steps", 0, "stop (with a checkpoint) after this many steps; for testing resumption")
	_ = f.MarkHidden("stop-after-steps")
	return cmd
}

// trainRun trains, evaluates and records one run, holding the lock on its folder throughout so
// that no other process trains it at the same time. A run already finished is only recorded.
func trainRun(cfg retina.Config, out string, opts retina.TrainOptions, withLN bool) error {
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
	_ = os.Remove(failedPath(out, cfg.ExpName))
	if ev, ok := finished(runDir, cfg, withLN); ok {
		fmt.Fprintf(opts.Log, "%s: already trained and evaluated (CNN r %.3f)\n", runDir, ev.CNNPearsonMean)
		return recordResults(out, cfg, ev)
	}
	ev, err := trainAndEvaluate(cfg, runDir, opts, withLN)
	if err != nil {
		err = fmt.Errorf("run %s: %w", cfg.ExpName, err)
		if !errors.Is(err, errInterrupted) {
			recordFailure(out, cfg.ExpName, err)
		}
		return err
	}
	return appendResults(out, cfg, ev)
}

// trainAndEvaluate trains cfg (and its LN baseline) and scores it on the test set.
func trainAndEvaluate(cfg retina.Config, runDir string, opts retina.TrainOptions, withLN bool) (*analysis.Evaluation, error) {
	rec, err := retina.LoadData(cfg, opts.Log)
	if err != nil {
		return nil, err
	}
	opts.Data = rec
	if _, err := retina.Train(cfg, runDir, opts); err != nil {
		return nil, err
	}
	if withLN && !strings.EqualFold(cfg.ModelType, "LN") {
		lnCfg := cfg
		lnCfg.ModelType, lnCfg.ExpName = "LN", cfg.ExpName+"-ln"
		fmt.Fprintln(opts.Log, "training the LN baseline")
		if _, err := retina.Train(lnCfg, filepath.Join(runDir, "ln"), opts); err != nil {
			return nil, fmt.Errorf("LN baseline: %w", err)
		}
	}
	ev, err := evaluateRun(runDir, "", rec)
	if err != nil {
		return nil, err
	}
	if err := writeEvaluation(ev, filepath.Join(runDir, "eval.json")); err != nil {
		return nil, err
	}
	fmt.Printf("\n%s (%s) on %s, test set:\n", cfg.ExpName, cfg.ModelType, ev.Data)
	return ev, ev.WriteTable(os.Stdout)
}

// appendResults records the run's scores in OUT/results.csv and OUT/results.json, replacing
// the run's earlier row if it has one.
func appendResults(out string, cfg retina.Config, ev *analysis.Evaluation) error {
	return recordResults(out, cfg, &evalSummary{ev.CNNPearsonMean, ev.LNPearsonMean, ev.CeilingMean, ev.FEVMean})
}

func recordResults(out string, cfg retina.Config, ev *evalSummary) error {
	ctx, cancel := stdcontext.WithTimeout(stdcontext.Background(), 5*time.Minute)
	defer cancel()
	return results.Record(ctx, out, results.Row{ExpName: cfg.ExpName, ModelType: cfg.ModelType, Dataset: cfg.Dataset,
		StimType: cfg.StimType, CNNPearsonMean: ev.CNNPearsonMean, LNPearsonMean: ev.LNPearsonMean,
		CeilingMean: ev.CeilingMean, FEVMean: ev.FEVMean, Config: cfg})
}
