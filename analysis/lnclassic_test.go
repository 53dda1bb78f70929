package analysis

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepretina/deepretina/datasets"
)

// plantedWindows is Gaussian white noise [T, 4, 4] seen through windows of 3 frames, and two
// unit-norm filters in window layout: k (a biphasic pixel) and q (a pixel pair, orthogonal to k).
func plantedWindows(seed uint64, T int) (*datasets.Windows, []float64, []float64) {
	const H, W, hist = 4, 4, 3
	rng := rand.New(rand.NewPCG(seed, 7))
	stim := datasets.NewMovie(T, H, W)
	for i := range stim.Data {
		stim.Data[i] = float32(rng.NormFloat64())
	}
	w, _ := datasets.NewWindows(stim, datasets.NormStats{Mean: 0, Std: 1}, datasets.Matrix{}, hist)
	k := make([]float64, hist*H*W)
	k[1*H*W+1*W+1], k[2*H*W+1*W+1] = 0.6, -0.8
	q := make([]float64, hist*H*W)
	q[2*H*W+2*W+2], q[2*H*W+2*W+3] = math.Sqrt(0.5), math.Sqrt(0.5)
	return w, k, q
}

// TestSTAAndNonlinearityOfPlantedLN: spikes drawn from rate = 2 + 6·softplus(1.5·(k·x − 0.3))
// give an STA along k and a fitted softplus close to the planted one.
func TestSTAAndNonlinearityOfPlantedLN(t *testing.T) {
	w, k, _ := plantedWindows(1, 40000)
	truth := SoftplusNonlinearity{Baseline: 2, Gain: 6, Slope: 1.5, Threshold: 0.3}
	g, err := Generator(w, k)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	counts, rates := make([]float64, w.Len()), make([]float64, w.Len())
	for i, x := range g {
		rates[i] = truth.At(x)
		counts[i] = float64(poissonDraw(rates[i]*0.1, rng)) // 10 ms bins
	}
	sta, err := SpikeTriggeredAverage(w, counts)
	if err != nil {
		t.Fatal(err)
	}
	if cs := cosine(sta, k); cs < 0.97 {
		t.Errorf("STA vs the planted filter: cosine %v", cs)
	}
	ln, err := FitLN(w, rates, 30)
	if err != nil {
		t.Fatal(err)
	}
	if cs := cosine(ln.Filter, k); cs < 0.99 {
		t.Errorf("LN filter vs the planted filter: cosine %v", cs)
	}
	// The filter is k up to its norm (1 for both): compare the curves on the generator's range.
	for _, x := range []float64{-1.5, -0.5, 0, 0.5, 1.5} {
		if d := math.Abs(ln.Parametric.At(x) - truth.At(x)); d > 0.15 {
			t.Errorf("softplus fit at %v: %v, truth %v (fit %+v)", x, ln.Parametric.At(x), truth.At(x), ln.Parametric)
		}
		if d := math.Abs(ln.Binned.At(x) - truth.At(x)); d > 0.3 {
			t.Errorf("binned nonlinearity at %v: %v, truth %v", x, ln.Binned.At(x), truth.At(x))
		}
	}
	if ln.Parametric.R2 < 0.99 {
		t.Errorf("softplus fit R² %v", ln.Parametric.R2)
	}
	if _, err := SpikeTriggeredAverage(w, make([]float64, w.Len())); err == nil {
		t.Error("no spikes: no error")
	}
}

func poissonDraw(m float64, rng *rand.Rand) int {
	l, k, p := math.Exp(-m), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// TestSTCFindsPlantedEnergyDirections: a response that grows with (q·x)² and shrinks with
// (k·x)² has no STA, but the STC's largest eigenvalue's eigenvector is ±q and its smallest ±k.
func TestSTCFindsPlantedEnergyDirections(t *testing.T) {
	w, k, q := plantedWindows(3, 30000)
	gk, _ := Generator(w, k)
	gq, _ := Generator(w, q)
	y := make([]float64, w.Len())
	for i := range y {
		y[i] = gq[i] * gq[i] / (1 + 0.5*gk[i]*gk[i])
	}
	stc, err := SpikeTriggeredCovariance(w, y, STCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := len(stc.Eigenvalues)
	if n != len(k) {
		t.Fatalf("%d eigenvalues, want %d", n, len(k))
	}
	if cs := math.Abs(cosine(stc.Eigenvectors[0], q)); cs < 0.98 || stc.Eigenvalues[0] <= 0 {
		t.Errorf("top STC direction vs q: |cosine| %v, eigenvalue %v", cs, stc.Eigenvalues[0])
	}
	if cs := math.Abs(cosine(stc.Eigenvectors[n-1], k)); cs < 0.95 || stc.Eigenvalues[n-1] >= 0 {
		t.Errorf("bottom STC direction vs k: |cosine| %v, eigenvalue %v", cs, stc.Eigenvalues[n-1])
	}
	var staNorm float64
	for _, v := range stc.STA {
		staNorm += v * v
	}
	if math.Sqrt(staNorm) > 0.1 {
		t.Errorf("a symmetric response has an STA of norm %v", math.Sqrt(staNorm))
	}
	// The sub-window: the last frame, pixels (2, 2) and (2, 3) only.
	sub, err := SpikeTriggeredCovariance(w, y, STCOptions{Frames: 1, Crop: [4]int{2, 2, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Eigenvalues) != 2 || math.Abs(math.Abs(sub.Eigenvectors[0][0])-math.Sqrt(0.5)) > 0.05 {
		t.Errorf("cropped STC: eigenvalues %v, top vector %v; want q's two pixels", sub.Eigenvalues, sub.Eigenvectors[0])
	}
	if _, err := SpikeTriggeredCovariance(w, y, STCOptions{Crop: [4]int{3, 3, 2, 2}}); err == nil {
		t.Error("a crop outside the frame: no error")
	}
}
