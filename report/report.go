package report

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/viz"
)

// Where report looks for the results of the other commands when no flag names them: run
// `deepretina phenomena --run RUN --out RUN/phenomena` (and `deepretina probe … --out
// RUN/probe`) and the report of RUN picks them up.
const (
	DefaultPhenomenaDir = "phenomena"
	PhenomenaFile       = "results.json"
	DefaultProbeDir     = "probe"
	ProbeFile           = "probe.json"
)

// Options of Run.
type Options struct {
	Baseline     analysis.LNPredictor // the LN baseline scored and drawn beside the model (nil: none)
	BaselineName string               // its name in the tables
	Seconds      float64              // seconds of the test set in the predicted vs recorded rates (0: all)
	Phenomena    string               // results.json of deepretina phenomena ("": none)
	Probe        string               // probe.json of deepretina probe ("": none)
}

// Run assembles the page of the run in folder run: the run, its training, its scores on the
// test set of rec (the recording it was trained on) beside opts.Baseline, its predictions, its
// first-layer filters, then the phenomena and probe results when opts names them.
func Run(run string, model *retina.Model, rec *datasets.Recording, opts Options) (*figures.Report, error) {
	meta := model.Meta
	name := filepath.Base(filepath.Clean(run))
	rep := figures.NewReport("deepretina run " + name)
	rep.Subtitle = fmt.Sprintf("%s (%s) on %s; checkpoint %s.", run, meta.Config.ModelType, meta.Data, filepath.Base(model.Dir))
	rep.AddTable("The run", runTable(run, model))

	curves, err := viz.TrainingCurves("Training curves", viz.Curves{Epochs: meta.History})
	if err != nil {
		return nil, err
	}
	rep.AddFigure("Training", "Mean Poisson loss of each epoch, the mean Pearson r of the validation windows (which the learning-rate schedule and early stopping follow) and of the test set, and the learning rate.", curves)

	ev, err := analysis.Evaluate(model, opts.Baseline, opts.BaselineName, rec)
	if err != nil {
		return nil, err
	}
	rep.AddTable("Test-set scores", viz.ScoresTable(ev))
	for _, build := range []func(*analysis.Evaluation) (*figures.Figure, error){viz.Scores, viz.ScoresScatter} {
		fig, err := build(ev)
		if err != nil {
			return nil, err
		}
		rep.AddFigure("", "", fig)
	}
	if err := addRates(rep, model, opts.Baseline, rec, opts.Seconds); err != nil {
		return nil, err
	}
	filters, err := viz.Filters(model)
	if err != nil {
		return nil, err
	}
	what := "Each first-layer channel's kernel"
	if meta.Model.Type == nn.ModelLN {
		what = "Each cell's linear filter"
	}
	figs, err := viz.FilterFigures("First-layer filters", filters)
	if err != nil {
		return nil, err
	}
	for i, fig := range figs {
		heading, caption := "", ""
		if i == 0 {
			heading = "First-layer filters"
			caption = what + " on the z-scored stimulus, shown as its spatial map at its strongest frame (red positive, blue negative) and its time course at that map's strongest pixel."
		}
		rep.AddFigure(heading, caption, fig)
	}

	if opts.Phenomena != "" {
		if err := addPhenomena(rep, opts.Phenomena); err != nil {
			return nil, err
		}
	} else {
		rep.AddText("Retinal phenomena", fmt.Sprintf("No phenomena results: `deepretina phenomena --run %s --out %s` writes them where this report finds them (or pass --phenomena).", run, filepath.Join(run, DefaultPhenomenaDir)))
	}
	if opts.Probe != "" {
		if err := addProbe(rep, opts.Probe); err != nil {
			return nil, err
		}
	} else {
		rep.AddText("Interneuron probe", fmt.Sprintf("No probe results: %s (written by `deepretina probe … --out %s`) is where this report looks for them (or pass --probe).", filepath.Join(run, DefaultProbeDir, ProbeFile), filepath.Join(run, DefaultProbeDir)))
	}
	return rep, nil
}

func runTable(run string, model *retina.Model) figures.Table {
	m := model.Meta
	mc := m.Model
	arch := fmt.Sprintf("%s, %d cells, input %d×%d×%d (history × H × W)", m.Config.ModelType, mc.NCells, mc.ImgShape[0], mc.ImgShape[1], mc.ImgShape[2])
	if mc.Type != nn.ModelLN {
		arch += fmt.Sprintf(", channels %v, kernels %v", mc.Chans, mc.KSizes)
	}
	stopped := m.Stopped
	if stopped == "" {
		stopped = "not finished"
	}
	rows := [][]string{
		{"run folder", run},
		{"checkpoint", model.Dir},
		{"model", arch},
		{"parameters", strconv.Itoa(mc.ParamCount())},
		{"data", m.Data},
		{"cells", fmt.Sprint(m.CellIDs)},
		{"epochs", fmt.Sprintf("%d (%s)", m.Epoch, stopped)},
		{"best epoch", fmt.Sprintf("%d: validation r %.3f, test r %.3f", m.BestEpoch, m.BestValCorr, m.TestCorrAtBest)},
		{"trained on", m.Backend},
	}
	if m.Imported != nil {
		rows = append(rows, []string{"imported from", m.Imported.From + " (sha256 " + m.Imported.SHA256 + ")"})
	}
	return figures.Table{Columns: []string{"", ""}, Rows: rows}
}

// addRates draws the recorded test rates with the model's and the baseline's predictions, six
// cells to a figure.
func addRates(rep *figures.Report, model *retina.Model, baseline analysis.LNPredictor, r *datasets.Recording, seconds float64) error {
	pred, err := model.Predict(r.Test.Stimulus)
	if err != nil {
		return err
	}
	self := "CNN"
	if model.Meta.Model.Type == nn.ModelLN {
		self = "LN"
	}
	preds := []viz.Prediction{{Name: self, Rates: pred}}
	if baseline != nil {
		w, err := model.Windows(r.Test.Stimulus, r.Test.Rates)
		if err != nil {
			return err
		}
		lnPred, err := baseline.Predict(w)
		if err != nil {
			return fmt.Errorf("LN baseline: %w", err)
		}
		name := "LN"
		if self == "LN" {
			name = "baseline"
		}
		preds = append(preds, viz.Prediction{Name: name, Rates: lnPred})
	}
	n := r.NCells()
	for start := 0; start < n; start += figures.MaxPanels {
		var cols []int
		for c := start; c < min(n, start+figures.MaxPanels); c++ {
			cols = append(cols, c)
		}
		fig, err := viz.PredictedRates(r, model.Meta.InputShape[0], cols, seconds, preds...)
		if err != nil {
			return err
		}
		heading, caption := "", ""
		if start == 0 {
			heading = "Predicted vs recorded rates"
			span := "the whole test set"
			if seconds > 0 {
				span = fmt.Sprintf("the first %g s of the test set", seconds)
			}
			caption = fmt.Sprintf("The recorded firing rate (averaged over the test repeats) with the predictions, over %s.", span)
		}
		rep.AddFigure(heading, caption, fig)
	}
	return nil
}
