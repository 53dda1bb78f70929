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
	"github.com/deepretina/deepretina/internal/sortedmap"
	"github.com/deepretina/deepretina/phenomena/measures"
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
	Metrics Metrics // medians over the responding cells, and n_cells
	// Cells holds each cell's own metrics under the same names (nil for a cell that did not
	// respond): phenomena are judged per cell.
	Cells  []Metrics
	Panels []figures.Panel
}

// MinCells is how many cells must show a phenomenon, each on every seed and beyond its own LN
// surrogate cell, for the responder to be judged to show it: one. Phenomena belong to cell
// types, some of them a minority (object-motion-sensitive cells: Ölveczky et al. 2003; the
// reversal burst of fast-OFF cells: Schwartz et al. 2007; frequency doubling of Y-like cells:
// Hochstein & Shapley 1976), so a rule over a majority of cells would miss them; the price is
// the multiple comparison over cells, which the margins and the replication over seeds must
// hold down (measured on planted LN and linear populations: docs/phenomena.md).
const MinCells = 1

// cellMetrics packs per-cell values (cols: name → [cell]) into one Metrics per cell, with the
// constants added; a cell that is not active gets nil.
func cellMetrics(act []bool, cols map[string][]float64, consts Metrics) []Metrics {
	out := make([]Metrics, len(act))
	for c := range out {
		if !act[c] {
			continue
		}
		m := Metrics{}
		for k, v := range cols {
			m[k] = v[c]
		}
		for k, v := range consts {
			m[k] = v
		}
		out[c] = m
	}
	return out
}

// Role says what an experiment's verdict is evidence of.
type Role string

const (
	// RoleSanity marks a check that any responsive model passes (an LN model too): it shows the
	// model responds, not that it shares a mechanism with the retina. Not counted.
	RoleSanity Role = "sanity"
	// RoleControl marks a negative control: the property must be absent (the salamander retina
	// the reference models has no direction-selective circuit). Not counted.
	RoleControl Role = "control"
	// RolePhenomenon marks a phenomenon an LN model cannot show: it counts as reproduced only
	// when at least MinCells cells show it, each beyond its own LN surrogate cell, on every seed.
	RolePhenomenon Role = "phenomenon"
)

// DefaultSeeds returns the noise seeds Battery and Compare judge on, 1 and 2: the LN
// surrogate's white noise and the stimulus noise of the stochastic experiments (flicker,
// jitter, receptive-field mapping) change with the seed, and a phenomenon is reproduced only
// when it passes on all of them.
func DefaultSeeds() []uint64 { return []uint64{1, 2} }

// Experiment is one phenomenon of the battery: it builds its stimulus for a responder's input
// size, runs it, measures it and says whether the phenomenon is shown.
type Experiment struct {
	Name        string // e.g. "step_response"
	Description string // what is shown and measured
	Criterion   string // when a responder shows it, in words (the same test as Passes)
	Role        Role   // sanity, control or phenomenon
	// Stochastic is true when the stimulus depends on the seed (noise, jitter, mapping).
	Stochastic bool

	run func(r Responder, seed uint64) (*Outcome, error)
	// shows is the literature's criterion on the responder's own metrics.
	shows func(m Metrics) bool
	// beyond is the margin over the responder's LN surrogate (nil: none, for sanity checks and
	// controls).
	beyond func(m, surrogate Metrics) bool
}

// Run presents the experiment's stimuli (seed 1) to r and measures the responses.
func (e Experiment) Run(r Responder) (*Outcome, error) { return e.RunSeed(r, 1) }

