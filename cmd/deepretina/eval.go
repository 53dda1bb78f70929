package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina"
)

func evalCmd() *cobra.Command {
	var run, jsonOut, lnRun string
	cmd := &cobra.Command{
		Use:   "eval --run DIR [--json FILE]",
		Short: "Score a trained run on its test set: per-cell Pearson r, FEV, bits/spike, LN baseline, reliability ceiling",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if run == "" {
				return fmt.Errorf("--run is required")
			}
			ev, err := evaluateRun(run, lnRun, nil)
			if err != nil {
				return err
			}
			if err := ev.WriteTable(os.Stdout); err != nil {
				return err
			}
			if jsonOut == "" {
				jsonOut = filepath.Join(run, "eval.json")
			}
			if err := writeEvaluation(ev, jsonOut); err != nil {
				return err
			}
			fmt.Println("wrote", jsonOut)
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "run folder (required)")
	cmd.Flags().StringVar(&jsonOut, "json", "", "summary JSON (default RUN/eval.json)")
	cmd.Flags().StringVar(&lnRun, "ln", "", "run folder of the LN baseline (default RUN/ln, else a classical LN fitted by reverse correlation)")
	return cmd
}

// evaluateRun scores the run's best checkpoint on its test data (rec, or loaded from the run's
// config when nil) against an LN baseline.
func evaluateRun(run, lnRun string, rec *datasets.Recording) (*analysis.Evaluation, error) {
	model, err := retina.LoadModel(run, retina.LoadOptions{Log: os.Stderr})
	if err != nil {
		return nil, err
	}
	if rec == nil {
		if rec, err = retina.LoadData(model.Meta.Config, os.Stderr); err != nil {
			return nil, err
		}
	}
	if lnRun == "" {
		if _, err := os.Stat(filepath.Join(run, "ln")); err == nil {
			lnRun = filepath.Join(run, "ln")
		}
	}
	var baseline analysis.LNPredictor
	name := ""
	if lnRun != "" {
		ln, err := retina.LoadModel(lnRun, retina.LoadOptions{Backend: model.Backend(), Log: os.Stderr})
		if err != nil {
			return nil, fmt.Errorf("LN baseline: %w", err)
		}
		baseline, name = analysis.RunBaseline{Model: ln}, "LN model trained in "+lnRun
	} else {
		w, err := model.Windows(rec.Train.Stimulus, rec.Train.Rates)
		if err != nil {
			return nil, err
		}
		if baseline, err = analysis.FitClassicalLN(w, nil, 20000); err != nil {
			return nil, err
		}
		name = "classical LN (spike-triggered average + binned nonlinearity)"
	}
	return analysis.Evaluate(model, baseline, name, rec)
}

func writeEvaluation(ev *analysis.Evaluation, path string) error {
	data, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		return err
	}
	return retina.WriteFileAtomic(path, data)
}
