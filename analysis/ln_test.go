package analysis

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/metrics"
)

// lnCell simulates a true LN cell: rate = 5·max(0, k·x)+1 with a known filter k on one pixel
// two frames back, driven by Gaussian white noise.
func lnCell(seed uint64, T int) (*datasets.Windows, []float32) {
	const H, W, hist = 4, 4, 3
	rng := rand.New(rand.NewPCG(seed, 1))
	stim := datasets.NewMovie(T, H, W)
	for i := range stim.Data {
		stim.Data[i] = float32(rng.NormFloat64())
	}
	rates := datasets.NewMatrix(T, 1)
	for t := hist; t < T; t++ {
		g := stim.Frame(t - 2)[1*W+2] - 0.5*stim.Frame(t - 1)[1*W+2]
		rates.Set(t, 0, float32(5*math.Max(0, float64(g))+1))
	}
	w, _ := datasets.NewWindows(stim, datasets.NormStats{Mean: 0, Std: 1}, rates, hist)
	// The true filter in window coordinates [hist, H, W]: frame index hist-2 is t-2.
	k := make([]float32, hist*H*W)
	k[(hist-2)*H*W+1*W+2] = 1
	k[(hist-1)*H*W+1*W+2] = -0.5
	return w, k
}

func TestClassicalLNRecoversFilterAndPredicts(t *testing.T) {
	train, k := lnCell(1, 20000)
	ln, err := FitClassicalLN(train, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := metrics.Pearson(ln.Filters[0], k); err != nil || r < 0.95 {
		t.Errorf("STA correlates %.3f with the true filter, want > 0.95", r)
	}
	// The binned nonlinearity is increasing, as the true rectifier is.
	ys := ln.BinY[0]
	if ys[len(ys)-1] <= ys[0]+5 {
		t.Errorf("nonlinearity not increasing: %v", ys)
	}
	test, _ := lnCell(2, 3000)
	pred, err := ln.Predict(test)
	if err != nil {
		t.Fatal(err)
	}
	target := make([]float32, test.Len())
	for i := range target {
		test.CopyY(target[i:i+1], i)
	}
	if r, err := metrics.Pearson(pred.Data, target); err != nil || r < 0.9 {
		t.Errorf("LN prediction of an LN cell correlates only %.3f", r)
	}
	// Subsampling bounds the cost but still finds the filter.
	sub, err := FitClassicalLN(train, nil, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := metrics.Pearson(sub.Filters[0], k); err != nil || r < 0.9 {
		t.Errorf("subsampled STA correlates %.3f", r)
	}
	// Windows of another shape are refused.
	other, _ := datasets.NewWindows(datasets.NewMovie(10, 5, 5), datasets.NormStats{Std: 1}, datasets.Matrix{}, 3)
	if _, err := ln.Predict(other); err == nil {
		t.Error("prediction on other-shaped windows gave no error")
	}
}

func TestInterpolate(t *testing.T) {
	xs, ys := []float64{0, 1, 3}, []float64{0, 10, 30}
	for _, c := range []struct{ x, want float64 }{{-1, 0}, {0.5, 5}, {2, 20}, {5, 30}} {
		if got := interpolate(xs, ys, c.x); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("interpolate(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}
