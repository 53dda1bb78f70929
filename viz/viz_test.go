package viz

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/internal/browser"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/retina/runconfig"
	"github.com/deepretina/deepretina/torchio"
)

// trace is a decoded plotly trace.
type trace struct {
	Type, Name   string
	X, Y         []any
	Z            [][]*float64
	Xaxis, Yaxis string
	Mode         string
}

func decode(t *testing.T, fig *figures.Figure) (traces []trace, layout map[string]json.RawMessage) {
	t.Helper()
	js, err := figures.FigureJSON(fig)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Data   []trace                    `json:"data"`
		Layout map[string]json.RawMessage `json:"layout"`
	}
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	return back.Data, back.Layout
}

func nums(t *testing.T, v []any) []float64 {
	t.Helper()
	out := make([]float64, len(v))
	for i, x := range v {
		switch x := x.(type) {
		case float64:
			out[i] = x
		case nil:
			out[i] = math.NaN()
		default:
			t.Fatalf("value %v is not a number", x)
		}
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 || (math.IsNaN(a) && math.IsNaN(b)) }

func sameSlice(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !near(a[i], b[i]) {
			return false
		}
	}
	return true
}

func evaluation() *analysis.Evaluation {
	return &analysis.Evaluation{Model: "BNCNN", Cells: []int{3, 7},
		CNNPearson: []float64{0.8, 0.6}, LNPearson: []float64{0.5, math.NaN()}, Ceiling: []float64{0.9, 0.85},
		FEV: []float64{0.7, 0.4}, BitsPerSpike: []float64{1.2, math.NaN()},
		CNNPearsonMean: 0.7, LNPearsonMean: 0.5, CeilingMean: 0.875, FEVMean: 0.55}
}

func TestScores(t *testing.T) {
	ev := evaluation()
	fig, err := Scores(ev)
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := decode(t, fig)
	if len(tr) != 3 || tr[0].Name != "CNN r" || tr[1].Name != "LN r" || tr[2].Name != "reliability ceiling" {
		t.Fatalf("bars %+v", tr)
	}
	if got := nums(t, tr[1].Y); !sameSlice(got, []float64{0.5, math.NaN(), 0.5}) {
		t.Errorf("LN bars %v: cell values then the mean, NaN left out", got)
	}
	if tr[0].X[0] != "cell 3" || tr[0].X[2] != "mean" {
		t.Errorf("categories %v", tr[0].X)
	}

	sc, err := ScoresScatter(ev)
	if err != nil {
		t.Fatal(err)
	}
	tr, _ = decode(t, sc)
	// Per panel: the diagonal, then the cells (x = LN r or ceiling, y = CNN r).
	if len(tr) != 4 || !sameSlice(nums(t, tr[1].X), []float64{0.5, math.NaN()}) || !sameSlice(nums(t, tr[3].X), ev.Ceiling) || !sameSlice(nums(t, tr[3].Y), ev.CNNPearson) {
		t.Errorf("scatter traces %+v", tr)
	}

	ln := evaluation()
	ln.Model, ln.LNPearson = "LN", nil
	fig, err = Scores(ln)
	if err != nil {
		t.Fatal(err)
	}
	tr, _ = decode(t, fig)
	if len(tr) != 2 || tr[0].Name != "LN r" {
		t.Errorf("an LN run without baseline: %+v", tr)
	}
	if sc, err = ScoresScatter(ln); err != nil {
		t.Fatal(err)
	}
	if tr, _ = decode(t, sc); len(tr) != 2 {
		t.Errorf("without a baseline the scatter has only the ceiling panel: %d traces", len(tr))
	}

	tab := ScoresTable(ev)
	if tab.Columns[1] != "CNN r" || tab.Rows[1][2] != "n/a" || tab.Rows[2][0] != "mean" || tab.Rows[2][3] != "0.875" {
		t.Errorf("table %+v", tab)
	}

	bad := evaluation()
	bad.Ceiling = bad.Ceiling[:1]
	if _, err := Scores(bad); err == nil || !strings.Contains(err.Error(), "2 cells but 1 ceiling") {
		t.Errorf("ragged evaluation: %v", err)
	}
}

