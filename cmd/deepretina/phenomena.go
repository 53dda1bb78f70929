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

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/internal/fsutil"
	"github.com/deepretina/deepretina/phenomena"
	"github.com/deepretina/deepretina/retina"
)

func phenomenaCmd() *cobra.Command {
	var run, out, only, truthPreset, recording string
	cmd := &cobra.Command{
		Use:   "phenomena --run DIR --out OUTDIR [--only NAME,NAME] [--truth PRESET]",
		Short: "Run the retinal phenomena battery on a trained model and its ground truth; write results.json and report.html",
		Long: `Runs the battery of retinal phenomena (` + strings.Join(phenomena.Names(), ", ") + `)
on the run's best checkpoint and, side by side, on the ground truth: by default the simulated
retina the run was trained on (preset and seed from the run); --truth PRESET picks another
simulated retina; a run trained on recorded data has no truth unless --truth is given. The
truth is adapted to the grey for 5 s before each stimulus and judged with its own filters' span
(83 frames on the default circuit), so its verdicts do not depend on the run's history.

Every experiment runs on the model, on the truth, and on an LN surrogate of each: a ridge-
regressed spatiotemporal filter and a binned static nonlinearity fitted to that responder's own
responses to white noise. A phenomenon counts as reproduced only when the responder shows it
(the literature's criterion) in at least phenomena.MinCells (1) cell, each judged against the
same cell of its own LN surrogate by the stated margin, on every noise seed (1 and 2): the
phenomena belong to cell types, some of them a minority. The step response is a sanity check
and direction/orientation a negative control, judged on the medians over cells: both are
reported, neither is counted.

Writes OUTDIR/results.json ("kind": "deepretina.phenomena", "run", "checkpoint", the counts
"reproduced" and "truth_reproduced", then one object per experiment keyed by its name, with
"role", "truth", "truth_surrogate", "model", "model_surrogate" metrics (medians, each with
"n_cells"), "reproduced", "truth_reproduced", the per-seed passes, and "model_cells",
"truth_cells" (the cells that show it) with "model_n_cells", "truth_n_cells" (those judged)) and
OUTDIR/report.html (a self-contained page: the table of reproduced phenomena, then one
interactive chart per experiment; plotly.js is inlined, so it renders offline).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if run == "" || out == "" {
				return fmt.Errorf("--run and --out are required")
			}
			exps, err := selectExperiments(only, cmd.Flags().Changed("only"))
			if err != nil {
				return err
			}
			return runPhenomena(cmd.Context(), run, recording, out, truthPreset, exps)
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "run folder of a trained model (required)")
	cmd.Flags().StringVar(&out, "out", "", "output folder for results.json and report.html (required)")
	cmd.Flags().StringVar(&only, "only", "", "comma-separated experiments to run (default: all)")
	addRecordingFlag(cmd, &recording)
	cmd.Flags().StringVar(&truthPreset, "truth", "", "simulated retina preset to compare with (default: the run's own simulated retina, none for recorded data)")
	return cmd
}

// selectExperiments returns the experiments --only names (all when it is not given).
func selectExperiments(only string, given bool) ([]phenomena.Experiment, error) {
	var names []string
	for _, n := range strings.Split(only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	if given && len(names) == 0 {
		return nil, fmt.Errorf("--only %q names no experiment; expected names separated by commas, of %s (leave --only out to run them all)",
			only, strings.Join(phenomena.Names(), ", "))
	}
	exps, err := phenomena.Select(names)
	if err != nil {
		return nil, fmt.Errorf("--only: %w", err)
	}
	return exps, nil
}

// runPhenomena runs exps on the run's best checkpoint and its truth (see phenomenaCmd), writes
// OUTDIR/results.json and OUTDIR/report.html, and prints the table of verdicts.
func runPhenomena(ctx context.Context, run, recording, out, truthPreset string, exps []phenomena.Experiment) error {
	// Inputs and outputs are checked before any work.
	if err := outputs.CheckRunFolder("--run", run); err != nil {
		return err
	}
	if err := outputs.CheckOutputDir("--out", out, map[string]outputs.FileKind{"results.json": outputs.KindPhenomena, "report.html": outputs.KindPhenHTML}); err != nil {
		return err
	}
	if _, err := os.Stat(out); errors.Is(err, os.ErrNotExist) {
		defer outputs.RemoveIfEmpty(out) // created by this command: not left behind empty
	}
	model, err := loadRunModel(run, recording, retina.LoadOptions{Log: os.Stderr})
	if err != nil {
		return err
	}
	truth, truthDesc, err := phenomena.TruthForRun(model.Meta, truthPreset)
	if err != nil {
		return fmt.Errorf("--truth: %w", err)
	}
	if truth != nil {
		fmt.Fprintln(os.Stderr, "phenomena: truth is the", truthDesc)
	} else {
		truthDesc = "none (the run was trained on recorded data; --truth PRESET compares with a simulated retina)"
		fmt.Fprintln(os.Stderr, "phenomena: no truth:", truthDesc)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}

	// The battery, stopped by Ctrl-C.
	start := time.Now()
	var results []*phenomena.Result
	err = untilInterrupted(ctx, "phenomena", func() (err error) {
		results, err = phenomena.Battery(exps, phenomena.ModelResponder{Model: model}, truth, func(i, n int, name string) {
			fmt.Fprintf(os.Stderr, "phenomena: [%d/%d] %s\n", i+1, n, name)
		})
		return err
	})
	if err != nil {
		return err
	}

	// results.json, then report.html.
	data, err := phenomena.ResultsJSON(results, phenomena.ResultsHeader{Run: run, Checkpoint: filepath.Base(model.Dir)})
	if err != nil {
		return err
	}
	if data, err = outputs.WithIdentity(data, outputs.PhenomenaKindID, run, model.Dir); err != nil {
		return err
	}
	if err := checkInterrupted(ctx, "phenomena"); err != nil {
		return err
	}
	jsonPath := filepath.Join(out, "results.json")
	if err := fsutil.WriteFileAtomic(jsonPath, data); err != nil {
		return err
	}
	subtitle := fmt.Sprintf("Model: %s (checkpoint %s). Truth: %s. %d experiments in %.1f s.",
		run, filepath.Base(model.Dir), truthDesc, len(results), time.Since(start).Seconds())
	rep := phenomena.Report("Retinal phenomena: "+filepath.Base(filepath.Clean(run)), subtitle, results)
	htmlPath := filepath.Join(out, "report.html")
	if err := rep.WriteFile(htmlPath); err != nil {
		return err
	}
	printPhenomena(results, truth != nil)
	fmt.Println("wrote", jsonPath)
	fmt.Println("wrote", htmlPath)
	return nil
}

// printPhenomena prints one line per experiment and the counts of phenomena reproduced.
func printPhenomena(results []*phenomena.Result, withTruth bool) {
	fmt.Printf("%-26s %-11s %-10s %-14s %-11s %-14s %s\n", "experiment", "role", "reproduced", "model cells", "truth shows", "truth cells", "seconds")
	for _, r := range results {
		truthOK, truthCells := "—", "—"
		if r.TruthReproduced != nil {
			truthOK, truthCells = yesNo(*r.TruthReproduced), cellList(r.TruthCells, *r.TruthNCells)
		}
		fmt.Printf("%-26s %-11s %-10s %-14s %-11s %-14s %.2f\n", r.Name, r.Role, yesNo(r.Reproduced), cellList(r.ModelCells, r.ModelNCells), truthOK, truthCells, r.Seconds)
	}
	nm, nt := phenomena.CountReproduced(results)
	if withTruth {
		fmt.Printf("phenomena shown by ≥ %d cell(s) beyond its LN surrogate cell on every seed: model %d, truth %d (sanity check and control not counted)\n", phenomena.MinCells, nm, nt)
	} else {
		fmt.Printf("phenomena shown by ≥ %d cell(s) beyond its LN surrogate cell on every seed: model %d (sanity check and control not counted)\n", phenomena.MinCells, nm)
	}
}

// cellList is "[3 5]/8": the cells that meet the criterion, of those judged.
func cellList(cells []int, n int) string { return fmt.Sprintf("%v/%d", cells, n) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
