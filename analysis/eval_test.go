package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/metrics"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// recordingWithRepeats: two cells driven by one pixel; the test set has 4 noisy repeats.
func recordingWithRepeats() *datasets.Recording {
	const H, W = 6, 6
	rng := rand.New(rand.NewPCG(4, 4))
	split := func(T, reps int) datasets.Split {
		stim := datasets.NewMovie(T, H, W)
		for i := range stim.Data {
			stim.Data[i] = float32(rng.NormFloat64())
		}
		truth := make([][]float32, 2)
		for c := range truth {
			truth[c] = make([]float32, T)
			for t := 2; t < T; t++ {
				truth[c][t] = float32(8*math.Max(0, float64(stim.Frame(t - 1)[(2+c)*W+2])) + 2)
			}
		}
		s := datasets.Split{Stimulus: stim, Rates: datasets.NewMatrix(T, 2), Counts: datasets.NewMatrix(T, 2)}
		s.Repeats = make([][][]float32, 2)
		for c := range truth {
			for r := 0; r < reps; r++ {
				rep := make([]float32, T)
				for t := range rep {
					rep[t] = max(0, truth[c][t]+float32(rng.NormFloat64()))
					s.Rates.Data[t*2+c] += rep[t] / float32(reps)
					s.Counts.Data[t*2+c] += float32(math.Round(float64(rep[t]) * 0.01 * 10))
				}
				s.Repeats[c] = append(s.Repeats[c], rep)
			}
		}
		return s
	}
	rec := &datasets.Recording{Expt: "toy", Stim: datasets.WhiteNoise, CellIDs: []int{3, 8}, FrameRate: 100,
		Train: split(1500, 1), Test: split(300, 4), Provenance: "toy"}
	rec.Train.CountTrials, rec.Test.CountTrials = 1, 4
	return rec
}

// trainedToy trains a tiny CNN on recordingWithRepeats once per test binary.
var trainedToy = sync.OnceValues(func() (*retina.Model, error) {
	rec := recordingWithRepeats()
	cfg := runconfig.SmallConfig()
	cfg.ExpName, cfg.Dataset = "toy", "toy"
	cfg.ImgShape, cfg.KSizes, cfg.Chans = []int{4, 6, 6}, []int{3, 3}, []int{2, 2}
	cfg.BatchSize, cfg.NEpochs, cfg.LR = 32, 1, 5e-3
	backend, err := compute.NewWithConfig("go")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "deepretina-analysis-toy")
	if err != nil {
		return nil, err
	}
	if _, err := retina.Train(context.Background(), cfg, dir, retina.TrainOptions{Data: rec, Backend: backend}); err != nil {
		return nil, err
	}
	return retina.LoadModel(dir, retina.LoadOptions{Backend: backend})
})

