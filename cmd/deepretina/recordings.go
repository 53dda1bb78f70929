package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/cmd/deepretina/internal/sweep"
	"github.com/deepretina/deepretina/internal/fsutil"
	"github.com/deepretina/deepretina/internal/jsonnull"
	"github.com/deepretina/deepretina/internal/results"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// A multi-recording run (one core, a readout per recording) is used one recording at a time:
// the commands that load a run take --recording NAME, which a run of one recording does not
// need and a run of several asks for, listing its recordings.

// addRecordingFlag registers --recording.
func addRecordingFlag(cmd *cobra.Command, recording *string) {
	cmd.Flags().StringVar(recording, "recording", "", "the recording of a multi-recording run to use (its readout, normalisation and cells); a run of one recording needs none")
}

// loadRunModel loads the run's best checkpoint for the recording --recording names.
func loadRunModel(run, recording string, opts retina.LoadOptions) (*retina.Model, error) {
	opts.Recording = recording
	model, err := retina.LoadModel(run, opts)
	var choice *retina.RecordingChoiceError
	if errors.As(err, &choice) {
		return nil, fmt.Errorf("--recording: run %s: %w (--recording NAME)", run, choice)
	}
	return model, err
}

// checkpointID names the checkpoint a result was made from, in the results files: the
// checkpoint folder, and in a multi-recording run the recording after an @, so that the
// results of one recording are not taken for another's.
func checkpointID(model *retina.Model) string {
	if len(model.Meta.Recordings) == 1 {
		return model.Dir + "@" + model.Meta.Recordings[0].Name
	}
	return model.Dir
}

// evalFileOf is the file of RUN that holds the scores of a run's recording: eval.json, or
// eval-<name>.json for a recording of a multi-recording run.
func evalFileOf(meta *retina.RunMeta) string {
	if len(meta.Recordings) == 1 {
		return "eval-" + meta.Recordings[0].Name + ".json"
	}
	return outputs.EvalFile
}

// runRecordingMeta reads the run's description for the recording --recording names, before
// any work (to name its output files).
func runRecordingMeta(run, recording string) (*retina.RunMeta, error) {
	path := filepath.Join(run, outputs.RunDescriptor)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		// Not a run folder: loading the model says why, naming what is missing.
		return &retina.RunMeta{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--run %s: %w", run, err)
	}
	meta, err := retina.ParseMeta(data)
	if err != nil {
		return nil, fmt.Errorf("--run %s: %s: %w", run, path, err)
	}
	view, err := meta.ForRecording(recording)
	if err != nil {
		return nil, fmt.Errorf("--recording: run %s: %w (--recording NAME)", run, err)
	}
	return view, nil
}

// trainAndEvaluateRecordings trains a multi-recording run (no LN baseline: each recording is
// scored against a ridge LN fitted to its own training data), then scores each recording on
// its own test set: RUN/eval-<name>.json and a table each, and RUN/eval.json with their means
// (what the results row and a sweep's status show) and each recording's summary.
func trainAndEvaluateRecordings(ctx context.Context, cfg runconfig.Config, runDir string, opts retina.TrainOptions, withLN bool) (*sweep.EvalSummary, error) {
	if withLN {
		fmt.Fprintln(opts.Log, "note: a multi-recording run trains no LN model; each recording is compared with a ridge LN fitted to its training data")
	}
	recs, err := retina.LoadRecordings(cfg, opts.Log)
	if err != nil {
		return nil, err
	}
	opts.Recordings = recs
	err = retina.CheckStartRecordings(cfg, runDir, recs)
	var changed *retina.DataChangedError
	if errors.As(err, &changed) {
		return nil, fmt.Errorf("%w (restore that recording to resume the run, or train into another --out)", err)
	}
	if err != nil {
		return nil, err
	}
	if err := trainOnly(ctx, cfg, runDir, opts); err != nil {
		return nil, err
	}
	var all recordingsEval
	for i, spec := range cfg.RecordingSpecs() {
		ev, err := evaluateRun(runDir, spec.Name, "", recs[i], false, opts.Log)
		if err != nil {
			return nil, fmt.Errorf("recording %s: %w", spec.Name, err)
		}
		if err := writeEvaluation(ev, filepath.Join(runDir, "eval-"+spec.Name+".json")); err != nil {
			return nil, err
		}
		fmt.Printf("\n%s (%s), recording %s (%s), test set:\n", cfg.ExpName, cfg.ModelType, spec.Name, ev.Data)
		if err := ev.WriteTable(os.Stdout); err != nil {
			return nil, err
		}
		all.add(spec.Name, ev)
	}
	data, err := jsonnull.MarshalIndent(all, "", "  ") // NaN scores (no ceiling without repeats) as null
	if err != nil {
		return nil, err
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(runDir, outputs.EvalFile), data); err != nil {
		return nil, err
	}
	if len(all.Recordings) > 1 {
		fmt.Printf("\n%s: mean over its %d recordings: CNN r %.3f, LN r %.3f, ceiling %.3f, FEV %.3f\n", cfg.ExpName, len(all.Recordings),
			all.CNNPearsonMean, all.LNPearsonMean, all.CeilingMean, all.FEVMean)
	}
	sum := &sweep.EvalSummary{CNNPearsonMean: all.CNNPearsonMean, LNPearsonMean: all.LNPearsonMean, CeilingMean: all.CeilingMean, FEVMean: all.FEVMean}
	for _, r := range all.Recordings {
		sum.Recordings = append(sum.Recordings, results.Recording{Name: r.Name, CNNPearsonMean: r.CNNPearsonMean,
			LNPearsonMean: r.LNPearsonMean, CeilingMean: r.CeilingMean, FEVMean: r.FEVMean})
	}
	return sum, nil
}