// RunSeed presents the experiment's stimuli, built with the given noise seed, to r and
// measures the responses.
func (e Experiment) RunSeed(r Responder, seed uint64) (*Outcome, error) {
	shape := r.InputShape()
	if shape[0] < 0 || shape[1] < 1 || shape[2] < 1 {
		return nil, fmt.Errorf("%s: input shape %v: expected [history ≥ 0, H ≥ 1, W ≥ 1]", e.Name, shape)
	}
	if !(r.FrameRate() > 0) {
		return nil, fmt.Errorf("%s: frame rate %v Hz: expected a positive number", e.Name, r.FrameRate())
	}
	out, err := e.run(r, seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	return out, nil
}

// Passes applies the criterion to one seed's metrics of a responder and of its LN surrogate —
// one cell's (Outcome.Cells) for a phenomenon, the medians (Outcome.Metrics) for a sanity
// check or a control (surrogate may be nil for those; a phenomenon never passes without it).
func (e Experiment) Passes(m, surrogate Metrics) bool {
	return e.Shows(m) && e.Beyond(m, surrogate)
}

// Shows is the first half of Passes: the literature's criterion on the responder's own metrics
// alone. Where a phenomenon is missed, it tells whether the responder lacks the effect itself
// or only does not beat its LN reference by the margin (Beyond).
func (e Experiment) Shows(m Metrics) bool { return e.shows(m) }

// Beyond is the second half of Passes: the margin over the LN reference (the surrogate's
// metrics, or the reference held in the responder's own metrics: ln_lead_um, ln_oms_index). It
// is true for an experiment without a margin (a sanity check or a control) and false for one
// with a margin and no surrogate.
func (e Experiment) Beyond(m, surrogate Metrics) bool {
	if e.beyond == nil {
		return true
	}
	return surrogate != nil && e.beyond(m, surrogate)
}

// Figure draws the experiment: one column per outcome (nil outcomes are skipped), labelled,
// one row per panel.
func (e Experiment) Figure(labels []string, outcomes []*Outcome) (*figures.Figure, error) {
	var cols []*Outcome
	var names []string
	for i, o := range outcomes {
		if o != nil {
			cols, names = append(cols, o), append(names, labels[i])
		}
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%s: nothing to draw", e.Name)
	}
	rows := len(cols[0].Panels)
	// A figure holds at most figures.MaxPanels panels: with four columns (truth, model and their
	// surrogates) only the first panels of each outcome are drawn.
	rows = min(rows, max(1, figures.MaxPanels/len(cols)))
	panels := make([]figures.Panel, 0, rows*len(cols))
	for r := 0; r < rows; r++ {
		for c, o := range cols {
			if len(o.Panels) != len(cols[0].Panels) {
				return nil, fmt.Errorf("%s: outcomes have %d and %d panels", e.Name, len(cols[0].Panels), len(o.Panels))
			}
			p := o.Panels[r]
			p.Title = names[c] + ": " + p.Title
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

// Subject is a responder under judgement with its LN surrogates, one per seed, fitted on first
// use and shared by the experiments, and the receptive-field maps of each (memo).
type Subject struct {
	R          Responder
	own        *memo
	surrogates map[uint64]*memo
}

// NewSubject wraps a responder; nil gives nil.
func NewSubject(r Responder) *Subject {
	if r == nil {
		return nil
	}
	return &Subject{R: r, surrogates: map[uint64]*memo{}}
}

// responder is R with its shared work (receptive-field maps) remembered.
func (s *Subject) responder() *memo {
	if s.own == nil || s.own.Responder != s.R {
		s.own = newMemo(s.R)
	}
	return s.own
}

// Surrogate returns the responder's LN surrogate fitted on the white noise of a seed.
func (s *Subject) Surrogate(seed uint64) (*LNSurrogate, error) {
	m, err := s.surrogate(seed)
	if err != nil {
		return nil, err
	}
	return m.Responder.(*LNSurrogate), nil
}

func (s *Subject) surrogate(seed uint64) (*memo, error) {
	if l, ok := s.surrogates[seed]; ok {
		return l, nil
	}
	l, err := FitLNSurrogate(s.responder(), seed)
	if err != nil {
		return nil, err
	}
	s.surrogates[seed] = newMemo(l)
	return s.surrogates[seed], nil
}

// Verdict is one experiment judged on one responder over seeds.
type Verdict struct {
	Metrics   Metrics // the responder's medians, first seed
	Surrogate Metrics // its LN surrogate's, first seed (nil for sanity checks and controls)
	// Passes is, per seed, whether the criterion is met: for a phenomenon, by at least MinCells
	// cells (each against its own surrogate cell); for a sanity check or a control, by the
	// medians.
	Passes []bool
	// Cells are the cells that meet the criterion on every seed (for a phenomenon, beyond their
	// surrogate cells), in order; NCells the cells judged (responding on the first seed).
	Cells            []int
	NCells           int
	Reproduced       bool // a phenomenon: len(Cells) ≥ MinCells; otherwise Passes on every seed
	Outcome          *Outcome
	SurrogateOutcome *Outcome
}

// cellPasses applies the criterion to each cell of an outcome against the same cell of the
// surrogate's outcome (a cell the surrogate does not respond with is compared with NaN
// metrics, which no margin passes, except where a criterion reads "no response" as 0).
func (e Experiment) cellPasses(o, so *Outcome) []bool {
	out := make([]bool, len(o.Cells))
	for c, m := range o.Cells {
		if m == nil {
			continue
		}
		var sm Metrics
		if so != nil && c < len(so.Cells) {
			sm = so.Cells[c]
		}
		if sm == nil && e.beyond != nil {
			sm = Metrics{}
			for k := range m {
				sm[k] = math.NaN()
			}
		}
		out[c] = e.Passes(m, sm)
	}
	return out
}

// Judge runs e on the subject and its surrogates for each seed and applies the criterion per
// cell. A deterministic experiment runs the responder once; the surrogate still changes with
// the seed.
func Judge(e Experiment, s *Subject, seeds []uint64) (*Verdict, error) {
	if len(seeds) == 0 {
		return nil, fmt.Errorf("%s: no seeds to judge on", e.Name)
	}
	v := &Verdict{Reproduced: true}
	var own *Outcome
	var every []bool // cells meeting the criterion on every seed so far
	r := s.responder()
	for i, seed := range seeds {
		o := own
		if o == nil || e.Stochastic {
			var err error
			if o, err = e.RunSeed(r, seed); err != nil {
				return nil, err
			}
			own = o
		}
		var so *Outcome
		if e.Role == RolePhenomenon || i == 0 {
			l, err := s.surrogate(seed)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", e.Name, err)
			}
			if so, err = e.RunSeed(l, seed); err != nil {
				return nil, fmt.Errorf("LN surrogate: %w", err)
			}
		}
		var sm Metrics
		if so != nil {
			sm = so.Metrics
		}
		var cells []bool
		if e.beyond != nil {
			cells = e.cellPasses(o, so)
		} else {
			cells = e.cellPasses(o, nil)
		}
		if every == nil {
			every = cells
		} else {
			for c := range every {
				every[c] = every[c] && c < len(cells) && cells[c]
			}
		}
		var ok bool
		if e.Role == RolePhenomenon {
			ok = countTrue(cells) >= MinCells
		} else {
			ok = e.Passes(o.Metrics, sm)
		}
		v.Passes = append(v.Passes, ok)
		if e.Role != RolePhenomenon {
			v.Reproduced = v.Reproduced && ok
		}
		if i == 0 {
			v.Metrics, v.Outcome, v.Surrogate, v.SurrogateOutcome = o.Metrics, o, sm, so
			for _, m := range o.Cells {
				if m != nil {
					v.NCells++
				}
			}
		}
	}
	for c, ok := range every {
		if ok {
			v.Cells = append(v.Cells, c)
		}
	}
	if e.Role == RolePhenomenon {
		v.Reproduced = len(v.Cells) >= MinCells
	}
	return v, nil
}

// Result is one experiment judged on a model and, when there is one, on the ground truth, each
// beside its own LN surrogate.
type Result struct {
	Name            string   `json:"-"`
	Role            Role     `json:"role"`
	Description     string   `json:"description"`
	Criterion       string   `json:"criterion"`
	Seeds           []uint64 `json:"seeds"`
	Truth           Metrics  `json:"truth"`           // null without a ground truth
	TruthSurrogate  Metrics  `json:"truth_surrogate"` // the truth's LN surrogate (seed 1)
	Model           Metrics  `json:"model"`
	ModelSurrogate  Metrics  `json:"model_surrogate"`            // the model's LN surrogate (seed 1)
	Reproduced      bool     `json:"reproduced"`                 // ≥ MinCells model cells show it on every seed (sanity, control: the medians pass on every seed)
	TruthReproduced *bool    `json:"truth_reproduced,omitempty"` // the truth does
	ModelPasses     []bool   `json:"model_passes"`               // per seed
	TruthPasses     []bool   `json:"truth_passes,omitempty"`     // per seed
	// ModelCells and TruthCells are the cells (output indices) that meet the criterion on every
	// seed (for a phenomenon, beyond their own surrogate cells); ModelNCells and TruthNCells
	// the cells judged.
	ModelCells   []int           `json:"model_cells"`
	ModelNCells  int             `json:"model_n_cells"`
	TruthCells   []int           `json:"truth_cells"`
	TruthNCells  *int            `json:"truth_n_cells"`
	Seconds      float64         `json:"seconds"`
	Figure       *figures.Figure `json:"-"`
	TruthOutcome *Outcome        `json:"-"`
	ModelOutcome *Outcome        `json:"-"`
}

// Counted is true when the result counts as a reproduced phenomenon (sanity checks and
// controls never do).
func (r *Result) Counted() bool { return r.Role == RolePhenomenon && r.Reproduced }

// CountReproduced counts the phenomena a model reproduces and those the truth shows (sanity
// checks and controls excluded).
func CountReproduced(results []*Result) (model, truth int) {
	for _, r := range results {
		if r.Role != RolePhenomenon {
			continue
		}
		if r.Reproduced {
			model++
		}
		if r.TruthReproduced != nil && *r.TruthReproduced {
			truth++
		}
	}
	return model, truth
}

// Compare judges e on the model and on the truth (nil: none) over DefaultSeeds and draws truth,
// truth surrogate, model and model surrogate side by side.
func Compare(e Experiment, model, truth Responder) (*Result, error) {
	return CompareSubjects(e, NewSubject(model), NewSubject(truth), DefaultSeeds())
}

// CompareSubjects is Compare on subjects (whose surrogates are reused) and given seeds.
func CompareSubjects(e Experiment, model, truth *Subject, seeds []uint64) (*Result, error) {
	start := time.Now()
	res := &Result{Name: e.Name, Role: e.Role, Description: e.Description, Criterion: e.Criterion, Seeds: seeds}
	// The truth is judged beside the model (a simulated retina computes on the CPU while a
	// model may wait on its engine); a failing model is reported first.
	var tv *Verdict
	var terr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if truth != nil {
			tv, terr = Judge(e, truth, seeds)
		}
	}()
	mv, err := Judge(e, model, seeds)
	<-done
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	res.Model, res.ModelSurrogate, res.ModelOutcome, res.ModelPasses, res.Reproduced = mv.Metrics, mv.Surrogate, mv.Outcome, mv.Passes, mv.Reproduced
	res.ModelCells, res.ModelNCells = nonNil(mv.Cells), mv.NCells
	if truth != nil {
		if terr != nil {
			return nil, fmt.Errorf("truth: %w", terr)
		}
		res.Truth, res.TruthSurrogate, res.TruthOutcome, res.TruthPasses = tv.Metrics, tv.Surrogate, tv.Outcome, tv.Passes
		n := tv.NCells
		res.TruthCells, res.TruthNCells = nonNil(tv.Cells), &n
		ok := tv.Reproduced
		res.TruthReproduced = &ok
	}
	labels := []string{"truth", "truth's LN", "model", "model's LN"}
	outs := []*Outcome{nil, nil, mv.Outcome, mv.SurrogateOutcome}
	if tv != nil {
		outs[0], outs[1] = tv.Outcome, tv.SurrogateOutcome
	}
	if res.Figure, err = e.Figure(labels, outs); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// nonNil gives an empty list for none, so that JSON reads [] rather than null.
func nonNil(c []int) []int {
	if c == nil {
		return []int{}
	}
	return c
}

// Battery runs the experiments in order on the model and the truth (nil: none) over
// DefaultSeeds, calling progress (may be nil) before each. Each responder's LN surrogates are
// fitted once and shared. The first failure stops it and is returned.
func Battery(exps []Experiment, model, truth Responder, progress func(i, n int, name string)) ([]*Result, error) {
	ms, ts := NewSubject(model), NewSubject(truth)
	var out []*Result
	for i, e := range exps {
		if progress != nil {
			progress(i, len(exps), e.Name)
		}
		r, err := CompareSubjects(e, ms, ts, DefaultSeeds())
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ResultsHeader identifies a results file: its kind and, when known, the run and checkpoint it
// judged.
type ResultsHeader struct {
	Run        string
	Checkpoint string
}

// ResultsKind is the "kind" of a phenomena results file.
const ResultsKind = "deepretina.phenomena"

// ResultsJSON encodes results as one object: "kind" (ResultsKind), "run" and "checkpoint" when
// the header gives them, "reproduced" and "truth_reproduced" (the counts of phenomena, sanity
// checks and controls excluded), "seeds", then one entry per experiment keyed by its name, in
// battery order.
func ResultsJSON(results []*Result, hdr ResultsHeader) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{\n")
	kind, _ := json.Marshal(ResultsKind)
	fmt.Fprintf(&b, "  \"kind\": %s,\n", kind)
	if hdr.Run != "" {
		v, _ := json.Marshal(hdr.Run)
		fmt.Fprintf(&b, "  \"run\": %s,\n", v)
	}
	if hdr.Checkpoint != "" {
		v, _ := json.Marshal(hdr.Checkpoint)
		fmt.Fprintf(&b, "  \"checkpoint\": %s,\n", v)
	}
	nm, nt := CountReproduced(results)
	fmt.Fprintf(&b, "  \"min_cells\": %d,\n", MinCells)
	fmt.Fprintf(&b, "  \"reproduced\": %d,\n", nm)
	hasTruth := false
	for _, r := range results {
		hasTruth = hasTruth || r.TruthReproduced != nil
	}
	if hasTruth {
		fmt.Fprintf(&b, "  \"truth_reproduced\": %d,\n", nt)
	}
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
// chart per experiment with the truth, its LN surrogate, the model and its LN surrogate.
func Report(title, subtitle string, results []*Result) *figures.Report {
	rep := figures.NewReport(title)
	nm, nt := CountReproduced(results)
	rep.Subtitle = subtitle + fmt.Sprintf(" Phenomena shown by at least %d cell(s), each beyond its own LN surrogate cell on every seed: model %d, truth %d (sanity checks and controls, judged on the medians, not counted).", MinCells, nm, nt)
	cols := []string{"experiment", "role", "model reproduces", "model cells", "truth shows", "truth cells", "criterion", "model (medians)", "model's LN", "truth (medians)", "truth's LN"}
	var rows [][]string
	for _, r := range results {
		truth, truthOK, truthCells := "—", "—", "—"
		if r.Truth != nil {
			truth = formatMetrics(r.Truth)
		}
		if r.TruthReproduced != nil {
			truthOK = yesNo(*r.TruthReproduced)
		}
		if r.TruthNCells != nil {
			truthCells = formatCells(r.TruthCells, *r.TruthNCells)
		}
		rows = append(rows, []string{r.Name, string(r.Role), yesNo(r.Reproduced), formatCells(r.ModelCells, r.ModelNCells), truthOK, truthCells, r.Criterion,
			formatMetrics(r.Model), formatMetrics(r.ModelSurrogate), truth, formatMetrics(r.TruthSurrogate)})
	}
	rep.AddTable("Reproduced phenomena", figures.Table{Columns: cols, Rows: rows})
	for _, r := range results {
		if r.Figure != nil {
			rep.AddFigure(r.Name, r.Description+"\n\nCriterion: "+r.Criterion, r.Figure)
		}
	}
	return rep
}

// formatCells lists the cells that meet a criterion, of those judged: "3, 5 of 8".
func formatCells(cells []int, n int) string {
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = fmt.Sprint(c)
	}
	if len(parts) == 0 {
		return fmt.Sprintf("none of %d", n)
	}
	return fmt.Sprintf("%s of %d", strings.Join(parts, ", "), n)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func formatMetrics(m Metrics) string {
	if m == nil {
		return "—"
	}
	return sortedmap.Join(m, "; ", func(k string, v float64) string { return fmt.Sprintf("%s %.3g", k, v) })
}

// geometry holds what the experiments need to scale their stimuli to a responder.
type geometry struct {
	hist, h, w int
	rate, px   float64
	lags       int // the responder's own filter span (filterSpanner), 0: none stated
}

// filterSpanner is a responder whose linear filter has a span of its own, which need not be its
// input window: the simulated truth (its circuit's, SimResponder.FilterFrames) and an LN
// surrogate (its filter's lags). 0 states none.
type filterSpanner interface {
	filterFrames() int
}

func geometryOf(r Responder) geometry {
	s := r.InputShape()
	g := geometry{hist: s[0], h: s[1], w: s[2], rate: r.FrameRate(), px: positiveOr(r.PixelSizeUM(), datasets.DefaultPixelSizeUM)}
	if f, ok := r.(filterSpanner); ok {
		g.lags = max(0, f.filterFrames())
	}
	return g
}

// frames converts seconds to frames (at least 1).
func (g geometry) frames(sec float64) int { return max(1, int(math.Round(sec*g.rate))) }

// ms converts frames to milliseconds.
func (g geometry) ms(frames float64) float64 { return frames * 1000 / g.rate }

// scale is the field size relative to the reference's 50×50 pixels: sizes that span the field
// (ranges of positions, the object of the object-motion stimulus) scale with it; sizes that
// probe the receptive fields (bar widths, grating periods) stay in pixels.
func (g geometry) scale() float64 { return float64(min(g.h, g.w)) / 50 }

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
		out[c] = measures.Column(m, c)
	}
	return out
}

// active marks the cells whose rate varies during an experiment by more than 5 % of the largest
// variation among the cells (and by more than 10⁻⁶ Hz, round-off): the others did not respond
// and are left out of the medians. The gate is relative, so a model that fires little (an
// untrained one) is still measured; nCells counts the cells behind the medians.
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
		out[c] = rng[c] > 1e-6 && rng[c] > 0.05*top
	}
	return out
}

// nCells counts the cells behind the medians (those active and with a finite value).
func nCells(v []float64, act []bool) float64 {
	n := 0
	for c, x := range v {
		if act[c] && !math.IsNaN(x) {
			n++
		}
	}
	return float64(n)
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
	return measures.Median(sel)
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