func toyModel(t *testing.T) *retina.Model {
	t.Helper()
	m, err := trainedToy()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMain(m *testing.M) {
	code := m.Run()
	if model, err := trainedToy(); err == nil {
		os.RemoveAll(filepath.Dir(filepath.Dir(model.Dir))) // the run folder holding checkpoints/
	}
	os.Exit(code)
}

func TestEvaluateWiresEveryMetric(t *testing.T) {
	rec := recordingWithRepeats()
	model := toyModel(t)
	w, _ := model.Windows(rec.Train.Stimulus, rec.Train.Rates)
	ln, err := FitClassicalLN(w, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Evaluate(model, ln, "classical", rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.CNNPearson) != 2 || len(ev.LNPearson) != 2 || len(ev.Ceiling) != 2 || len(ev.FEV) != 2 || ev.Cells[1] != 8 {
		t.Fatalf("per-cell lists wrong: %+v", ev)
	}
	// Each number is the metric of the right slices: recompute two of them independently.
	pred, _ := model.Predict(rec.Test.Stimulus)
	want, _ := metrics.Pearson(metrics.Column(pred.Data, 2, 1), metrics.Column(rec.Test.Rates.Data, 2, 1)[4:])
	if math.Abs(ev.CNNPearson[1]-want) > 1e-12 {
		t.Errorf("cnn_pearson[1] = %v, want %v", ev.CNNPearson[1], want)
	}
	reps := [][]float32{}
	for _, r := range rec.Test.Repeats[0] {
		reps = append(reps, r[4:])
	}
	if c := metrics.SplitHalfReliability(reps); math.Abs(ev.SplitHalf[0]-c) > 1e-12 || c < 0.5 {
		t.Errorf("split_half_r[0] = %v, want %v (> 0.5)", ev.SplitHalf[0], c)
	}
	if c := math.Sqrt(SpearmanBrown(ev.SplitHalf[0], 2)); math.Abs(ev.Ceiling[0]-c) > 1e-12 || ev.Ceiling[0] <= ev.SplitHalf[0] {
		t.Errorf("ceiling[0] = %v, want √(Spearman–Brown(%v)) = %v, above the split-half r", ev.Ceiling[0], ev.SplitHalf[0], c)
	}
	if ev.LNPearsonMean < 0.5 {
		t.Errorf("classical LN of an LN-like cell scores only %.3f", ev.LNPearsonMean)
	}
	var buf bytes.Buffer
	if err := ev.WriteTable(&buf); err != nil || !strings.Contains(buf.String(), "mean") {
		t.Fatalf("table: %v\n%s", err, buf.String())
	}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	_ = json.Unmarshal(data, &keys)
	for _, k := range []string{"cells", "cnn_pearson", "ln_pearson", "ceiling", "fev", "cnn_pearson_mean", "ln_pearson_mean", "ceiling_mean"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	// Undefined scores become null, not a failed encoding.
	ev.FEV[0] = math.NaN()
	data, err = json.Marshal(ev)
	if err != nil || !strings.Contains(string(data), `"fev":[null,`) {
		t.Fatalf("NaN score encoded as %s (%v)", data, err)
	}
}

// Fewer than two repeats: the ceiling and the FEV are unavailable — null in JSON, "n/a" in the
// table — while the scores that need no repeats are still given.
func TestEvaluateWithoutRepeatsReportsUnavailable(t *testing.T) {
	model := toyModel(t)
	for _, reps := range []int{0, 1} {
		rec := recordingWithRepeats()
		if reps == 0 {
			rec.Test.Repeats = nil
		} else {
			for c := range rec.Test.Repeats {
				rec.Test.Repeats[c] = rec.Test.Repeats[c][:1]
			}
		}
		ev, err := Evaluate(model, nil, "", rec)
		if err != nil {
			t.Fatalf("%d repeats: %v", reps, err)
		}
		for i := range ev.Cells {
			if !math.IsNaN(ev.Ceiling[i]) || !math.IsNaN(ev.FEV[i]) || math.IsNaN(ev.CNNPearson[i]) {
				t.Errorf("%d repeats, cell %d: ceiling %v FEV %v r %v", reps, i, ev.Ceiling[i], ev.FEV[i], ev.CNNPearson[i])
			}
		}
		data, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		if m["ceiling_mean"] != nil || m["fev_mean"] != nil || m["cnn_pearson_mean"] == nil {
			t.Errorf("%d repeats: JSON %s", reps, data)
		}
		if c, ok := m["ceiling"].([]any); !ok || c[0] != nil {
			t.Errorf("%d repeats: ceiling %v, want nulls", reps, m["ceiling"])
		}
		var buf bytes.Buffer
		_ = ev.WriteTable(&buf)
		if !strings.Contains(buf.String(), "n/a") || strings.Contains(buf.String(), "NaN") || strings.Contains(buf.String(), "0.000") {
			t.Errorf("%d repeats: table\n%s", reps, buf.String())
		}
	}
}

// A model scored on a recording that is not the one it models, or next to a baseline of other
// cells or another history, is an error naming both sides — never a silent score.
func TestEvaluateRejectsMismatches(t *testing.T) {
	model := toyModel(t)
	otherCells := recordingWithRepeats()
	otherCells.CellIDs = []int{3, 9}
	threeCells, _ := datasets.SelectCells(recordingWithRepeats(), []int{3, 8, 3})
	bigFrames := recordingWithRepeats()
	bigFrames.Test.Stimulus = datasets.NewMovie(300, 7, 7)
	shortHistory := *model.Meta
	shortHistory.InputShape[0], shortHistory.Model.ImgShape[0] = 3, 3
	shortModel := *model
	shortModel.Meta = &shortHistory
	otherBaselineCells := *model.Meta
	otherBaselineCells.CellIDs = []int{8, 3}
	swapped := *model
	swapped.Meta = &otherBaselineCells
	for _, c := range []struct {
		name     string
		rec      *datasets.Recording
		baseline LNPredictor
		want     []string
	}{
		{"other cell ids", otherCells, nil, []string{"cells [3 8]", "cells [3 9]", model.Dir, "toy/whitenoise"}},
		{"other number of cells", threeCells, nil, []string{"2 cells", "3 cells"}},
		{"other frame size", bigFrames, nil, []string{"7×7", "6×6"}},
		{"baseline of another history", recordingWithRepeats(), RunBaseline{Model: &shortModel}, []string{"history of 3 frames", "history of 4 frames"}},
		{"baseline of other cells", recordingWithRepeats(), RunBaseline{Model: &swapped}, []string{"cells [8 3]", "cells [3 8]"}},
		{"baseline predicting another shape", recordingWithRepeats(), shapeBaseline{10, 2}, []string{"[10, 2]", "[296, 2]"}},
	} {
		_, err := Evaluate(model, c.baseline, c.name, c.rec)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

// A model built in memory (retina.NewModel) has no folder: the errors still say which model.
func TestEvaluateNamesAModelInMemory(t *testing.T) {
	inMemory := *toyModel(t)
	inMemory.Dir = ""
	otherCells := recordingWithRepeats()
	otherCells.CellIDs = []int{3, 9}
	_, err := Evaluate(&inMemory, nil, "", otherCells)
	if err == nil || !strings.Contains(err.Error(), "the model in memory predicts cells [3 8]") {
		t.Errorf("error %v, want one naming the model in memory", err)
	}
}

// shapeBaseline predicts zeros of a fixed shape.
type shapeBaseline struct{ rows, cols int }

func (s shapeBaseline) Predict(*datasets.Windows) (datasets.Matrix, error) {
	return datasets.NewMatrix(s.rows, s.cols), nil
}

// Bits per spike follows the recording's count convention: test counts of the first repeat only
// (CountTrials 1) or summed over R repeats (CountTrials R) give the same closed-form score for
// the true rate, while a recording that does not say (0) has no score rather than a wrong one.
// Two-level closed form (see metrics.TestBitsPerSpikeClosedFormAnyTrials):
// (a·ln(a/m) + b·ln(b/m)) / ((a+b)·ln 2), m = (a+b)/2, a and b the spikes per bin and trial.
func TestBitsFollowsTheCountConvention(t *testing.T) {
	const a, b, reps, h, T = 1.0, 3.0, 4, 2, 42
	m := (a + b) / 2
	want := (a*math.Log(a/m) + b*math.Log(b/m)) / ((a + b) * math.Ln2)
	rec := &datasets.Recording{CellIDs: []int{0}, FrameRate: 100}
	pred := make([]float32, T-h)
	for i := range pred {
		pred[i] = float32([]float64{a, b}[i%2] * rec.FrameRate)
	}
	rec.Test.Repeats = [][][]float32{make([][]float32, reps)}
	for _, c := range []struct {
		trials  int
		perBin  float64
		wantNaN bool
	}{{1, 1, false}, {reps, reps, false}, {0, 1, true}} {
		rec.Test.Counts = datasets.NewMatrix(T, 1)
		for i := h; i < T; i++ {
			rec.Test.Counts.Data[i] = float32([]float64{a, b}[(i-h)%2] * c.perBin)
		}
		rec.Test.CountTrials = c.trials
		got := bits(pred, rec, 0, h, 1/rec.FrameRate)
		if c.wantNaN != math.IsNaN(got) || (!c.wantNaN && math.Abs(got-want) > 1e-6) {
			t.Errorf("counts of %d trials: %v bits/spike, want %v", c.trials, got, map[bool]any{true: "NaN", false: want}[c.wantNaN])
		}
	}
}

// The table labels the model's own column by what the model is: an LN run has no "CNN r".
func TestWriteTableLabelsLNRuns(t *testing.T) {
	ev := &Evaluation{Model: "LN", Cells: []int{1}, CNNPearson: []float64{0.5}, Ceiling: []float64{0.8}, FEV: []float64{0.3},
		BitsPerSpike: []float64{0.1}, CNNPearsonMean: 0.5, CeilingMean: 0.8, FEVMean: 0.3}
	var buf bytes.Buffer
	_ = ev.WriteTable(&buf)
	if strings.Contains(buf.String(), "CNN") || !strings.Contains(buf.String(), "LN r") {
		t.Errorf("LN run table:\n%s", buf.String())
	}
	ev.Model = "BNCNN"
	buf.Reset()
	_ = ev.WriteTable(&buf)
	if !strings.Contains(buf.String(), "CNN r") {
		t.Errorf("CNN run table:\n%s", buf.String())
	}
}