func recording(t *testing.T, frames, cells int) *datasets.Recording {
	t.Helper()
	rec := &datasets.Recording{FrameRate: 100, CellIDs: make([]int, cells)}
	for c := range rec.CellIDs {
		rec.CellIDs[c] = 10 + c
	}
	rec.Test.Rates = datasets.NewMatrix(frames, cells)
	for i := range rec.Test.Rates.Data {
		rec.Test.Rates.Data[i] = float32(i)
	}
	rec.Test.Stimulus = datasets.NewMovie(frames, 2, 2)
	return rec
}

func TestPredictedRates(t *testing.T) {
	const frames, cells, history = 50, 8, 5
	rec := recording(t, frames, cells)
	pred := datasets.NewMatrix(frames-history, cells)
	for i := range pred.Data {
		pred.Data[i] = -float32(i)
	}
	fig, err := PredictedRates(rec, history, []int{2, 7}, 0.2, Prediction{Name: "CNN", Rates: pred})
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := decode(t, fig)
	if len(tr) != 4 {
		t.Fatalf("%d traces, want recorded + CNN for 2 cells", len(tr))
	}
	// 0.2 s at 100 Hz: frames 5…24, aligned: prediction row j ↔ frame history+j.
	x, rec7, pred7 := nums(t, tr[2].X), nums(t, tr[2].Y), nums(t, tr[3].Y)
	if len(x) != 20 || !near(x[0], 0.05) || !near(x[19], 0.24) {
		t.Errorf("time axis %v", x)
	}
	if !near(rec7[0], float64(rec.Test.Rates.At(history, 7))) || !near(pred7[3], float64(pred.At(3, 7))) {
		t.Errorf("cell 7: recorded %v, predicted %v", rec7[:4], pred7[:4])
	}
	if fig, err = PredictedRates(rec, history, nil, 0, Prediction{Name: "CNN", Rates: pred}); err != nil {
		t.Fatal(err)
	}
	if tr, _ = decode(t, fig); len(tr) != 12 || len(tr[0].X) != frames-history {
		t.Errorf("default: the first 6 cells over the whole test set; got %d traces of %d points", len(tr), len(tr[0].X))
	}
	for _, tc := range []struct {
		cols []int
		pred datasets.Matrix
		want string
	}{
		{[]int{9}, pred, "cell column 9 does not exist (the recording has 8 cells)"},
		{[]int{0, 1, 2, 3, 4, 5, 6}, pred, "7 cells; one figure shows 1 to 6"},
		{[]int{0}, datasets.NewMatrix(frames, cells), `"CNN" is [50, 8], the test set needs [45, 8]`},
	} {
		if _, err := PredictedRates(rec, history, tc.cols, 0, Prediction{Name: "CNN", Rates: tc.pred}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("cols %v: error %v, want %q", tc.cols, err, tc.want)
		}
	}
}

// TestNewFilterSplit plants a filter whose energy peaks at frame 2 with its largest weight at
// (row 1, column 0): the split must find them and read the time course there.
func TestNewFilterSplit(t *testing.T) {
	const hist, h, w = 4, 2, 3
	weights := make([]float64, hist*h*w)
	at := func(f, y, x int) *float64 { return &weights[(f*h+y)*w+x] }
	*at(0, 0, 0) = 0.9 // a large single weight on a low-energy frame
	*at(2, 1, 0) = -1.5
	*at(2, 0, 2) = 1.0
	*at(2, 1, 1) = 1.0
	*at(1, 1, 0) = 0.25
	lags := []float64{-40, -30, -20, -10}
	f := newFilter("unit", weights, hist, h, w, lags)
	if f.PeakFrame != 2 || f.PeakRow != 1 || f.PeakCol != 0 {
		t.Fatalf("peak frame %d at (%d, %d), want frame 2 at (1, 0)", f.PeakFrame, f.PeakRow, f.PeakCol)
	}
	if !sameSlice(f.Temporal, []float64{0, 0.25, -1.5, 0}) {
		t.Errorf("time course %v", f.Temporal)
	}
	if f.Spatial[0][2] != 1 || f.Spatial[1][0] != -1.5 || len(f.Spatial) != h || len(f.Spatial[0]) != w {
		t.Errorf("spatial map %v", f.Spatial)
	}
}

