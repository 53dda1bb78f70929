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
	"github.com/deepretina/deepretina/retina"
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
	stim := Step(4, 5, 3, 4, 2, -1)
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
		{"frame size", meanResponder{history: 2, h: 20, w: 20, n: 1}, Grey(5, 10, 12), "10×12; the responder expects 20×20"},
		{"non-finite rate", meanResponder{history: 2, h: 4, w: 4, n: 3, poison: true}, Grey(5, 4, 4), "non-finite rate"},
		{"responder error", meanResponder{history: 2, h: 4, w: 4, n: 3, fail: errors.New("device lost")}, Grey(5, 4, 4), "device lost"},
		{"wrong rows", shortResponder{meanResponder{history: 2, h: 4, w: 4, n: 3}}, Grey(5, 4, 4), "[4, 3] rates for 5 frames"},
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
	for _, e := range Experiments() {
		_, err := Compare(e, bad, simTruth(t))
		if err == nil || !strings.Contains(err.Error(), e.Name) || !strings.Contains(err.Error(), "out of memory") || !strings.HasPrefix(err.Error(), "model: ") {
			t.Errorf("%s: error %v", e.Name, err)
		}
		_, err = Compare(e, simTruth(t), bad)
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
		if e.Description == "" || e.Criterion == "" || e.run == nil || e.reproduced == nil {
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

// TestSimulatedRetinaShowsThePhenomena: the ground truth has the signs the retina has.
func TestSimulatedRetinaShowsThePhenomena(t *testing.T) {
	truth := simTruth(t)
	expect := map[string][]struct {
		what string
		ok   func(m Metrics) bool
	}{
		"contrast_adaptation": {
			{"gain falls at high contrast", func(m Metrics) bool { return m["gain_ratio"] < 1 }},
			{"the filter speeds up at high contrast", func(m Metrics) bool { return m["peak_ms_high"] < m["peak_ms_low"] && m["speedup_ms"] > 0 }},
		},
		"latency_encoding": {
			{"latency falls with intensity", func(m Metrics) bool {
				return m["slope_ms_per_unit"] < 0 && m["latency_strong_ms"] < m["latency_weak_ms"]
			}},
		},
		"frequency_doubling": {
			{"F2/F1 > 1 for narrow bars", func(m Metrics) bool { return m["f2_f1_narrow"] > 1 && m["f2_f1_1px"] > 1 }},
			{"F2/F1 < 1 for wide bars", func(m Metrics) bool { return m["f2_f1_wide"] < 1 }},
		},
		"object_motion":            {{"OMS index < 1", func(m Metrics) bool { return m["oms_index"] < 1 }}},
		"fast_contrast_adaptation": {{"filters speed up with contrast", func(m Metrics) bool { return m["freq_ratio"] > 1 }}},
		"step_response":            {{"transient", func(m Metrics) bool { return m["transience"] > 0.5 }}},
		"motion_anticipation":      {{"the moving-bar response leads", func(m Metrics) bool { return m["lead_um"] > 0 }}},
		"direction_orientation":    {{"not direction selective", func(m Metrics) bool { return m["dsi_max"] < 0.1 }}},
	}
	for _, e := range Experiments() {
		o, err := e.Run(truth)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range expect[e.Name] {
			if !x.ok(o.Metrics) {
				t.Errorf("%s: the simulated retina is expected to show that %s; metrics %v", e.Name, x.what, o.Metrics)
			}
		}
		// Every criterion a model without a truth is held to holds for the truth, except the
		// motion-reversal burst, which the simulated retina mostly lacks (see its doc comment).
		if e.Name != "motion_reversal" && !e.Reproduced(o.Metrics, nil) {
			t.Errorf("%s: the truth does not meet its own criterion (metrics %v)", e.Name, o.Metrics)
		}
		for k, v := range o.Metrics {
			if math.IsNaN(v) {
				t.Errorf("%s: metric %s is NaN on the simulated retina", e.Name, k)
			}
		}
		if len(o.Panels) == 0 {
			t.Errorf("%s draws nothing", e.Name)
		}
	}
}

func TestSimResponderMatchesTheCircuit(t *testing.T) {
	truth := simTruth(t)
	stim := WhiteNoise(20, 20, 60, 1, 1, true, 5)
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
	if _, err := cut.Respond(Grey(10, 20, 20)); err == nil || !strings.Contains(err.Error(), "history") {
		t.Errorf("too short a stimulus: %v", err)
	}
	if _, err := cut.Respond(Grey(30, 10, 10)); err == nil || !strings.Contains(err.Error(), "20×20") {
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
	if res.TruthReproduced == nil || !*res.TruthReproduced || !res.Reproduced {
		t.Errorf("the circuit compared with itself must reproduce contrast adaptation: %+v", res)
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
	for _, ax := range []string{"xaxis", "xaxis2", "xaxis6"} { // 3 panels × truth and model
		if _, ok := fig.Layout[ax]; !ok {
			t.Errorf("figure lacks %s", ax)
		}
	}
	if !strings.Contains(string(fig.Layout["annotations"]), "truth: filters") || !strings.Contains(string(fig.Layout["annotations"]), "model: filters") {
		t.Error("panels are not titled truth / model")
	}

	// Metrics that are not finite are written as null; the object is keyed by name.
	res.Model = Metrics{"a": math.Inf(1), "b": math.NaN(), "c": 1.5}
	res.Truth = nil
	data, err := ResultsJSON([]*Result{res})
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]struct {
		Truth      map[string]*float64 `json:"truth"`
		Model      map[string]*float64 `json:"model"`
		Reproduced *bool               `json:"reproduced"`
		Criterion  string              `json:"criterion"`
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("results JSON does not parse: %v\n%s", err, data)
	}
	got := back["contrast_adaptation"]
	if got.Model["a"] != nil || got.Model["b"] != nil || got.Model["c"] == nil || *got.Model["c"] != 1.5 || got.Truth != nil || got.Reproduced == nil {
		t.Errorf("round trip: %+v", got)
	}
	if !strings.Contains(string(data), "gain_ratio < 1") {
		t.Error("criteria must read plainly in the JSON (no \\u003c)")
	}
}

func TestTruthForRun(t *testing.T) {
	meta := func(dataset, datapath, data string, seed uint64, cells []int) *retina.RunMeta {
		return &retina.RunMeta{
			Config:     retina.Config{Dataset: dataset, DataPath: datapath, SimSeed: seed},
			Data:       data,
			CellIDs:    cells,
			InputShape: [3]int{20, 20, 20},
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
	}{
		{"in-memory simulation", meta("sim-small", "", "simulated retina preset=small seed=7 (…)", 7, []int{1, 3}), "", false, 7, []int{1, 3}, "preset=small seed=7"},
		{"default seed", meta("sim-small", "", "", 0, []int{0}), "", false, 1, []int{0}, "seed=1"},
		{"simulated files", meta("sim-small", "/data", "simulated retina preset=small seed=4 (20x20 px); loaded from /data/sim-small/whitenoise.h5", 0, []int{2}), "", false, 4, []int{2}, "seed=4"},
		{"recorded data", meta("15-10-07", "/data", "/data/15-10-07/whitenoise.h5", 0, []int{0, 5}), "", true, 0, nil, ""},
		{"recorded data, truth asked", meta("15-10-07", "/data", "/data/15-10-07/whitenoise.h5", 0, []int{0, 5, 30}), "small", false, 1, nil, "all its cells"},
		{"another seed's preset", meta("sim-small", "", "", 9, []int{0}), "small", false, 9, []int{0}, "seed=9"},
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
		})
	}
	if _, _, err := TruthForRun(meta("sim-small", "", "", 0, nil), "huge"); err == nil || !strings.Contains(err.Error(), "huge") {
		t.Errorf("unknown preset: %v", err)
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
