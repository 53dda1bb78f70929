package phenomena

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
)

// Metrics are an experiment's named numbers. NaN (nothing to measure, e.g. no cell responded)
// and ±Inf (e.g. F2/F1 with no first harmonic) are written to JSON as null.
type Metrics map[string]float64

// MarshalJSON writes the metrics as an object with sorted keys, non-finite values as null.
func (m Metrics) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kj, _ := json.Marshal(k)
		b.Write(kj)
		b.WriteByte(':')
		if v := m[k]; math.IsNaN(v) || math.IsInf(v, 0) {
			b.WriteString("null")
		} else {
			vj, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			b.Write(vj)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Outcome is what one experiment measured on one responder: its metrics and the panels it
// plots (one column of the experiment's figure).
type Outcome struct {
	Metrics Metrics
	Panels  []figures.Panel
}

// Experiment is one phenomenon of the battery: it builds its stimulus for a responder's input
// size, runs it, measures it and says whether the phenomenon is reproduced.
type Experiment struct {
	Name        string // e.g. "step_response"
	Description string // what is shown and measured
	Criterion   string // when a model reproduces it, in words (the same test as Reproduced)

	run        func(r Responder) (*Outcome, error)
	reproduced func(model, truth Metrics) bool
}

// Run presents the experiment's stimuli to r and measures the responses.
func (e Experiment) Run(r Responder) (*Outcome, error) {
	shape := r.InputShape()
	if shape[0] < 0 || shape[1] < 1 || shape[2] < 1 {
		return nil, fmt.Errorf("%s: input shape %v: expected [history ≥ 0, H ≥ 1, W ≥ 1]", e.Name, shape)
	}
	if !(r.FrameRate() > 0) {
		return nil, fmt.Errorf("%s: frame rate %v Hz: expected a positive number", e.Name, r.FrameRate())
	}
	out, err := e.run(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	return out, nil
}

// Reproduced applies the experiment's criterion to a model's metrics; truth (nil when there is
// no ground truth) is used only by criteria stated as agreement with the truth.
func (e Experiment) Reproduced(model, truth Metrics) bool { return e.reproduced(model, truth) }

// Figure draws the experiment: one column per responder (truth first when given), one row per
// panel. Either outcome may be nil.
func (e Experiment) Figure(truth, model *Outcome) (*figures.Figure, error) {
	var cols []*Outcome
	var labels []string
	if truth != nil {
		cols, labels = append(cols, truth), append(labels, "truth")
	}
	if model != nil {
		cols, labels = append(cols, model), append(labels, "model")
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%s: nothing to draw", e.Name)
	}
	rows := len(cols[0].Panels)
	panels := make([]figures.Panel, 0, rows*len(cols))
	for r := 0; r < rows; r++ {
		for c, o := range cols {
			if len(o.Panels) != rows {
				return nil, fmt.Errorf("%s: outcomes have %d and %d panels", e.Name, rows, len(o.Panels))
			}
			p := o.Panels[r]
			p.Title = labels[c] + ": " + p.Title
			panels = append(panels, p)
		}
	}
	return figures.Grid(strings.ReplaceAll(e.Name, "_", " "), rows, len(cols), panels)
}

// Experiments returns the battery in its canonical order.
func Experiments() []Experiment {
	return []Experiment{
		StepResponseExperiment(), PairedFlashExperiment(), ReversingGratingExperiment(), ContrastAdaptationExperiment(), OmittedStimulusExperiment(),
		MotionAnticipationExperiment(), MotionReversalExperiment(), ObjectMotionExperiment(), FrequencyDoublingExperiment(),
		LatencyEncodingExperiment(), FastContrastAdaptationExperiment(), DirectionOrientationExperiment(),
	}
}

// Names lists the experiments' names in canonical order.
func Names() []string {
	var out []string
	for _, e := range Experiments() {
		out = append(out, e.Name)
	}
	return out
}

// Lookup returns the experiment of a name.
func Lookup(name string) (Experiment, error) {
	for _, e := range Experiments() {
		if e.Name == name {
			return e, nil
		}
	}
	return Experiment{}, fmt.Errorf("unknown experiment %q; the battery has %s", name, strings.Join(Names(), ", "))
}

// Select returns the named experiments in canonical order (all of them for no names).
func Select(names []string) ([]Experiment, error) {
	if len(names) == 0 {
		return Experiments(), nil
	}
	want := map[string]bool{}
	for _, n := range names {
		if _, err := Lookup(n); err != nil {
			return nil, err
		}
		want[n] = true
	}
	var out []Experiment
	for _, e := range Experiments() {
		if want[e.Name] {
			out = append(out, e)
		}
	}
	return out, nil
}

// Result is one experiment run on a model and, when there is one, on the ground truth.
type Result struct {
	Name            string          `json:"-"`
	Description     string          `json:"description"`
	Criterion       string          `json:"criterion"`
	Truth           Metrics         `json:"truth"` // null without a ground truth
	Model           Metrics         `json:"model"`
	Reproduced      bool            `json:"reproduced"`                 // the model meets the criterion
	TruthReproduced *bool           `json:"truth_reproduced,omitempty"` // the truth meets the criterion a model without a truth is held to
	Seconds         float64         `json:"seconds"`
	Figure          *figures.Figure `json:"-"`
	TruthOutcome    *Outcome        `json:"-"`
	ModelOutcome    *Outcome        `json:"-"`
}

// Compare runs e on the model and on the truth (nil: none) and draws them side by side.
func Compare(e Experiment, model, truth Responder) (*Result, error) {
	start := time.Now()
	res := &Result{Name: e.Name, Description: e.Description, Criterion: e.Criterion}
	var err error
	if truth != nil {
		if res.TruthOutcome, err = e.Run(truth); err != nil {
			return nil, fmt.Errorf("truth: %w", err)
		}
		res.Truth = res.TruthOutcome.Metrics
		ok := e.Reproduced(res.Truth, nil) // the criterion a model without a truth is held to
		res.TruthReproduced = &ok
	}
	if res.ModelOutcome, err = e.Run(model); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	res.Model = res.ModelOutcome.Metrics
	res.Reproduced = e.Reproduced(res.Model, res.Truth)
	if res.Figure, err = e.Figure(res.TruthOutcome, res.ModelOutcome); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// Battery runs the experiments in order on the model and the truth (nil: none), calling
// progress (may be nil) before each. The first failure stops it and is returned.
func Battery(exps []Experiment, model, truth Responder, progress func(i, n int, name string)) ([]*Result, error) {
	var out []*Result
	for i, e := range exps {
		if progress != nil {
			progress(i, len(exps), e.Name)
		}
		r, err := Compare(e, model, truth)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ResultsJSON encodes results as one object keyed by experiment name, in battery order.
func ResultsJSON(results []*Result) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, r := range results {
		var v bytes.Buffer
		enc := json.NewEncoder(&v)
		enc.SetEscapeHTML(false) // criteria read "ratio < 0.9", not "ratio \u003c 0.9"
		enc.SetIndent("  ", "  ")
		if err := enc.Encode(r); err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		k, _ := json.Marshal(r.Name)
		fmt.Fprintf(&b, "  %s: %s", k, bytes.TrimRight(v.Bytes(), "\n"))
		if i < len(results)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// Report builds the HTML report of a battery: the table of what was reproduced first, then one
// chart per experiment with the truth and the model side by side.
func Report(title, subtitle string, results []*Result) *figures.Report {
	rep := figures.NewReport(title)
	rep.Subtitle = subtitle
	cols := []string{"experiment", "reproduced", "criterion", "model", "truth"}
	var rows [][]string
	for _, r := range results {
		truth := "—"
		if r.Truth != nil {
			truth = formatMetrics(r.Truth)
			if r.TruthReproduced != nil && !*r.TruthReproduced {
				truth += " (criterion not met by the truth)"
			}
		}
		rows = append(rows, []string{r.Name, yesNo(r.Reproduced), r.Criterion, formatMetrics(r.Model), truth})
	}
	rep.AddTable("Reproduced phenomena", figures.Table{Columns: cols, Rows: rows})
	for _, r := range results {
		if r.Figure != nil {
			rep.AddFigure(r.Name, r.Description+"\n\nCriterion: "+r.Criterion, r.Figure)
		}
	}
	return rep
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func formatMetrics(m Metrics) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.3g", k, m[k])
	}
	return strings.Join(parts, "; ")
}

// geometry holds what the experiments need to scale their stimuli to a responder.
type geometry struct {
	hist, h, w int
	rate, px   float64
}

func geometryOf(r Responder) geometry {
	s := r.InputShape()
	return geometry{hist: s[0], h: s[1], w: s[2], rate: r.FrameRate(), px: positiveOr(r.PixelSizeUM(), datasets.DefaultPixelSizeUM)}
}

// frames converts seconds to frames (at least 1).
func (g geometry) frames(sec float64) int { return max(1, int(math.Round(sec*g.rate))) }

// ms converts frames to milliseconds.
func (g geometry) ms(frames float64) float64 { return frames * 1000 / g.rate }

// scale is the field size relative to the reference's 50×50 pixels: sizes that span the field
// (ranges of positions, the object of the object-motion stimulus) scale with it; sizes that
// probe the receptive fields (bar widths, grating periods) stay in pixels.
func (g geometry) scale() float64 { return float64(min(g.h, g.w)) / 50 }

// size scales a size of the reference's 50-pixel field to the input, never below 2 pixels
// (thinner bars fall between the subunits of the simulated retina).
func (g geometry) size(px50 float64) float64 { return math.Max(2, px50*g.scale()) }

// centreX is the column at the field centre.
func (g geometry) centreX() float64 { return float64(g.w-1) / 2 }

// times returns the times in ms of frames [0, n) relative to frame zero.
func (g geometry) times(n, zero int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = g.ms(float64(i - zero))
	}
	return out
}

// cellsOf splits a [T, N] rate matrix into per-cell float64 series.
func cellsOf(m datasets.Matrix) [][]float64 {
	out := make([][]float64, m.Cols)
	for c := range out {
		out[c] = Column(m, c)
	}
	return out
}

// active marks the cells whose rate varies during an experiment by more than 1 Hz and 5 % of
// the largest variation among the cells: the others did not respond and are left out of the
// medians.
func active(cells [][]float64) []bool {
	rng := make([]float64, len(cells))
	top := 0.0
	for c, r := range cells {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range r {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		rng[c] = hi - lo
		top = math.Max(top, rng[c])
	}
	out := make([]bool, len(cells))
	for c := range out {
		out[c] = rng[c] > 1 && rng[c] > 0.05*top
	}
	return out
}

// concatCells joins the per-cell responses of several trials.
func concatCells(trials ...[][]float64) [][]float64 {
	out := make([][]float64, len(trials[0]))
	for _, tr := range trials {
		for c := range out {
			out[c] = append(out[c], tr[c]...)
		}
	}
	return out
}

// medianActive is the median of per-cell values over active cells.
func medianActive(v []float64, act []bool) float64 {
	var sel []float64
	for c, x := range v {
		if act[c] {
			sel = append(sel, x)
		}
	}
	return median(sel)
}

func cellName(c int) string { return fmt.Sprintf("cell %d", c) }

// cellSeries is one line per active cell, grouped by cell so that truth and model (and the
// conditions of a cell, told apart by suffix and dash) share a colour and a legend entry.
func cellSeries(x []float64, cells [][]float64, act []bool, suffix, dash string) []figures.Series {
	var out []figures.Series
	for c, y := range cells {
		if act != nil && !act[c] {
			continue
		}
		out = append(out, figures.Series{Name: cellName(c) + suffix, X: x, Y: y, Group: cellName(c), Dash: dash})
	}
	return out
}

// runTrials runs each stimulus on r (after a grey history) and returns the per-cell responses
// of each.
func runTrials(r Responder, stims ...datasets.Movie) ([][][]float64, error) {
	out := make([][][]float64, len(stims))
	for i, s := range stims {
		m, err := Run(r, s)
		if err != nil {
			return nil, err
		}
		out[i] = cellsOf(m)
	}
	return out, nil
}

// all is true when every condition holds and no metric it reads is NaN (a criterion never
// passes on missing measurements: NaN compares false).
func all(conds ...bool) bool {
	for _, c := range conds {
		if !c {
			return false
		}
	}
	return true
}