// recordingsEval is RUN/eval.json of a multi-recording run: the means over its recordings of
// their mean scores over cells, and each recording's.
type recordingsEval struct {
	CNNPearsonMean float64            `json:"cnn_pearson_mean"`
	LNPearsonMean  float64            `json:"ln_pearson_mean"`
	CeilingMean    float64            `json:"ceiling_mean"`
	FEVMean        float64            `json:"fev_mean"`
	Recordings     []recordingSummary `json:"recordings"`
}

type recordingSummary struct {
	Name           string  `json:"name"`
	Data           string  `json:"data"`
	File           string  `json:"file"` // its eval-<name>.json
	CNNPearsonMean float64 `json:"cnn_pearson_mean"`
	LNPearsonMean  float64 `json:"ln_pearson_mean"`
	CeilingMean    float64 `json:"ceiling_mean"`
	FEVMean        float64 `json:"fev_mean"`
}

// add appends a recording's scores and updates the means (NaN if any is NaN).
func (e *recordingsEval) add(name string, ev *analysis.Evaluation) {
	e.Recordings = append(e.Recordings, recordingSummary{Name: name, Data: ev.Data, File: "eval-" + name + ".json",
		CNNPearsonMean: ev.CNNPearsonMean, LNPearsonMean: ev.LNPearsonMean, CeilingMean: ev.CeilingMean, FEVMean: ev.FEVMean})
	n := float64(len(e.Recordings))
	mean := func(get func(recordingSummary) float64) float64 {
		total := 0.0
		for _, r := range e.Recordings {
			total += get(r)
		}
		return total / n
	}
	e.CNNPearsonMean = mean(func(r recordingSummary) float64 { return r.CNNPearsonMean })
	e.LNPearsonMean = mean(func(r recordingSummary) float64 { return r.LNPearsonMean })
	e.CeilingMean = mean(func(r recordingSummary) float64 { return r.CeilingMean })
	e.FEVMean = mean(func(r recordingSummary) float64 { return r.FEVMean })
}

// fineTuneFlags are train's flags for fine-tuning a trained core: they set the config keys
// from_run, readout_only and unfreeze_after of every run.
type fineTuneFlags struct {
	from          string
	readoutOnly   bool
	unfreezeAfter int
}

func (f *fineTuneFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "start the core from this trained run's best checkpoint (config key from_run); each recording gets a new readout")
	fl.BoolVar(&f.readoutOnly, "readout-only", false, "with --from: train only the readouts, the core frozen (config key readout_only)")
	fl.IntVar(&f.unfreezeAfter, "unfreeze-after", 0, "with --readout-only: train the core too after this many epochs (config key unfreeze_after; 0: never)")
}

// apply sets the keys the flags give over cfg and checks the result, naming the flag of a bad
// value.
func (f *fineTuneFlags) apply(cmd *cobra.Command, cfg *runconfig.Config) error {
	flags := map[string]string{"from_run": "--from", "readout_only": "--readout-only", "unfreeze_after": "--unfreeze-after"}
	changed := cmd.Flags().Changed
	if changed("from") {
		cfg.FromRun = f.from
	}
	if changed("readout-only") {
		cfg.ReadoutOnly = f.readoutOnly
	}
	if changed("unfreeze-after") {
		cfg.UnfreezeAfter = f.unfreezeAfter
	}
	err := cfg.Validate()
	var ce *runconfig.ConfigError
	if errors.As(err, &ce) && changed(strings.TrimPrefix(flags[ce.Key], "--")) {
		return fmt.Errorf("%s: %w", flags[ce.Key], err)
	}
	return err
}
