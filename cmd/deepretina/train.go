package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina"
)

var errInterrupted = retina.ErrInterrupted

func trainCmd() *cobra.Command {
	var configPath, rangesPath, out, dataDir string
	var noLN, checkNaN bool
	var keep, stopAfter int
	cmd := &cobra.Command{
		Use:   "train [--config hyperparams.json] [--ranges hyperranges.json] --out DIR",
		Short: "Train models (default: BNCNN on the simulated small retina), then evaluate them",
		Long: `Trains one run per configuration into DIR/<exp_name>/ (checkpoints every epoch; running the
same command again resumes where it stopped), trains the LN baseline of each CNN into
DIR/<exp_name>/ln/, evaluates both on the test set, and appends the scores to
DIR/results.csv and DIR/results.json.

With no --config the CPU default is trained (retina.SmallConfig: BNCNN on the simulated "small"
retina, 20×20 frames, 20-frame history, batch 64). A --config file starts instead from the
published setting (retina.DefaultConfig: BNCNN on sim-paper natural scenes, img_shape
[40,50,50], ksizes [15,11], batch_size 512, 50 epochs, …) for every key it does not set. A
--ranges file maps config keys to lists of values; every combination is trained, each in
DIR/<exp_name>_<key>=<value>_…/.
Nothing is created until the configuration has been checked against the data; a run that fails
before its first checkpoint leaves nothing behind.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base := retina.SmallConfig()
			origin := configOrigin{file: configPath, keys: jsonKeys(configPath), ranges: jsonKeys(rangesPath), dataFlag: dataDir != ""}
			if configPath != "" {
				var err error
				if base, err = retina.LoadConfig(configPath, retina.DefaultConfig()); err != nil {
					return origin.explain(err)
				}
			}
			if dataDir != "" {
				base.DataPath = dataDir
			}
			configs := []retina.Config{base}
			if rangesPath != "" {
				r, err := retina.LoadRanges(rangesPath)
				if err != nil {
					return err
				}
				if configs, err = r.Expand(base); err != nil {
					return origin.explain(err)
				}
			}
			configs = retina.ExpandRepeats(configs) // n_repeats
			if _, err := os.Stat(out); errors.Is(err, os.ErrNotExist) {
				defer removeIfEmpty(out) // created by this command: not left behind empty
			}
			ctx, opts := stopAfterSteps(cmd.Context(), stopAfter,
				retina.TrainOptions{Log: os.Stderr, Keep: keep, CheckNaN: checkNaN})
			for i, cfg := range configs {
				if len(configs) > 1 {
					fmt.Fprintf(os.Stderr, "=== run %d/%d: %s\n", i+1, len(configs), cfg.ExpName)
				}
				ev, err := trainAndEvaluate(ctx, cfg, filepath.Join(out, cfg.ExpName), opts, !noLN)
				if err != nil {
					return fmt.Errorf("run %s: %w", cfg.ExpName, origin.explain(err))
				}
				if err := appendResults(out, cfg, ev); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "hyper-parameter JSON (reference key names); keys it omits take the published defaults (retina.DefaultConfig), not the CPU default")
	f.StringVar(&rangesPath, "ranges", "", "JSON mapping config keys to lists of values: train every combination")
	f.StringVar(&out, "out", "runs", "output folder")
	f.StringVar(&dataDir, "data", "", "data root holding <dataset>/<stim_type>.h5 (overrides the config's datapath)")
	f.BoolVar(&noLN, "no-ln", false, "do not train the LN baseline")
	f.BoolVar(&checkNaN, "check-nan", false, "check every variable for NaN/Inf after each step and name the first one that breaks")
	f.IntVar(&keep, "keep", 2, "checkpoints to keep besides the best one")
	f.IntVar(&stopAfter, "stop-after-steps", 0, "stop (with a checkpoint) after this many steps; for testing resumption")
	_ = f.MarkHidden("stop-after-steps")
	return cmd
}

// trainAndEvaluate trains cfg (and its LN baseline) and scores it on the test set. Both runs
// are checked against the data and their folders before either trains; a run that fails
// leaves behind only what it had saved.
func trainAndEvaluate(ctx context.Context, cfg retina.Config, runDir string, opts retina.TrainOptions, withLN bool) (*analysis.Evaluation, error) {
	rec, err := retina.LoadData(cfg, opts.Log)
	if err != nil {
		return nil, err
	}
	opts.Data = rec
	lnCfg, lnDir := cfg, filepath.Join(runDir, "ln")
	lnCfg.ModelType, lnCfg.ExpName = "LN", cfg.ExpName+"-ln"
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
	ev, err := evaluateRun(runDir, "", rec, false, opts.Log)
	if err != nil {
		return nil, err
	}
	if err := writeEvaluation(ev, filepath.Join(runDir, "eval.json")); err != nil {
		return nil, err
	}
	fmt.Printf("\n%s (%s) on %s, test set:\n", cfg.ExpName, cfg.ModelType, ev.Data)
	return ev, ev.WriteTable(os.Stdout)
}

// appendResults adds one row per run to OUT/results.csv and OUT/results.json.
func appendResults(out string, cfg retina.Config, ev *analysis.Evaluation) error {
	row := map[string]any{"exp_name": cfg.ExpName, "model_type": cfg.ModelType, "dataset": cfg.Dataset,
		"stim_type": cfg.StimType, "cnn_pearson_mean": ev.CNNPearsonMean, "ln_pearson_mean": ev.LNPearsonMean,
		"ceiling_mean": ev.CeilingMean, "fev_mean": ev.FEVMean, "config": cfg}
	jsonPath := filepath.Join(out, "results.json")
	var rows []map[string]any
	if data, err := os.ReadFile(jsonPath); err == nil {
		if err := json.Unmarshal(data, &rows); err != nil {
			return fmt.Errorf("results %s: %w", jsonPath, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	rows = append(rows, row)
	data, _ := json.MarshalIndent(rows, "", "  ")
	if err := retina.WriteFileAtomic(jsonPath, data); err != nil {
		return err
	}
	csvPath := filepath.Join(out, "results.csv")
	_, statErr := os.Stat(csvPath)
	f, err := os.OpenFile(csvPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if errors.Is(statErr, os.ErrNotExist) {
		_ = w.Write([]string{"exp_name", "model_type", "dataset", "stim_type", "cnn_pearson_mean", "ln_pearson_mean", "ceiling_mean", "fev_mean"})
	}
	ff := func(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }
	_ = w.Write([]string{cfg.ExpName, cfg.ModelType, cfg.Dataset, cfg.StimType, ff(ev.CNNPearsonMean), ff(ev.LNPearsonMean), ff(ev.CeilingMean), ff(ev.FEVMean)})
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("results %s: %w", csvPath, err)
	}
	return f.Close()
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
func checkStart(cfg retina.Config, runDir string, rec *datasets.Recording) error {
	err := retina.CheckStart(cfg, runDir, rec)
	var changed *retina.DataChangedError
	if errors.As(err, &changed) {
		return fmt.Errorf("%w (restore that recording to resume the run, or train into another --out)", err)
	}
	return err
}

// trainOnly trains cfg into runDir (retina.Train checks before it creates anything and removes
// what a failed start left), keeping only the error.
func trainOnly(ctx context.Context, cfg retina.Config, runDir string, opts retina.TrainOptions) error {
	_, err := retina.Train(ctx, cfg, runDir, opts)
	return err
}

// configOrigin says where a configuration's values came from, so that an error about a key
// the user never wrote can say that the value is a default, and which one.
type configOrigin struct {
	file     string          // the --config file ("" when none)
	keys     map[string]bool // keys the --config file sets
	ranges   map[string]bool // keys the --ranges file sets
	dataFlag bool            // --data sets datapath
}

// explain adds the origin of the value to an error about a key that a --config file omitted.
func (o configOrigin) explain(err error) error {
	var ce *retina.ConfigError
	if o.file == "" || !errors.As(err, &ce) || o.keys[ce.Key] || o.ranges[ce.Key] || (ce.Key == "datapath" && o.dataFlag) {
		return err
	}
	def, _ := json.Marshal(retina.DefaultConfig())
	var m map[string]json.RawMessage
	_ = json.Unmarshal(def, &m)
	return fmt.Errorf("%w (%s is not set in %s, so it has the default %s: a --config file starts from the published setting, retina.DefaultConfig; set %s in the file)",
		err, ce.Key, o.file, m[ce.Key], ce.Key)
}

// jsonKeys lists the keys of the JSON object in path (none if path is "" or unreadable).
func jsonKeys(path string) map[string]bool {
	keys := map[string]bool{}
	if path == "" {
		return keys
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return keys
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) == nil {
		for k := range m {
			keys[k] = true
		}
	}
	return keys
}