// TestFilters reads a model's first layer through Filters and checks every weight against the
// PyTorch-layout state dict ([C1, History, k, k] for BNCNN, [N, History·H·W] for LN), an
// independent read-out of the same variables.
func TestFilters(t *testing.T) {
	norm := datasets.NormStats{Mean: 0, Std: 1}
	for _, tc := range []struct {
		cfg   nn.ModelConfig
		key   string
		name0 string
	}{
		{nn.ModelConfig{Type: nn.ModelBNCNN, NCells: 2, ImgShape: [3]int{5, 10, 10}, Chans: []int{3, 2}, KSizes: []int{5, 3},
			BNMomentum: nn.DefaultBNMomentum, BNEps: nn.DefaultBNEps}, "sequential.0.weight", "channel 0"},
		{nn.ModelConfig{Type: nn.ModelLN, NCells: 2, ImgShape: [3]int{5, 4, 3}}, "sequential.1.weight", "cell 0"},
	} {
		t.Run(tc.cfg.Type, func(t *testing.T) {
			model, err := retina.NewModel(tc.cfg, norm, 7, retina.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			filters, err := Filters(model)
			if err != nil {
				t.Fatal(err)
			}
			sd, err := torchio.ExportStateDict(model.Scope().At(retina.ModelScope), tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tensors.CopyFlatData[float32](sd[tc.key])
			if err != nil {
				t.Fatal(err)
			}
			n := sd[tc.key].Shape().Dimensions[0]
			if len(filters) != n || filters[0].Name != tc.name0 || filters[0].History != 5 {
				t.Fatalf("%d filters (first %q, history %d), want %d", len(filters), filters[0].Name, filters[0].History, n)
			}
			size := len(want) / n
			for i, f := range filters {
				got := f.Weights()
				if len(got) != size {
					t.Fatalf("filter %d has %d weights, want %d", i, len(got), size)
				}
				for j := range got {
					if !near(got[j], float64(want[i*size+j])) {
						t.Fatalf("filter %d weight %d: %g, state dict %g", i, j, got[j], want[i*size+j])
					}
				}
			}
			if lags := filters[0].LagsMS; lags[0] != -50 || lags[4] != -10 {
				t.Errorf("lags %v, want −50 … −10 ms at 100 Hz", lags)
			}
			figs, err := FilterFigures("filters", filters)
			if err != nil {
				t.Fatal(err)
			}
			if len(figs) != 2 {
				t.Errorf("%d figures, want the maps and the time courses", len(figs))
			}
		})
	}
}

func TestFramesAndRaster(t *testing.T) {
	m := datasets.NewMovie(3, 2, 3)
	for i := range m.Data {
		m.Data[i] = float32(i)
	}
	fig, err := Frames("stimulus", m, []int{0, 2}, 100)
	if err != nil {
		t.Fatal(err)
	}
	tr, layout := decode(t, fig)
	if len(tr) != 2 || *tr[1].Z[1][2] != 17 || *tr[0].Z[0][1] != 1 {
		t.Errorf("frames: %+v", tr)
	}
	if !strings.Contains(string(layout["yaxis"]), `"autorange":"reversed"`) {
		t.Errorf("images must have row 0 at the top: %s", layout["yaxis"])
	}
	if _, err := Frames("", m, []int{3}, 100); err == nil || !strings.Contains(err.Error(), "frame 3 does not exist") {
		t.Errorf("frame out of range: %v", err)
	}

	cells := []CellTrials{{Name: "cell 1", Spikes: [][]float32{{0, 1, 0, 2}, {1, 0, 0, 0}}}}
	fig, err = RasterPSTH("raster", cells, 100)
	if err != nil {
		t.Fatal(err)
	}
	tr, _ = decode(t, fig)
	if !sameSlice(nums(t, tr[0].X), []float64{0.01, 0.03, 0}) || !sameSlice(nums(t, tr[0].Y), []float64{1, 1, 2}) {
		t.Errorf("raster ticks x %v y %v", tr[0].X, tr[0].Y)
	}
	// PSTH from counts: mean count per frame × 100 Hz.
	if got := nums(t, tr[1].Y); !sameSlice(got, []float64{50, 50, 0, 100}) {
		t.Errorf("PSTH %v", got)
	}
	cells[0].Spikes[1] = []float32{1}
	if _, err := RasterPSTH("", cells, 100); err == nil || !strings.Contains(err.Error(), "trial 1 has 1 frames") {
		t.Errorf("ragged trials: %v", err)
	}
}

func TestTrainingCurvesAndSweep(t *testing.T) {
	var c Curves
	for s := 1; s <= 4; s++ {
		c.AddStep(retina.StepInfo{Epoch: 2, Step: s, Steps: 4, Loss: float64(-s)})
	}
	c.Epochs = []retina.EpochRecord{{Epoch: 1, TrainLoss: -1, ValCorr: 0.3, TestCorr: 0.2, LR: 0.002}, {Epoch: 2, TrainLoss: -2.5, ValCorr: 0.5, TestCorr: 0.4, LR: 0.001}}
	fig, err := TrainingCurves("training", c)
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := decode(t, fig)
	if len(tr) != 5 || !sameSlice(nums(t, tr[0].X), []float64{1.25, 1.5, 1.75, 2}) || !sameSlice(nums(t, tr[2].Y), []float64{0.3, 0.5}) || tr[4].Xaxis != "x3" {
		t.Errorf("training traces %+v", tr)
	}
	if _, err := TrainingCurves("", Curves{StepX: []float64{1}}); err == nil {
		t.Error("ragged steps accepted")
	}
	runs := []*retina.RunMeta{{Config: runconfig.Config{ExpName: "a_lr=0.1"}, BestValCorr: 0.4, TestCorrAtBest: 0.5}, {Config: runconfig.Config{ExpName: "a_lr=0.2"}, BestValCorr: 0.6, TestCorrAtBest: 0.7}}
	fig, err = SweepResults("sweep", runs)
	if err != nil {
		t.Fatal(err)
	}
	if tr, _ = decode(t, fig); tr[1].X[1] != "a_lr=0.2" || !sameSlice(nums(t, tr[1].Y), []float64{0.5, 0.7}) {
		t.Errorf("sweep bars %+v", tr)
	}
}

// TestFiguresDraw puts one of every builder's figures on a page and renders it in headless
// chromium with no network: plotly must accept them all.
func TestFiguresDraw(t *testing.T) {
	if testing.Short() {
		t.Skip("needs headless chromium; runs in the full tier, scripts/test.sh")
	}
	rep := figures.NewReport("viz")
	add := func(fig *figures.Figure, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		rep.AddFigure("", "", fig)
	}
	ev := evaluation()
	add(Scores(ev))
	add(ScoresScatter(ev))
	rec := recording(t, 30, 3)
	add(PredictedRates(rec, 4, nil, 0, Prediction{Name: "CNN", Rates: datasets.NewMatrix(26, 3)}))
	m := datasets.NewMovie(2, 4, 5)
	for i := range m.Data {
		m.Data[i] = float32(i % 7)
	}
	add(Frames("frames", m, []int{0, 1}, 100))
	add(RasterPSTH("raster", []CellTrials{{Name: "a", Spikes: [][]float32{{0, 1}, {1, 0}}}, {Name: "b", Spikes: [][]float32{{1, 1}}}}, 100))
	add(TrainingCurves("training", Curves{Epochs: []retina.EpochRecord{{Epoch: 1, LR: 0.001}}}))
	filters := []Filter{newFilter("f", []float64{1, -1, 0.5, 0, 2, -2, 1, 0}, 2, 2, 2, []float64{-20, -10})}
	figs, err := FilterFigures("filters", filters)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range figs {
		rep.AddFigure("", "", f)
	}
	page := filepath.Join(t.TempDir(), "viz.html")
	if err := rep.WriteFile(page); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dom, err := browser.DumpDOM(ctx, page)
	if err != nil {
		t.Fatal(err)
	}
	if n := browser.CountPlots(dom); n != rep.Figures() {
		t.Errorf("%d of %d charts drew", n, rep.Figures())
	}
}
