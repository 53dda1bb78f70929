package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/fsutil"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/nn"
)

func evalCmd() *cobra.Command {
	var run, jsonOut, lnRun, recording string
	var allowChanged bool
	cmd := &cobra.Command{
		Use:   "eval --run DIR [--json FILE]",
		Short: "Score a trained run on its test set: per-cell Pearson r, FEV, bits/spike, LN baseline, reliability ceiling",
		Long: `Loads the run's best checkpoint and its recording (the run's config names it) and scores it on
the test set. The recording must be the one the run was trained on: its identity (file, size,
content hash, simulator preset and seed) is recorded in the run, and a recording that changed
since is refused, saying what changed, unless --allow-changed-data is given. A multi-recording
run is scored one recording at a time (--recording NAME).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if run == "" {
				return fmt.Errorf("--run is required")
			}
			if err := outputs.CheckRunFolder("--run", run); err != nil {
				return err
			}
			if lnRun != "" {
				if err := outputs.CheckRunFolder("--ln", lnRun); err != nil {
					return err
				}
			}
			if jsonOut == "" {
				meta, err := runRecordingMeta(run, recording)
				if err != nil {
					return err
				}
				jsonOut = filepath.Join(run, evalFileOf(meta))
			}
			if err := outputs.CheckOutputFile("--json", jsonOut, outputs.KindEval, nil); err != nil {
				return err
			}
			if dir := filepath.Dir(jsonOut); filepath.Base(jsonOut) == outputs.EvalFile && outputs.IsRunFolder(dir) && !sameRun(dir, run) {
				return fmt.Errorf("--json %s is among the files of the run %s (its scores), and this evaluates %s: choose another --json", jsonOut, dir, run)
			}
			var ev *analysis.Evaluation
			err := untilInterrupted(cmd.Context(), "eval", func() (err error) {
				ev, err = evaluateRun(run, recording, lnRun, nil, allowChanged, os.Stderr)
				return err
			})
			if err != nil {
				return err
			}
			if err := ev.WriteTable(os.Stdout); err != nil {
				return err
			}
			if err := writeEvaluation(ev, jsonOut); err != nil {
				return err
			}
			fmt.Println("wrote", jsonOut)
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "run folder (required)")
	cmd.Flags().StringVar(&jsonOut, "json", "", "summary JSON (default RUN/eval.json; RUN/eval-<recording>.json for a recording of a multi-recording run)")
	addRecordingFlag(cmd, &recording)
	cmd.Flags().StringVar(&lnRun, "ln", "", "run folder of an LN run (model_type LN) to use as the baseline (default RUN/ln, else a ridge LN: whitened ridge filter in a 5×5 crop around each cell's RF centre, binned nonlinearity)")
	cmd.Flags().BoolVar(&allowChanged, "allow-changed-data", false, "score the run even if its recording changed since it was trained")
	return cmd
}

// evaluateRun scores the run's best checkpoint (for the recording named, in a multi-recording
// run) on its test data (rec, or loaded from the run's config when nil, then checked to be the
// recording the run was trained on) against an LN baseline. Notices go to log.
func evaluateRun(run, recording, lnRun string, rec *datasets.Recording, allowChanged bool, log io.Writer) (*analysis.Evaluation, error) {
	model, err := loadRunModel(run, recording, retina.LoadOptions{Log: log})
	if err != nil {
		return nil, err
	}
	if rec == nil {
		if rec, err = retina.LoadData(model.Meta.Config, log); err != nil {
			return nil, err
		}
		if err := checkRecording(run, model.Meta, rec, allowChanged, log); err != nil {
			return nil, err
		}
	}
	baseline, name, err := runBaseline(model, run, lnRun, rec)
	if err != nil {
		return nil, err
	}
	return analysis.Evaluate(model, baseline, name, rec)
}

// runBaseline returns the LN baseline of a run and its description: the LN run lnRun, else
// RUN/ln when it exists, else a ridge LN (analysis.FitRidgeLN: a whitened ridge filter in a
// crop around each cell's receptive field, with a binned nonlinearity) fitted to rec's training
// data. The unwhitened full-frame spike-triggered average it replaces scored 0.31 on natural
// scenes where this scores about as well as the trained LN (issue 18).
func runBaseline(model *retina.Model, run, lnRun string, rec *datasets.Recording) (analysis.LNPredictor, string, error) {
	if lnRun == "" {
		if _, err := os.Stat(filepath.Join(run, "ln")); err == nil {
			lnRun = filepath.Join(run, "ln")
		}
	}
	if lnRun != "" {
		ln, err := retina.LoadModel(lnRun, retina.LoadOptions{Backend: model.Backend(), Log: os.Stderr})
		if err != nil {
			return nil, "", fmt.Errorf("LN baseline: %w", err)
		}
		if ln.Meta.Model.Type != nn.ModelLN {
			return nil, "", fmt.Errorf("LN baseline %s: is a %s run, not an LN run (model_type LN)", lnRun, ln.Meta.Config.ModelType)
		}
		return analysis.RunBaseline{Model: ln}, "LN model trained in " + lnRun, nil
	}
	w, err := model.Windows(rec.Train.Stimulus, rec.Train.Rates)
	if err != nil {
		return nil, "", err
	}
	ln, err := analysis.FitRidgeLN(w, analysis.RidgeLNOptions{})
	if err != nil {
		return nil, "", err
	}
	return ln, analysis.RidgeLNName(ln.Crop) + ", fitted to the training set", nil
}

// checkRecording refuses a recording that is not the one the run was trained on, unless
// allowChanged; runs of older versions, which record no identity, get a notice.
func checkRecording(run string, meta *retina.RunMeta, rec *datasets.Recording, allowChanged bool, log io.Writer) error {
	if meta.DataSource == nil {
		fmt.Fprintf(log, "note: run %s records no identity of its training data (written by an older version); cannot check that %s is the same recording\n", run, rec.Provenance)
		return nil
	}
	err := retina.CheckSameData(meta, rec)
	var changed *retina.DataChangedError
	if errors.As(err, &changed) && allowChanged {
		fmt.Fprintf(log, "warning: run %s: %v; scoring it anyway (--allow-changed-data)\n", run, err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("run %s: %w (pass --allow-changed-data to score it anyway)", run, err)
	}
	return nil
}

func writeEvaluation(ev *analysis.Evaluation, path string) error {
	data, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, data)
}
