package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/analysis/probe"
	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/fsutil"
	"github.com/deepretina/deepretina/internal/jsonnull"
	"github.com/deepretina/deepretina/phenomena"
	"github.com/deepretina/deepretina/phenomena/stimuli"
	"github.com/deepretina/deepretina/report"
	"github.com/deepretina/deepretina/retina"
)

// The simulator's interneuron files, written beside its recordings by `deepretina simulate`.
var simInterneuronFiles = []string{"bipolars_sim.h5", "amacrines_sim.h5"}

func probeCmd() *cobra.Command {
	var run, out, groups, recording string
	var files []string
	var maxShift, rfSamples, igSteps int
	var postReLU, allowChanged bool
	var controlSeed uint64
	cmd := &cobra.Command{
		Use:   "probe --run DIR --out OUTDIR [--interneurons FILE.h5 ...]",
		Short: "Compare a trained model's hidden units with recorded interneurons; receptive fields, attributions; write probe.json and report.html",
		Long: `Correlates every unit (channel × row × column) of the run's hidden layers with recorded bipolar
and amacrine cells, as the reference does (a "boxes" stimulus s is shown as 2s−1, frames are
padded or cropped to the model's, the first history samples of the potentials are dropped),
trying small shifts of the stimulus, and does the same with an untrained model of the same
architecture as the control. It also maps the receptive fields of every ganglion cell and
channel (mean gradient over white noise, with a Gaussian fit), compares them with the recorded
cells' spike-triggered averages, attributes the omitted-stimulus response to each hidden
channel (integrated gradients) and measures the trained layers' similarity to the control's.

Interneurons: the --interneurons files (the reference's layout: one group per stimulus with
"stimuli" and "detrended_membrane_potential"), or by default those of the simulated retina the
run was trained on: bipolars_sim.h5 and amacrines_sim.h5 beside its recording, or, when the run
simulated its data in memory, simulated afresh from its preset and seed.

The run's recording is read (for the spike-triggered averages) and must be the one the run was
trained on, unless --allow-changed-data is given.

Writes OUTDIR/probe.json (the best unit per recorded cell, layer and type, and "summary":
{"learned": {"bipolar": r, "amacrine": r}, "untrained": {...}}, the mean best r per cell type
of the headline stimulus group, and "validation": whether each type reaches mean best r ≥ 0.7
and ≥ 0.1 above the control and, where it does not, what the measurements point to) and
OUTDIR/report.html (self-contained; renders offline). The verdict and its reasons are printed too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var groupList []string
			for _, g := range strings.Split(groups, ",") {
				if g = strings.TrimSpace(g); g != "" {
					groupList = append(groupList, g)
				}
			}
			a := probeArgs{run: run, recording: recording, out: out, files: files, groups: groupList, maxShift: maxShift,
				postReLU: postReLU, allowChanged: allowChanged, controlSeed: controlSeed, rfSamples: rfSamples, igSteps: igSteps}
			if err := a.check(); err != nil {
				return err
			}
			if _, err := os.Stat(out); errors.Is(err, os.ErrNotExist) {
				defer outputs.RemoveIfEmpty(out) // created by this command: not left behind empty
			}
			return untilInterrupted(cmd.Context(), "probe", func() error { return runProbe(a, os.Stderr) })
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "run folder of a trained (or imported) model (required)")
	cmd.Flags().StringVar(&out, "out", "", "output folder for probe.json and report.html (required)")
	addRecordingFlag(cmd, &recording)
	cmd.Flags().StringSliceVar(&files, "interneurons", nil, "interneuron files in the reference's layout (repeat the flag or separate with commas; default: the run's simulated retina's)")
	cmd.Flags().StringVar(&groups, "groups", "", "comma-separated stimulus groups to use (default: every group of the simulator's files; boxes, else whitenoise, else all, of other files)")
	cmd.Flags().IntVar(&maxShift, "max-shift", 1, "try the stimulus shifted by up to this many pixels in each direction")
	cmd.Flags().IntVar(&rfSamples, "rf-samples", 512, "white-noise windows averaged per gradient receptive field")
	cmd.Flags().IntVar(&igSteps, "ig-steps", 32, "α steps of the integrated gradients (the reference uses 5)")
	cmd.Flags().BoolVar(&postReLU, "post-relu", false, "correlate the units after their ReLU (default: before it, at the batch norm's output, as the reference)")
	cmd.Flags().Uint64Var(&controlSeed, "control-seed", 1, "seed of the untrained control's initial weights")
	cmd.Flags().BoolVar(&allowChanged, "allow-changed-data", false, "probe the run even if its recording changed since it was trained")
	return cmd
}

type probeArgs struct {
	run, out     string
	recording    string
	files        []string
	groups       []string
	maxShift     int
	postReLU     bool
	allowChanged bool
	controlSeed  uint64
	rfSamples    int
	igSteps      int
}

// check checks the flags, the run folder, the output folder and the interneuron files before
// any work, naming the flag.
func (a probeArgs) check() error {
	if a.run == "" || a.out == "" {
		return fmt.Errorf("--run and --out are required")
	}
	if err := outputs.CheckRunFolder("--run", a.run); err != nil {
		return err
	}
	if err := outputs.CheckOutputDir("--out", a.out, map[string]outputs.FileKind{report.ProbeFile: outputs.KindProbe, "report.html": outputs.KindProbeHTML}); err != nil {
		return err
	}
	if a.maxShift < 0 || a.maxShift > 10 {
		return fmt.Errorf("--max-shift %d: expected 0 to 10 pixels", a.maxShift)
	}
	if a.rfSamples < 1 {
		return fmt.Errorf("--rf-samples %d: expected at least 1 white-noise window", a.rfSamples)
	}
	if a.igSteps < 1 {
		return fmt.Errorf("--ig-steps %d: expected at least 1 step", a.igSteps)
	}
	for _, f := range a.files {
		if st, err := os.Stat(f); err != nil {
			return fmt.Errorf("--interneurons %s: %w", f, err)
		} else if st.IsDir() {
			return fmt.Errorf("--interneurons %s: is a folder; expected an interneuron .h5 file", f)
		}
	}
	return checkInterneuronFiles(a.files, a.groups)
}

func runProbe(a probeArgs, log io.Writer) error {
	start := time.Now()
	model, err := loadRunModel(a.run, a.recording, retina.LoadOptions{Log: log})
	if err != nil {
		return err
	}
	if len(model.Layers()) == 0 {
		return fmt.Errorf("run %s: a %s model has no hidden units to probe", a.run, model.Meta.Config.ModelType)
	}
	in := analysis.InputOf(model)
	rec, err := retina.LoadData(model.Meta.Config, log)
	switch {
	case err != nil && len(a.files) > 0:
		fmt.Fprintf(log, "probe: the run's recording cannot be read (%v); going on without the recorded cells' spike-triggered averages\n", err)
		rec = nil
	case err != nil:
		return err
	default:
		if err := checkRecording(a.run, model.Meta, rec, a.allowChanged, log); err != nil {
			return err
		}
	}
	data, sources, err := probeInterneurons(model, a, in, log)
	if err != nil {
		return err
	}
	control, err := retina.NewModel(model.Meta.Model, model.Meta.NormStats, a.controlSeed, retina.LoadOptions{Backend: model.Backend()})
	if err != nil {
		return fmt.Errorf("untrained control: %w", err)
	}
	if err := os.MkdirAll(a.out, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", a.out, err)
	}
	res, err := probe.Probe(model, control, data, probe.ProbeOptions{
		Compare:     probe.CompareOptions{AfterNonlinearity: a.postReLU, MaxShift: a.maxShift},
		Attribution: omittedStimulus(in, model.Meta.FrameRate),
		Recording:   rec,
		RF:          analysis.RFOptions{Samples: a.rfSamples},
		IGSteps:     a.igSteps,
		Log:         log,
	})
	if err != nil {
		return err
	}
	res.Run, res.Checkpoint, res.Interneurons = a.run, checkpointID(model), sources
	res.Control = fmt.Sprintf("untrained %s of the same architecture (retina.NewModel, seed %d)", model.Meta.Config.ModelType, a.controlSeed)
	js, err := jsonnull.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	jsonPath := filepath.Join(a.out, "probe.json")
	if err := fsutil.WriteFileAtomic(jsonPath, js); err != nil {
		return err
	}
	subtitle := fmt.Sprintf("Model: %s (checkpoint %s, %s, input %v). Control: %s. Interneurons: %s. %.0f s.",
		a.run, filepath.Base(model.Dir), model.Meta.Config.ModelType, res.InputShape, res.Control, strings.Join(sources, "; "), time.Since(start).Seconds())
	rep, err := res.Report("Interneuron probe: "+filepath.Base(filepath.Clean(a.run)), subtitle)
	if err != nil {
		return err
	}
	htmlPath := filepath.Join(a.out, "report.html")
	if err := rep.WriteFile(htmlPath); err != nil {
		return err
	}
	printProbeSummary(os.Stdout, res)
	fmt.Println("wrote", jsonPath)
	fmt.Println("wrote", htmlPath)
	return nil
}

// probeInterneurons reads the interneuron recordings the probe compares with and describes
// where they came from.
func probeInterneurons(model *retina.Model, a probeArgs, in analysis.Input, log io.Writer) ([]probe.InterneuronData, []string, error) {
	opts := probe.InterneuronOptions{Groups: a.groups}
	if len(a.files) > 0 {
		data, err := probe.LoadInterneurons(a.files, in, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("--interneurons: %w", err)
		}
		return data, a.files, nil
	}
	truth, _, err := phenomena.TruthForRun(model.Meta, "")
	if err != nil {
		return nil, nil, err
	}
	sim, ok := truth.(*phenomena.SimResponder)
	if !ok || sim == nil {
		return nil, nil, fmt.Errorf("run %s was trained on recorded data (%s): give the interneuron recordings to compare with, --interneurons FILE.h5 …", a.run, model.Meta.Data)
	}
	cfg := sim.Retina.Config()
	want := fmt.Sprintf("simulated retina preset=%s seed=%d", strings.TrimPrefix(cfg.Name, retina.SimulatedDatasetPrefix), cfg.Seed)
	var sets []*datasets.InterneuronSet
	var sources []string
	if dp := model.Meta.Config.DataPath; dp != "" {
		dir := filepath.Join(dp, model.Meta.Config.Dataset)
		for _, name := range simInterneuronFiles {
			path := filepath.Join(dir, name)
			if !fileExists(path) {
				fmt.Fprintf(log, "probe: %s not found; simulating the interneurons afresh\n", path)
				sets, sources = nil, nil
				break
			}
			set, err := datasets.LoadInterneuronFile(path)
			if err != nil {
				return nil, nil, err
			}
			if !strings.HasPrefix(set.Provenance, want+";") {
				fmt.Fprintf(log, "probe: %s is not from the run's %s (its provenance: %q); simulating the interneurons afresh\n", path, want, set.Provenance)
				sets, sources = nil, nil
				break
			}
			sets, sources = append(sets, set), append(sources, path)
		}
	}
	if sets == nil {
		fmt.Fprintf(log, "probe: simulating the interneurons of the %s\n", want)
		if sets, err = probe.SimulateInterneurons(cfg); err != nil {
			return nil, nil, err
		}
		for _, s := range sets {
			sources = append(sources, fmt.Sprintf("%s_sim (%s, simulated afresh)", s.CellType, want))
		}
	}
	var data []probe.InterneuronData
	for i, set := range sets {
		d, err := probe.PrepareInterneurons(set, filepath.Base(sources[i]), in, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("--groups: %w", err)
		}
		data = append(data, d...)
	}
	return data, sources, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// omittedStimulus is the omitted-stimulus paradigm of the phenomena battery (eight 2-frame
// flashes of −2 every 80 ms, then grey) in the model's raw units, with the frames after the
// omitted ninth flash as the ones to explain.
func omittedStimulus(in analysis.Input, frameRate float64) *probe.AttributionStimulus {
	frames := func(s float64) int { return max(1, int(math.Round(s*frameRate))) }
	pre, post := max(in.History, frames(0.5)), frames(0.6)
	flash, period, n := max(1, frames(0.02)), max(2, frames(0.08)), 8
	movie := stimuli.FlashTrain(in.H, in.W, pre, flash, period, n, post, -2)
	for i, z := range movie.Data {
		movie.Data[i] = in.Raw(z)
	}
	omit := pre + n*period
	return &probe.AttributionStimulus{Name: "omitted_stimulus",
		Description: fmt.Sprintf("Omitted-stimulus response: %d full-field flashes of −2 (%d frames each, one every %d frames), then grey; the frames explained are the %d after the omitted flash was due.",
			n, flash, period, frames(0.3)),
		Stimulus: movie, From: omit, To: omit + frames(0.3)}
}

func printProbeSummary(w io.Writer, res *probe.ProbeResult) {
	fmt.Fprintf(w, "%-12s %-10s %5s %26s %26s\n", "group", "cell type", "cells", "learned: held out (null)", "untrained: held out (null)")
	groups := make([]string, 0, len(res.SummaryByGroup))
	for g := range res.SummaryByGroup {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	f := func(m map[string]float64, t string) string {
		if v, ok := m[t]; ok && !math.IsNaN(v) {
			return strconv.FormatFloat(v, 'f', 3, 64)
		}
		return "n/a"
	}
	repeated := false
	for _, g := range groups {
		s := res.SummaryByGroup[g]
		types := make([]string, 0, len(s.Learned))
		for t := range s.Learned {
			types = append(types, t)
		}
		slices.Sort(types)
		name := g
		if g == res.SummaryGroup {
			name += "*"
		}
		if s.RepeatedStimulus {
			name += "†"
			repeated = true
		}
		for _, t := range types {
			fmt.Fprintf(w, "%-12s %-10s %5d %26s %26s   in sample %s / %s\n", name, t, s.Cells[t],
				f(s.Learned, t)+" ("+f(s.LearnedNull, t)+")", f(s.Untrained, t)+" ("+f(s.UntrainedNull, t)+")",
				f(s.LearnedInSample, t), f(s.UntrainedInSample, t))
		}
		subs := make([]string, 0, len(s.BySubtype))
		for t := range s.BySubtype {
			subs = append(subs, t)
		}
		slices.Sort(subs)
		for _, t := range subs {
			st := s.BySubtype[t]
			one := func(x float64) string { return f(map[string]float64{"": x}, "") }
			fmt.Fprintf(w, "%-12s   %-30s %3d %s (%s) / %s (%s)\n", "", t, st.Cells, one(st.Learned), one(st.LearnedNull), one(st.Untrained), one(st.UntrainedNull))
		}
	}
	fmt.Fprintln(w, "(mean held-out r per cell type: unit chosen on the first half of each series, scored on the second; null: the same with the potential shifted circularly; * the headline group of probe.json's summary)")
	if repeated {
		fmt.Fprintln(w, "(† the second half repeats the first half's stimulus: its held-out r tests no generalisation and is not judged)")
	}
	if n := len(res.MergedDuplicates); n > 0 {
		fmt.Fprintf(w, "(%d recorded cells were exact copies of another cell of their file and were counted once)\n", n)
	}
	if v := res.Validation; v != nil {
		fmt.Fprintf(w, "target: mean held-out r ≥ %.2g and ≥ %.2g above the untrained control on %q\n", v.Target, v.Margin, v.Group)
		for _, tv := range v.Types {
			if tv.Met {
				fmt.Fprintf(w, "  %s: met (%.3f)\n", tv.CellType, tv.Learned)
				continue
			}
			fmt.Fprintf(w, "  %s: not met (%.3f); why (probe.json validation, report.html):\n", tv.CellType, tv.Learned)
			for _, f := range tv.Findings {
				fmt.Fprintf(w, "    - %s\n", f)
			}
		}
	}
}
