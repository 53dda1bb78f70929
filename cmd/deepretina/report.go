package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/viz"
)

// Where report looks for the results of the other commands when no flag names them: run
// `deepretina phenomena --run RUN --out RUN/phenomena` (and `deepretina probe … --out
// RUN/probe`) and the report of RUN picks them up.
const (
	defaultPhenomenaDir = "phenomena"
	phenomenaFile       = "results.json"
	defaultProbeDir     = "probe"
	probeFile           = "probe.json"
)

func reportCmd() *cobra.Command {
	var run, out, phenPath, probePath, lnRun string
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
			if err := checkRunFolder("--run", run); err != nil {
				return err
			}
			if lnRun != "" {
				if err := checkRunFolder("--ln", lnRun); err != nil {
					return err
				}
			}
			if err := checkOutputFile("--out", out, kindReportHTML, nil); err != nil {
				return err
			}
			if seconds < 0 || math.IsNaN(seconds) || math.IsInf(seconds, 0) {
				return fmt.Errorf("--seconds %g: expected a number of seconds ≥ 0 (0: the whole test set)", seconds)
			}
			phen, err := findResult("--phenomena", phenPath, filepath.Join(run, defaultPhenomenaDir), phenomenaFile)
			if err != nil {
				return err
			}
			probe, err := findResult("--probe", probePath, filepath.Join(run, defaultProbeDir), probeFile)
			if err != nil {
				return err
			}
			phenSrc, err := checkResultFile("--phenomena", phen, kindPhenomena, run, os.Stderr)
			if err != nil {
				return err
			}
			probeSrc, err := checkResultFile("--probe", probe, kindProbe, run, os.Stderr)
			if err != nil {
				return err
			}
			var rep *figures.Report
			err = untilInterrupted(cmd.Context(), "report", func() (err error) {
				rep, err = buildRunReport(run, reportInputs{lnRun: lnRun, seconds: seconds, allowChanged: allowChanged,
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
	lnRun        string
	seconds      float64
	allowChanged bool
	phenomena    string // results.json of deepretina phenomena; "" for none
	probe        string // probe.json of deepretina probe; "" for none
	log          io.Writer
	sources      []*resultSource // phenomena's and probe's results, checked against the checkpoint loaded
}

// buildRunReport assembles the page: the run, its training, its scores on the test set, its
// predictions, its first-layer filters, then the phenomena and probe results when there are any.
func buildRunReport(run string, in reportInputs) (*figures.Report, error) {
	model, err := retina.LoadModel(run, retina.LoadOptions{Log: in.log})
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
	name := filepath.Base(filepath.Clean(run))
	rep := figures.NewReport("deepretina run " + name)
	rep.Subtitle = fmt.Sprintf("%s (%s) on %s; checkpoint %s.", run, meta.Config.ModelType, meta.Data, filepath.Base(model.Dir))
	rep.AddTable("The run", runTable(run, model))

	curves, err := viz.TrainingCurves("Training curves", viz.Curves{Epochs: meta.History})
	if err != nil {
		return nil, err
	}
	rep.AddFigure("Training", "Mean Poisson loss of each epoch, the mean Pearson r of the validation windows (which the learning-rate schedule and early stopping follow) and of the test set, and the learning rate.", curves)

	baseline, baseName, err := runBaseline(model, run, in.lnRun, rec)
	if err != nil {
		return nil, err
	}
	ev, err := analysis.Evaluate(model, baseline, baseName, rec)
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
	if err := addRates(rep, model, baseline, rec, in.seconds); err != nil {
		return nil, err
	}
	filters, err := viz.Filters(model)
	if err != nil {
		return nil, err
	}
	what := "Each first-layer channel's kernel"
	if meta.Model.Type == retina.ModelLN {
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

	if in.phenomena != "" {
		if err := addPhenomena(rep, in.phenomena); err != nil {
			return nil, err
		}
	} else {
		rep.AddText("Retinal phenomena", fmt.Sprintf("No phenomena results: `deepretina phenomena --run %s --out %s` writes them where this report finds them (or pass --phenomena).", run, filepath.Join(run, defaultPhenomenaDir)))
	}
	if in.probe != "" {
		if err := addProbe(rep, in.probe); err != nil {
			return nil, err
		}
	} else {
		rep.AddText("Interneuron probe", fmt.Sprintf("No probe results: %s (written by `deepretina probe … --out %s`) is where this report looks for them (or pass --probe).", filepath.Join(run, defaultProbeDir, probeFile), filepath.Join(run, defaultProbeDir)))
	}
	return rep, nil
}

func runTable(run string, model *retina.Model) figures.Table {
	m := model.Meta
	mc := m.Model
	arch := fmt.Sprintf("%s, %d cells, input %d×%d×%d (history × H × W)", m.Config.ModelType, mc.NCells, mc.ImgShape[0], mc.ImgShape[1], mc.ImgShape[2])
	if mc.Type != retina.ModelLN {
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
	if model.Meta.Model.Type == retina.ModelLN {
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

// phenomenonRecord is one entry of deepretina phenomena's results.json.
type phenomenonRecord struct {
	Description     string              `json:"description"`
	Criterion       string              `json:"criterion"`
	Truth           map[string]*float64 `json:"truth"`
	Model           map[string]*float64 `json:"model"`
	Reproduced      *bool               `json:"reproduced"`
	TruthReproduced *bool               `json:"truth_reproduced"`
}

// phenomenaMetaKeys are the keys of phenomena's results.json that are not experiments.
var phenomenaMetaKeys = map[string]bool{"kind": true, "run": true, "checkpoint": true, "format": true, "truth": true}

// readPhenomenaResults reads results.json, keeping the experiments in the file's order.
func readPhenomenaResults(path string) ([]string, map[string]phenomenonRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("phenomena results: %w", err)
	}
	// The experiments are keyed by name, beside "kind", "run" and "checkpoint" (or, in a
	// later layout, under "experiments").
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, nil, fmt.Errorf("phenomena results %s: %w (expected the results.json of deepretina phenomena: an object keyed by experiment name)", path, err)
	}
	if exps, ok := top["experiments"]; ok {
		data = exps
		top = nil
		if err := json.Unmarshal(data, &top); err != nil {
			return nil, nil, fmt.Errorf("phenomena results %s: experiments: %w (expected an object keyed by experiment name)", path, err)
		}
	}
	res := map[string]phenomenonRecord{}
	for k, v := range top {
		// Entries that are not objects (the counts) are not experiments either.
		if t := bytes.TrimSpace(v); phenomenaMetaKeys[k] || len(t) == 0 || t[0] != '{' {
			continue
		}
		var r phenomenonRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, nil, fmt.Errorf("phenomena results %s: experiment %q: %w", path, k, err)
		}
		res[k] = r
	}
	if len(res) == 0 {
		return nil, nil, fmt.Errorf("phenomena results %s: no experiments", path)
	}
	keys, err := objectKeys(data)
	if err != nil {
		return nil, nil, fmt.Errorf("phenomena results %s: %w", path, err)
	}
	var order []string
	for _, k := range keys {
		if _, ok := res[k]; ok {
			order = append(order, k)
		}
	}
	for _, k := range order {
		r := res[k]
		if r.Reproduced == nil || r.Model == nil {
			return nil, nil, fmt.Errorf("phenomena results %s: experiment %q lacks %q or %q", path, k, "reproduced", "model")
		}
	}
	return order, res, nil
}

// objectKeys lists the keys of a JSON object in the order they are written.
func objectKeys(data []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("expected a JSON object")
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func fmtMetrics(m map[string]*float64) string {
	if m == nil {
		return "—"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := "n/a"
		if m[k] != nil {
			v = strconv.FormatFloat(*m[k], 'g', 3, 64)
		}
		parts[i] = k + " " + v
	}
	return strings.Join(parts, ", ")
}

// addPhenomena adds the battery's table and a chart of every metric, model against truth.
func addPhenomena(rep *figures.Report, path string) error {
	order, res, err := readPhenomenaResults(path)
	if err != nil {
		return err
	}
	yes := func(b *bool) string {
		switch {
		case b == nil:
			return "—"
		case *b:
			return "yes"
		}
		return "no"
	}
	t := figures.Table{Columns: []string{"experiment", "reproduced", "criterion", "model", "truth", "truth meets it"}}
	var cats []string
	var model, truth []float64
	hasTruth := false
	for _, name := range order {
		r := res[name]
		t.Rows = append(t.Rows, []string{name, yes(r.Reproduced), r.Criterion, fmtMetrics(r.Model), fmtMetrics(r.Truth), yes(r.TruthReproduced)})
		if r.Truth == nil {
			continue
		}
		hasTruth = true
		keys := make([]string, 0, len(r.Model))
		for k := range r.Model {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			mv, tv := r.Model[k], r.Truth[k]
			if mv == nil || tv == nil {
				continue
			}
			scale := math.Max(math.Abs(*mv), math.Abs(*tv))
			if scale == 0 {
				scale = 1
			}
			cats = append(cats, name+": "+k)
			model, truth = append(model, *mv/scale), append(truth, *tv/scale)
		}
	}
	rep.AddTable("Retinal phenomena", t)
	rep.AddText("", "From "+path+" (deepretina phenomena; its report.html beside it has one chart per experiment).")
	if !hasTruth {
		rep.AddText("", "The battery ran without a ground truth (a run on recorded data), so there is no model-against-truth chart.")
		return nil
	}
	fig, err := figures.Bars("Phenomena metrics: model vs truth (each metric divided by the larger magnitude of the two)", "", "scaled value",
		figures.BarSeries{Name: "model", Categories: cats, Values: model},
		figures.BarSeries{Name: "truth", Categories: cats, Values: truth, Color: "#7f7f7f"})
	if err != nil {
		return err
	}
	rep.AddFigure("", "Bars of the same height and sign: the model measures like the simulated retina.", fig)
	return nil
}

// addProbe is the hook for the results of `deepretina probe` (being written elsewhere; it
// writes probe.json). What its specification fixes is drawn: "summary" = {"learned":
// {"bipolar": mean best r, "amacrine": …}, "untrained": {…}} becomes a table and a chart of
// learned against untrained per cell type. Everything else in the file is listed as key paths
// and values, so nothing it holds is hidden; once the probe command lands, its own figure
// builders replace that listing here.
func addProbe(rep *figures.Report, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("probe results: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("probe results %s: %w (expected the probe.json of deepretina probe: a JSON object)", path, err)
	}
	rep.AddText("Interneuron probe", "From "+path+" (deepretina probe).")
	if s, ok := doc["summary"]; ok {
		if err := addProbeSummary(rep, path, s); err != nil {
			return err
		}
	}
	var rows [][]string
	flattenJSON("", doc, &rows)
	const maxRows = 300
	note := ""
	if len(rows) > maxRows {
		note = fmt.Sprintf(" (the first %d of %d values)", maxRows, len(rows))
		rows = rows[:maxRows]
	}
	rep.AddTable("Probe results, as stored"+note, figures.Table{Columns: []string{"key", "value"}, Rows: rows})
	return nil
}

func addProbeSummary(rep *figures.Report, path string, s any) error {
	sum, ok := s.(map[string]any)
	if !ok {
		return fmt.Errorf("probe results %s: \"summary\" is not an object", path)
	}
	// learned and untrained are the headline numbers (held out when "scoring" says so); the
	// nulls and in-sample numbers stand beside them when the file has them.
	groups := []string{"learned", "untrained", "learned_null", "untrained_null", "learned_in_sample", "untrained_in_sample"}
	types := map[string]bool{}
	vals := map[string]map[string]float64{}
	for _, g := range groups {
		m, ok := sum[g].(map[string]any)
		if !ok {
			if _, present := sum[g]; present {
				return fmt.Errorf("probe results %s: summary.%s is not an object of cell type → mean r", path, g)
			}
			continue
		}
		vals[g] = map[string]float64{}
		for typ, v := range m {
			f, ok := v.(float64)
			if !ok {
				if v == nil {
					f = math.NaN()
				} else {
					return fmt.Errorf("probe results %s: summary.%s.%s is %v, not a number", path, g, typ, v)
				}
			}
			vals[g][typ] = f
			if g == "learned" || g == "untrained" {
				types[typ] = true
			}
		}
	}
	if len(types) == 0 {
		return nil
	}
	scoring, _ := sum["scoring"].(string)
	what := "mean best r (in sample: the best unit's r on the data it was chosen on)"
	if scoring == "held-out" {
		what = "mean held-out r (unit chosen on one half of each recording, scored on the other)"
	}
	order := make([]string, 0, len(types))
	for typ := range types {
		order = append(order, typ)
	}
	sort.Strings(order)
	cols := []string{"cell type", "learned", "untrained", "learned − untrained"}
	for _, g := range groups[2:] {
		if vals[g] != nil {
			cols = append(cols, strings.ReplaceAll(g, "_", " "))
		}
	}
	t := figures.Table{Columns: cols}
	var bars []figures.BarSeries
	for _, g := range groups {
		if vals[g] == nil || strings.HasSuffix(g, "in_sample") {
			continue
		}
		y := make([]float64, len(order))
		for i, typ := range order {
			y[i] = valueOr(vals[g], typ)
		}
		bars = append(bars, figures.BarSeries{Name: strings.ReplaceAll(g, "_", " "), Categories: order, Values: y})
	}
	for _, typ := range order {
		l, u := valueOr(vals["learned"], typ), valueOr(vals["untrained"], typ)
		row := []string{typ, fmtFloat(l), fmtFloat(u), fmtFloat(l - u)}
		for _, g := range groups[2:] {
			if vals[g] != nil {
				row = append(row, fmtFloat(valueOr(vals[g], typ)))
			}
		}
		t.Rows = append(t.Rows, row)
	}
	rep.AddTable("", t)
	rep.AddText("", "Scores: "+what+". The null is the same procedure with each cell's potential shifted circularly in time against the stimulus: what selection alone reaches.")
	fig, err := figures.Bars("Best-unit correlation with the recorded interneurons: trained vs untrained model", "cell type", what, bars...)
	if err != nil {
		return err
	}
	rep.AddFigure("", "The untrained model has the same architecture: the difference is what training taught the hidden units.", fig)
	return nil
}

func valueOr(m map[string]float64, k string) float64 {
	if v, ok := m[k]; ok {
		return v
	}
	return math.NaN()
}

func fmtFloat(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(x, 'f', 3, 64)
}

// flattenJSON lists every scalar of a decoded JSON value as (key path, value) rows, objects'
// keys in sorted order.
func flattenJSON(prefix string, v any, rows *[][]string) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flattenJSON(p, x[k], rows)
		}
	case []any:
		for i, e := range x {
			flattenJSON(fmt.Sprintf("%s[%d]", prefix, i), e, rows)
		}
	case nil:
		*rows = append(*rows, []string{prefix, "null"})
	case float64:
		*rows = append(*rows, []string{prefix, strconv.FormatFloat(x, 'g', 4, 64)})
	default:
		*rows = append(*rows, []string{prefix, fmt.Sprint(x)})
	}
}
