package phenomena

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/phenomena/stimuli"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// The simulated retina of the "small" preset, shared by the tests (it is immutable).
var smallSim = sync.OnceValues(func() (*SimResponder, error) { return NewSimResponder("small", 1, 20, nil) })

func simTruth(t *testing.T) *SimResponder {
	t.Helper()
	s, err := smallSim()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// meanResponder answers each row with the mean intensity of the frame it predicts, for N cells,
// like a model with the given history: what Run aligns must be what was shown.
type meanResponder struct {
	history, h, w, n int
	poison           bool // return a NaN
	fail             error
}

func (m meanResponder) InputShape() [3]int   { return [3]int{m.history, m.h, m.w} }
func (m meanResponder) FrameRate() float64   { return 100 }
func (m meanResponder) PixelSizeUM() float64 { return 55 }
func (m meanResponder) Respond(stim datasets.Movie) (datasets.Matrix, error) {
	if m.fail != nil {
		return datasets.Matrix{}, m.fail
	}
	out := datasets.NewMatrix(stim.T-m.history, m.n)
	for t := 0; t < out.Rows; t++ {
		v := float32(frameMean(stim, t+m.history))
		for c := 0; c < m.n; c++ {
			out.Set(t, c, 10+v*float32(c+1))
		}
	}
	if m.poison {
		out.Data[len(out.Data)-1] = float32(math.NaN())
	}
	return out, nil
}

func TestRunAlignsRowsWithFrames(t *testing.T) {
	r := meanResponder{history: 7, h: 4, w: 5, n: 2}
	stim := stimuli.Step(4, 5, 3, 4, 2, -1)
	rates, err := Run(r, stim)
	if err != nil {
		t.Fatal(err)
	}
	if rates.Rows != stim.T || rates.Cols != 2 {
		t.Fatalf("rates [%d, %d], want [%d, 2]", rates.Rows, rates.Cols, stim.T)
	}
	for i := 0; i < stim.T; i++ {
		want := 10 + 2*float32(frameMean(stim, i))
		if rates.At(i, 1) != want {
			t.Errorf("row %d: %g, want %g (the response to frame %d)", i, rates.At(i, 1), want, i)
		}
	}
}

func TestRunRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Responder
		stim datasets.Movie
		want string
	}{
		{"frame size", meanResponder{history: 2, h: 20, w: 20, n: 1}, stimuli.Grey(5, 10, 12), "10×12; the responder expects 20×20"},
		{"non-finite rate", meanResponder{history: 2, h: 4, w: 4, n: 3, poison: true}, stimuli.Grey(5, 4, 4), "non-finite rate"},
		{"responder error", meanResponder{history: 2, h: 4, w: 4, n: 3, fail: errors.New("device lost")}, stimuli.Grey(5, 4, 4), "device lost"},
		{"wrong rows", shortResponder{meanResponder{history: 2, h: 4, w: 4, n: 3}}, stimuli.Grey(5, 4, 4), "[4, 3] rates for 5 frames"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(tc.r, tc.stim)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// shortResponder drops the last row.
type shortResponder struct{ meanResponder }

func (s shortResponder) Respond(stim datasets.Movie) (datasets.Matrix, error) {
	m, err := s.meanResponder.Respond(stim)
	m.Rows--
	m.Data = m.Data[:m.Rows*m.Cols]
	return m, err
}

func TestFailuresAreReturnedNamingTheExperiment(t *testing.T) {
	bad := meanResponder{history: 4, h: 20, w: 20, n: 2, fail: errors.New("out of memory")}
	good := NewSubject(meanResponder{history: 4, h: 20, w: 20, n: 2}) // surrogates fitted once
	for _, e := range Experiments() {
		_, err := CompareSubjects(e, NewSubject(bad), NewSubject(simTruth(t)), DefaultSeeds())
		if err == nil || !strings.Contains(err.Error(), e.Name) || !strings.Contains(err.Error(), "out of memory") || !strings.HasPrefix(err.Error(), "model: ") {
			t.Errorf("%s: error %v", e.Name, err)
		}
		_, err = CompareSubjects(e, good, NewSubject(bad), DefaultSeeds())
		if err == nil || !strings.HasPrefix(err.Error(), "truth: "+e.Name) {
			t.Errorf("%s with a failing truth: error %v", e.Name, err)
		}
	}
	if _, err := Battery(Experiments(), bad, nil, nil); err == nil {
		t.Error("the battery swallowed a failure")
	}
}

func TestRegistry(t *testing.T) {
	want := []string{"step_response", "paired_flash", "reversing_grating", "contrast_adaptation", "omitted_stimulus",
		"motion_anticipation", "motion_reversal", "object_motion", "frequency_doubling", "latency_encoding",
		"fast_contrast_adaptation", "direction_orientation"}
	if got := Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("names %v", got)
	}
	for _, e := range Experiments() {
		if e.Description == "" || e.Criterion == "" || e.run == nil || e.shows == nil || e.Role == "" || (e.Role == RolePhenomenon) != (e.beyond != nil) {
			t.Errorf("%s is not self-describing", e.Name)
		}
	}
	sel, err := Select([]string{"object_motion", "step_response"})
	if err != nil || len(sel) != 2 || sel[0].Name != "step_response" {
		t.Fatalf("select: %v %v", sel, err)
	}
	if _, err := Select([]string{"bogus"}); err == nil || !strings.Contains(err.Error(), "direction_orientation") {
		t.Errorf("unknown experiment: %v", err)
	}
}

// TestSimulatedRetinaRunsTheBattery: every experiment measures the ground truth (no NaN metric,
// a cell count, a figure). Which phenomena the truth shows under the criteria is measured (by
// `deepretina phenomena`, docs/phenomena.md), not asserted here: the simulator is judged, not
// tuned towards the criteria.
func TestSimulatedRetinaRunsTheBattery(t *testing.T) {
	truth := simTruth(t)
	for _, e := range Experiments() {
		o, err := e.Run(truth)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range o.Metrics {
			if math.IsNaN(v) {
				t.Errorf("%s: metric %s is NaN on the simulated retina", e.Name, k)
			}
		}
		if !(o.Metrics["n_cells"] >= 1) {
			t.Errorf("%s: n_cells %v", e.Name, o.Metrics["n_cells"])
		}
		if len(o.Panels) == 0 {
			t.Errorf("%s draws nothing", e.Name)
		}
	}
}

func TestSimResponderMatchesTheCircuit(t *testing.T) {
	truth := simTruth(t)
	stim := stimuli.WhiteNoise(20, 20, 60, 1, 1, true, 5)
	resp, err := truth.Retina.RunGanglion(stim, nil)
	if err != nil {
		t.Fatal(err)
	}
	full := resp.Rates
	cut := &SimResponder{Retina: truth.Retina, History: 20, Cells: []int{5, 2}}
	got, err := cut.Respond(stim)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rows != 40 || got.Cols != 2 {
		t.Fatalf("rates [%d, %d], want [40, 2]", got.Rows, got.Cols)
	}
	for r := 0; r < 40; r++ {
		if got.At(r, 0) != full.At(r+20, 5) || got.At(r, 1) != full.At(r+20, 2) {
			t.Fatalf("row %d differs from the circuit's frame %d", r, r+20)
		}
	}
	if _, err := cut.Respond(stimuli.Grey(10, 20, 20)); err == nil || !strings.Contains(err.Error(), "history") {
		t.Errorf("too short a stimulus: %v", err)
	}
	if _, err := cut.Respond(stimuli.Grey(30, 10, 10)); err == nil || !strings.Contains(err.Error(), "20×20") {
		t.Errorf("wrong frame size: %v", err)
	}
	if _, err := NewSimResponder("small", 1, 20, []int{0, 99}); err == nil || !strings.Contains(err.Error(), "cell 99") {
		t.Errorf("bad cell: %v", err)
	}
	if _, err := NewSimResponder("huge", 1, 20, nil); err == nil || !strings.Contains(err.Error(), "small, paper") {
		t.Errorf("bad preset: %v", err)
	}
}

func TestCompareFigureAndJSON(t *testing.T) {
	truth := simTruth(t)
	model := &SimResponder{Retina: truth.Retina, History: 20, Cells: []int{0, 1, 2}}
	res, err := Compare(ContrastAdaptationExperiment(), model, truth)
	if err != nil {
		t.Fatal(err)
	}
	if res.TruthReproduced == nil || *res.TruthReproduced != res.Reproduced || len(res.ModelPasses) != 2 || res.ModelSurrogate == nil || res.TruthSurrogate == nil {
		t.Errorf("the circuit compared with itself must get its own verdict, with surrogates: %+v", res)
	}
	js, err := figures.FigureJSON(res.Figure)
	if err != nil {
		t.Fatal(err)
	}
	var fig struct {
		Layout map[string]json.RawMessage `json:"layout"`
	}
	if err := json.Unmarshal(js, &fig); err != nil {
		t.Fatal(err)
	}
	for _, ax := range []string{"xaxis", "xaxis2", "xaxis4"} { // the first panel × truth, its LN, model, its LN
		if _, ok := fig.Layout[ax]; !ok {
			t.Errorf("figure lacks %s", ax)
		}
	}
	if !strings.Contains(string(fig.Layout["annotations"]), "truth: filters") || !strings.Contains(string(fig.Layout["annotations"]), "model: filters") ||
		strings.Count(string(fig.Layout["annotations"]), "LN: filters") != 2 { // the truth's and the model's LN
		t.Error("panels are not titled truth / model")
	}

	// Metrics that are not finite are written as null; the object is keyed by name.
	res.Model = Metrics{"a": math.Inf(1), "b": math.NaN(), "c": 1.5}
	res.Truth = nil
	data, err := ResultsJSON([]*Result{res}, ResultsHeader{Run: "runs/x", Checkpoint: "epoch-0003"})
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		Kind       string `json:"kind"`
		Run        string `json:"run"`
		Checkpoint string `json:"checkpoint"`
		Reproduced *int   `json:"reproduced"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.Kind != "deepretina.phenomena" || head.Run != "runs/x" || head.Checkpoint != "epoch-0003" || head.Reproduced == nil {
		t.Errorf("header: %+v %v", head, err)
	}
	var back map[string]struct {
		Truth      map[string]*float64 `json:"truth"`
		Model      map[string]*float64 `json:"model"`
		Reproduced *bool               `json:"reproduced"`
		Criterion  string              `json:"criterion"`
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("results JSON does not parse: %v\n%s", err, data)
	}
	if err := json.Unmarshal([]byte(`{"contrast_adaptation": `+string(raw["contrast_adaptation"])+`}`), &back); err != nil {
		t.Fatal(err)
	}
	got := back["contrast_adaptation"]
	if got.Model["a"] != nil || got.Model["b"] != nil || got.Model["c"] == nil || *got.Model["c"] != 1.5 || got.Truth != nil || got.Reproduced == nil {
		t.Errorf("round trip: %+v", got)
	}
	if !strings.Contains(string(data), "gain_ratio < 1") || !strings.Contains(string(data), `"role": "phenomenon"`) {
		t.Error("criteria must read plainly in the JSON (no \\u003c)")
	}
}

func TestTruthForRun(t *testing.T) {
	// The normalisation of the crange4 data (`simulate --contrast-range 4`): SD 0.546 in the
	// simulator's units, so the truth must not take z as its own units.
	norm := datasets.NormStats{Mean: 0.00588, Std: 0.546}
	meta := func(dataset, datapath, data string, seed uint64, cells []int) *retina.RunMeta {
		return &retina.RunMeta{
			Config:     runconfig.Config{Dataset: dataset, DataPath: datapath, SimSeed: seed},
			Data:       data,
			CellIDs:    cells,
			InputShape: [3]int{20, 20, 20},
			NormStats:  norm,
		}
	}
	for _, tc := range []struct {
		name      string
		meta      *retina.RunMeta
		preset    string
		none      bool
		wantSeed  uint64
		wantCells []int
		wantDesc  string
		wantNorm  bool // the run's NormStats (simulated data), else the identity (nil)
	}{
		{"in-memory simulation", meta("sim-small", "", "simulated retina preset=small seed=7 (…)", 7, []int{1, 3}), "", false, 7, []int{1, 3}, "preset=small seed=7", true},
		{"default seed", meta("sim-small", "", "", 0, []int{0}), "", false, 1, []int{0}, "seed=1", true},
		{"simulated files", meta("sim-small", "/data", "simulated retina preset=small seed=4 (20x20 px); loaded from /data/sim-small/whitenoise.h5", 0, []int{2}), "", false, 4, []int{2}, "seed=4", true},
		{"recorded data", meta("15-10-07", "/data", "/data/15-10-07/whitenoise.h5", 0, []int{0, 5}), "", true, 0, nil, "", false},
		{"recorded data, truth asked", meta("15-10-07", "/data", "/data/15-10-07/whitenoise.h5", 0, []int{0, 5, 30}), "small", false, 1, nil, "all its cells", false},
		{"another seed's preset", meta("sim-small", "", "", 9, []int{0}), "small", false, 9, []int{0}, "seed=9", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, desc, err := TruthForRun(tc.meta, tc.preset)
			if err != nil {
				t.Fatal(err)
			}
			if tc.none {
				if resp != nil {
					t.Fatalf("a recorded-data run got a truth: %s", desc)
				}
				return
			}
			truth, ok := resp.(*SimResponder)
			if !ok {
				t.Fatalf("truth is a %T", resp)
			}
			if truth.Retina.Config().Seed != tc.wantSeed || truth.History != 20 || !equalInts(truth.Cells, tc.wantCells) || !strings.Contains(desc, tc.wantDesc) {
				t.Errorf("seed %d history %d cells %v desc %q", truth.Retina.Config().Seed, truth.History, truth.Cells, desc)
			}
			if tc.wantNorm != (truth.Norm != nil) || (truth.Norm != nil && *truth.Norm != norm) {
				t.Errorf("Norm %v; expected the run's %+v: %v", truth.Norm, norm, tc.wantNorm)
			}
		})
	}

	// The truth of a run with Std ≠ 1 is shown what its model is shown: z → mean + std·z, grey
	// padding included; the identity (the truth before issue 19's fix) would fail this check.
	resp, _, err := TruthForRun(meta("sim-small", "", "", 1, []int{0, 3, 6}), "")
	if err != nil {
		t.Fatal(err)
	}
	truth := resp.(*SimResponder)
	// Adapted to grey and judged with its own filter span, as NewSimResponder sets them
	// (TestSimResponderLeadIn, TestTruthFilterFrames); the mapping is compared without the
	// lead-in, which the plain retina would take at its own grey 0.
	wantLeadIn := int(math.Round(TruthAdaptSeconds * truth.FrameRate()))
	if truth.LeadIn != wantLeadIn || truth.FilterFrames != TruthFilterFrames(truth.Retina.Circuit(), truth.FrameRate()) {
		t.Errorf("truth: lead-in %d, filter span %d; expected %d and TruthFilterFrames's %d", truth.LeadIn, truth.FilterFrames, wantLeadIn, TruthFilterFrames(truth.Retina.Circuit(), truth.FrameRate()))
	}
	noLead := &SimResponder{Retina: truth.Retina, History: truth.History, Cells: truth.Cells, Norm: truth.Norm, FilterFrames: truth.FilterFrames}
	plain := &SimResponder{Retina: truth.Retina, History: truth.History, Cells: truth.Cells}
	z := stimuli.WhiteNoise(20, 20, 50, 1, 2, false, 12)
	if err := respondsToRaw(noLead, plain, norm, z); err != nil {
		t.Errorf("truth of a run normalised by %+v: %v", norm, err)
	}
	if err := respondsToRaw(plain, plain, norm, z); err == nil {
		t.Errorf("the identity passes as the run's normalisation %+v: the check cannot fail", norm)
	}

	if _, _, err := TruthForRun(meta("sim-small", "", "", 0, nil), "huge"); err == nil || !strings.Contains(err.Error(), "huge") {
		t.Errorf("unknown preset: %v", err)
	}
	noNorm := meta("sim-small", "", "", 0, nil)
	noNorm.NormStats = datasets.NormStats{}
	if _, _, err := TruthForRun(noNorm, ""); err == nil || !strings.Contains(err.Error(), "norm_stats") {
		t.Errorf("a simulated run without norm_stats: %v; expected an error naming the field", err)
	}
	// A multi-recording run's truth is that of one recording's view (its NormStats, its cells).
	multi := meta("sim-small", "", "", 0, nil)
	multi.Recordings = []retina.RecordingMeta{{Name: "ns"}, {Name: "wn"}}
	if _, _, err := TruthForRun(multi, ""); err == nil || !strings.Contains(err.Error(), "ns, wn") {
		t.Errorf("a run of two recordings: %v; expected an error naming them", err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// frameMean is the mean intensity of frame t (as in package stimuli's tests).
func frameMean(m datasets.Movie, t int) float64 {
	s := 0.0
	for _, v := range m.Frame(t) {
		s += float64(v)
	}
	return s / float64(m.H*m.W)
}

// TestShowsAndBeyondSplitPasses: Passes is Shows and Beyond, and each half fails on its own
// part of the criterion (contrast adaptation: the gain must fall, and fall 20 % further than
// the surrogate's; object motion: the reference lives in the cell's own metrics).
func TestShowsAndBeyondSplitPasses(t *testing.T) {
	ca, om, step := ContrastAdaptationExperiment(), ObjectMotionExperiment(), StepResponseExperiment()
	cases := []struct {
		name          string
		e             Experiment
		m, s          Metrics
		shows, beyond bool
	}{
		{"adapts, beyond", ca, Metrics{"gain_ratio": 0.5, "speedup_ms": 5}, Metrics{"gain_ratio": 0.9, "speedup_ms": 0}, true, true},
		{"adapts, as its surrogate", ca, Metrics{"gain_ratio": 0.7, "speedup_ms": 5}, Metrics{"gain_ratio": 0.75, "speedup_ms": 0}, true, false},
		{"no speed-up", ca, Metrics{"gain_ratio": 0.5, "speedup_ms": -1}, Metrics{"gain_ratio": 0.9, "speedup_ms": -4}, false, true},
		{"no surrogate", ca, Metrics{"gain_ratio": 0.5, "speedup_ms": 5}, nil, true, false},
		{"oms, beyond its LN", om, Metrics{"oms_index": 0.1, "ln_oms_index": 0.9, "oms_t": 10}, Metrics{}, true, true},
		{"oms, not significant", om, Metrics{"oms_index": 0.1, "ln_oms_index": 0.9, "oms_t": 1}, Metrics{}, true, false},
		{"no oms", om, Metrics{"oms_index": 0.9, "ln_oms_index": 1.5, "oms_t": 10}, Metrics{}, false, true},
		{"sanity check: no margin", step, Metrics{"onset_peak_hz": 10, "transience": 0.5}, nil, true, true},
	}
	for _, c := range cases {
		if got := c.e.Shows(c.m); got != c.shows {
			t.Errorf("%s: Shows = %v, want %v", c.name, got, c.shows)
		}
		if got := c.e.Beyond(c.m, c.s); got != c.beyond {
			t.Errorf("%s: Beyond = %v, want %v", c.name, got, c.beyond)
		}
		if got := c.e.Passes(c.m, c.s); got != (c.shows && c.beyond) {
			t.Errorf("%s: Passes = %v, want Shows && Beyond = %v", c.name, got, c.shows && c.beyond)
		}
	}
}
