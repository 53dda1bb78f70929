package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/report"
	"github.com/deepretina/deepretina/retina"
)

func reportCmd() *cobra.Command {
	var run, out, phenPath, probePath, lnRun, recording string
	var seconds float64
	var allowChanged bool
	cmd := &cobra.Command{
		Use:   "report --run DIR --out FILE.html",
		Short: "Write one self-contained HTML page about a run: training curves, scores, predicted vs recorded rates, filters, phenomena and probe results",
		Long: `Writes one self-contained HTML page (plotly.js inlined: it renders with no network) about a
trained run: its training curves; its test-set scores cell by cell next to the LN baseline and
the reliability ceiling (as eval computes them); predicted vs recorded firing rates; the filters
of its first layer; and, when present, the results of deepretina phenomena (RUN/phenomena/
results.json, or --phenomena) and of deepretina probe (RUN/probe/probe.json, or --probe).
The recording must be the one the run was trained on, as for eval.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if run == "" || out == "" {
				return fmt.Errorf("--run and --out are required")
			}
			if err := outputs.CheckRunFolder("--run", run); err != nil {
				return err
			}
			if lnRun != "" {
				if err := outputs.CheckRunFolder("--ln", lnRun); err != nil {
					return err
				}
			}
			if err := outputs.CheckOutputFile("--out", out, outputs.KindReportHTML, nil); err != nil {
				return err
			}
			if seconds < 0 || math.IsNaN(seconds) || math.IsInf(seconds, 0) {
				return fmt.Errorf("--seconds %g: expected a number of seconds ≥ 0 (0: the whole test set)", seconds)
			}
			phen, err := findResult("--phenomena", phenPath, filepath.Join(run, report.DefaultPhenomenaDir), report.PhenomenaFile)
			if err != nil {
				return err
			}
			probe, err := findResult("--probe", probePath, filepath.Join(run, report.DefaultProbeDir), report.ProbeFile)
			if err != nil {
				return err
			}
			phenSrc, err := checkResultFile("--phenomena", phen, outputs.KindPhenomena, run, os.Stderr)
			if err != nil {
				return err
			}
			probeSrc, err := checkResultFile("--probe", probe, outputs.KindProbe, run, os.Stderr)
			if err != nil {
				return err
			}
			var rep *figures.Report
			err = untilInterrupted(cmd.Context(), "report", func() (err error) {
				rep, err = buildRunReport(run, reportInputs{recording: recording, lnRun: lnRun, seconds: seconds, allowChanged: allowChanged,
					phenomena: phen, probe: probe, log: os.Stderr, sources: []*resultSource{phenSrc, probeSrc}})
				return err
			})
			if err != nil {
				return err
			}
			if err := rep.WriteFile(out); err != nil {
				return err
			}
			fmt.Printf("wrote %s (%d charts)\n", out, rep.Figures())
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "run folder (required)")
	cmd.Flags().StringVar(&out, "out", "", "the HTML page to write (required)")
	cmd.Flags().StringVar(&phenPath, "phenomena", "", "results.json of deepretina phenomena, or its output folder (default RUN/phenomena/results.json when it exists)")
	cmd.Flags().StringVar(&probePath, "probe", "", "probe.json of deepretina probe, or its output folder (default RUN/probe/probe.json when it exists)")
	cmd.Flags().StringVar(&lnRun, "ln", "", "run folder of an LN run to use as the baseline (default RUN/ln, else a ridge LN: whitened ridge filter in a 5×5 crop around each cell's RF centre, binned nonlinearity)")
	cmd.Flags().Float64Var(&seconds, "seconds", 10, "seconds of the test set in the predicted vs recorded rates (0: all)")
	cmd.Flags().BoolVar(&allowChanged, "allow-changed-data", false, "report on the run even if its recording changed since it was trained")
	addRecordingFlag(cmd, &recording)
	return cmd
}

// findResult resolves a results file: the one the flag names (a file, or a folder holding
// name), else the default folder's name when it exists, else "" (no such results).
func findResult(flag, given, defaultDir, name string) (string, error) {
	if given == "" {
		p := filepath.Join(defaultDir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
		return "", nil
	}
	st, err := os.Stat(given)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", flag, given, err)
	}
	if !st.IsDir() {
		return given, nil
	}
	p := filepath.Join(given, name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s %s: the folder holds no %s", flag, given, name)
	}
	return p, nil
}

type reportInputs struct {
	recording    string // --recording: the recording of a multi-recording run
	lnRun        string
	seconds      float64
	allowChanged bool
	phenomena    string // results.json of deepretina phenomena; "" for none
	probe        string // probe.json of deepretina probe; "" for none
	log          io.Writer
	sources      []*resultSource // phenomena's and probe's results, checked against the checkpoint loaded
}

// buildRunReport loads the run, its recording and its LN baseline, checks them against the
// results files, and assembles the page (package report).
func buildRunReport(run string, in reportInputs) (*figures.Report, error) {
	model, err := loadRunModel(run, in.recording, retina.LoadOptions{Log: in.log})
	if err != nil {
		return nil, err
	}
	for _, src := range in.sources {
		if err := src.checkCheckpoint(model); err != nil {
			return nil, err
		}
	}
	meta := model.Meta
	rec, err := retina.LoadData(meta.Config, in.log)
	if err != nil {
		return nil, err
	}
	if err := checkRecording(run, meta, rec, in.allowChanged, in.log); err != nil {
		return nil, err
	}
	baseline, baseName, err := runBaseline(model, run, in.lnRun, rec)
	if err != nil {
		return nil, err
	}
	return report.Run(run, model, rec, report.Options{Baseline: baseline, BaselineName: baseName,
		Seconds: in.seconds, Phenomena: in.phenomena, Probe: in.probe})
}
