package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/metrics"
	"github.com/deepretina/deepretina/retina"
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
	return &datasets.Recording{Expt: "toy", Stim: datasets.WhiteNoise, CellIDs: []int{3, 8}, FrameRate: 100,
		Train: split(1500, 1), Test: split(300, 4), Provenance: "toy"}
}

func TestEvaluateWiresEveryMetric(t *testing.T) {
	rec := recordingWithRepeats()
	cfg := retina.SmallConfig()
	cfg.ExpName, cfg.Dataset = "toy", "toy"
	cfg.ImgShape, cfg.KSizes, cfg.Chans = []int{4, 6, 6}, []int{3, 3}, []int{2, 2}
	cfg.BatchSize, cfg.NEpochs, cfg.LR = 32, 1, 5e-3
	backend, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := retina.Train(context.Background(), cfg, dir, retina.TrainOptions{Data: rec, Backend: backend}); err != nil {
		t.Fatal(err)
	}
	model, err := retina.LoadModel(dir, retina.LoadOptions{Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
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
	want := metrics.Pearson(metrics.Column(pred.Data, 2, 1), metrics.Column(rec.Test.Rates.Data, 2, 1)[4:])
	if math.Abs(ev.CNNPearson[1]-want) > 1e-12 {
		t.Errorf("cnn_pearson[1] = %v, want %v", ev.CNNPearson[1], want)
	}
	reps := [][]float32{}
	for _, r := range rec.Test.Repeats[0] {
		reps = append(reps, r[4:])
	}
	if c := metrics.SplitHalfReliability(reps); math.Abs(ev.Ceiling[0]-c) > 1e-12 || c < 0.5 {
		t.Errorf("ceiling[0] = %v, want %v (> 0.5)", ev.Ceiling[0], c)
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
	rec.Test.Repeats = nil
	if _, err := Evaluate(model, nil, "", rec); err == nil {
		t.Error("evaluating without repeats gave no error")
	}
}
