package analysis

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/torchio"
)

// lnModel is an untrained LN model (dense → softplus) with 2 cells on a [4, 5, 6] input, and
// its dense kernel per cell in window layout [History·H·W].
func lnModel(t *testing.T) (*retina.Model, [][]float64) {
	t.Helper()
	mcfg := nn.ModelConfig{Type: nn.ModelLN, NCells: 2, ImgShape: [3]int{4, 5, 6}}
	m, err := retina.NewModel(mcfg, datasets.NormStats{Mean: 0.5, Std: 2}, 3, retina.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := torchio.ExportStateDict(m.Scope().At(retina.ModelScope), mcfg)
	if err != nil {
		t.Fatal(err)
	}
	w, ok := sd["sequential.1.weight"]
	if !ok {
		t.Fatalf("LN state dict has no sequential.1.weight: %v", sd)
	}
	var flatW []float32
	w.ConstFlatData(func(f any) { flatW = append(flatW, f.([]float32)...) })
	size := 4 * 5 * 6
	k := make([][]float64, 2)
	for c := range k {
		k[c] = Float64s(flatW[c*size : (c+1)*size]) // PyTorch layout [out, in]
	}
	return m, k
}

func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb)
}

// TestGradientRFOfLinearModelIsItsKernel: the LN model's rate is softplus(k·x + b), whose
// gradient is σ(k·x + b)·k: averaged over noise, the kernel times a positive number, the same
// for every pixel.
func TestGradientRFOfLinearModelIsItsKernel(t *testing.T) {
	m, k := lnModel(t)
	for c := range k {
		rf, err := GradientRF(m, Ganglion(c), RFOptions{Samples: 128, Batch: 32, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		if rf.History != 4 || rf.H != 5 || rf.W != 6 || len(rf.Data) != 120 {
			t.Fatalf("RF shape %d×%d×%d (%d values)", rf.History, rf.H, rf.W, len(rf.Data))
		}
		// One scale for every entry: the mean of σ(k·x + b) over the noise.
		var scale float64
		for i := range k[c] {
			scale += rf.Data[i] * k[c][i]
		}
		var kk float64
		for _, v := range k[c] {
			kk += v * v
		}
		scale /= kk
		if !(scale > 0 && scale < 1) {
			t.Fatalf("cell %d: scale %v, want the mean of a sigmoid, in (0, 1)", c, scale)
		}
		for i, v := range rf.Data {
			if d := math.Abs(v - scale*k[c][i]); d > 1e-5*math.Abs(scale)*math.Sqrt(kk) {
				t.Fatalf("cell %d, entry %d: gradient RF %v, want %v × kernel %v = %v", c, i, v, scale, k[c][i], scale*k[c][i])
			}
		}
		// Reverse correlation recovers the same filter, up to sampling noise.
		rc, err := ReverseCorrelationRF(m, Ganglion(c), RFOptions{Samples: 6000, Seed: 6})
		if err != nil {
			t.Fatal(err)
		}
		if cs := cosine(rc.Data, k[c]); cs < 0.95 {
			t.Errorf("cell %d: reverse-correlation RF vs kernel: cosine %v, want ≥ 0.95", c, cs)
		}
	}
	if _, err := GradientRF(m, Ganglion(2), RFOptions{}); err == nil {
		t.Error("cell 2 of a 2-cell model: no error")
	}
	if _, err := GradientRF(m, Unit("conv1", 0, 0, 0), RFOptions{}); err == nil {
		t.Error("a hidden unit of an LN model: no error")
	}
}

// tinyCNN is an untrained BNCNN with small shapes.
func tinyCNN(t *testing.T, typ string) *retina.Model {
	t.Helper()
	mcfg := nn.ModelConfig{Type: typ, NCells: 2, ImgShape: [3]int{5, 9, 9}, Chans: []int{3, 4},
		KSizes: []int{3, 5}, BNMomentum: nn.DefaultBNMomentum, BNEps: nn.DefaultBNEps}
	m, err := retina.NewModel(mcfg, datasets.NormStats{Mean: 0, Std: 1}, 11, retina.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGradientRFMatchesFiniteDifferences checks the gradient of hidden units and a ganglion
// cell of a CNN at one noise window against central finite differences of the model's own
// forward pass (model.Hidden / model.Predict).
func TestGradientRFMatchesFiniteDifferences(t *testing.T) {
	m := tinyCNN(t, nn.ModelBNCNN)
	in := InputOf(m)
	size := in.History * in.H * in.W
	for _, tgt := range []Target{Ganglion(1), {Layer: "conv1", Channel: 2, Row: 3, Col: 4, PreNonlinearity: true}, Unit("conv2", 1, 1, 0)} {
		value := func(x []float32) float64 {
			movie := datasets.NewMovie(in.History+1, in.H, in.W)
			copy(movie.Data, x)
			r, err := targetResponse(m, tgt, movie)
			if err != nil {
				t.Fatal(err)
			}
			return r[0]
		}
		// The window GradientRF draws, as a movie of History+1 frames (one window): the first
		// seed whose window drives the unit (past a ReLU, a silent unit has no gradient).
		// After a ReLU some channels of an untrained model may be silent for any input: the
		// search moves on to the next channel then.
		opts := RFOptions{Samples: 1, Batch: 1}
		x := make([]float32, size)
	search:
		for tries := 0; tries < 8; tries++ {
			for seed := uint64(9); seed < 30; seed++ {
				opts.Seed = seed
				NoiseWindows(x, 1, false, rand.New(rand.NewPCG(opts.Seed, 0x5EED)))
				if value(x) > 0.05 {
					break search
				}
			}
			if tgt.Layer != "" {
				tgt.Channel = (tgt.Channel + 1) % m.Meta.Model.Chans[layerIndex(tgt.Layer)]
			}
		}
		rf, err := GradientRF(m, tgt, opts)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 1))
		checked := 0
		for n := 0; n < 400 && checked < 12; n++ {
			i := rng.IntN(size)
			const eps = 1e-2
			xp, xm := append([]float32(nil), x...), append([]float32(nil), x...)
			xp[i] += eps
			xm[i] -= eps
			fd := (value(xp) - value(xm)) / (2 * eps)
			if fd == 0 && rf.Data[i] == 0 {
				continue // outside the unit's receptive field
			}
			checked++
			if math.Abs(fd-rf.Data[i]) > 2e-3+0.02*math.Abs(fd) {
				t.Errorf("%s, input %d: gradient %v, finite difference %v", tgt, i, rf.Data[i], fd)
			}
		}
		if checked < 5 {
			t.Errorf("%s: only %d inputs inside the receptive field checked", tgt, checked)
		}
	}
}

func TestRank1RecoversSeparableField(t *testing.T) {
	const T, H, W = 6, 4, 5
	temporal := []float64{0, 0.2, -0.5, 1, -2, 0.5}
	spatial := make([]float64, H*W)
	for p := range spatial {
		spatial[p] = math.Exp(-float64((p/W-2)*(p/W-2)+(p%W-1)*(p%W-1)) / 2)
	}
	data := make([]float64, T*H*W)
	for k := 0; k < T; k++ {
		for p := range spatial {
			data[k*H*W+p] = -3 * temporal[k] * spatial[p]
		}
	}
	st, err := Rank1(data, T, H*W)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(st.Explained-1) > 1e-9 {
		t.Errorf("explained %v, want 1 for a separable field", st.Explained)
	}
	if cs := cosine(st.Spatial, spatial); cs < 1-1e-9 {
		t.Errorf("spatial part: cosine %v with the planted one (its peak must come out positive)", cs)
	}
	for k := range temporal {
		for p := range spatial {
			if d := st.Temporal[k]*st.Spatial[p] - data[k*H*W+p]; math.Abs(d) > 1e-9 {
				t.Fatalf("temporal × spatial differs from the field at (%d, %d) by %v", k, p, d)
			}
		}
	}
	// A non-separable field explains less.
	data[3] += 5
	if st, _ := Rank1(data, T, H*W); st.Explained > 0.99 {
		t.Errorf("non-separable field: explained %v", st.Explained)
	}
}

func TestFitGaussian2DRecoversPlantedGaussian(t *testing.T) {
	want := Gaussian2D{Amplitude: -1.5, Offset: 0.1, CentreY: 7.3, CentreX: 5.8, SigmaU: 2.5, SigmaV: 1.2, Angle: 0.6}
	const H, W = 16, 14
	rng := rand.New(rand.NewPCG(2, 2))
	img := make([]float64, H*W)
	for i := range img {
		img[i] = want.At(float64(i/W), float64(i%W)) + 0.01*rng.NormFloat64()
	}
	got, err := FitGaussian2D(img, H, W)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"amplitude", got.Amplitude, want.Amplitude, 0.05},
		{"offset", got.Offset, want.Offset, 0.01},
		{"centre y", got.CentreY, want.CentreY, 0.05},
		{"centre x", got.CentreX, want.CentreX, 0.05},
		{"sigma u", got.SigmaU, want.SigmaU, 0.05},
		{"sigma v", got.SigmaV, want.SigmaV, 0.05},
		{"angle", got.Angle, want.Angle, 0.03},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s: %v, want %v ± %v", c.name, c.got, c.want, c.tol)
		}
	}
	if got.R2 < 0.99 {
		t.Errorf("R² %v", got.R2)
	}
	if _, err := FitGaussian2D(make([]float64, 12), 3, 4); err == nil {
		t.Error("a constant map: no error")
	}
}

// TestMaximizeTargetOfLinearModel: under a norm constraint, the input that maximises
// softplus(k·x + b) is k scaled to the norm.
func TestMaximizeTargetOfLinearModel(t *testing.T) {
	m, k := lnModel(t)
	opt, err := MaximizeTarget(m, Ganglion(1), OptimizeOptions{Steps: 60, Norm: 5})
	if err != nil {
		t.Fatal(err)
	}
	if cs := cosine(opt.Stimulus, k[1]); cs < 0.999 {
		t.Errorf("optimal stimulus vs kernel: cosine %v", cs)
	}
	var n float64
	for _, v := range opt.Stimulus {
		n += v * v
	}
	if math.Abs(math.Sqrt(n)-5) > 1e-3 {
		t.Errorf("norm %v, want 5", math.Sqrt(n))
	}
	if len(opt.Values) != 61 || !(opt.Values[60] > opt.Values[0]) {
		t.Errorf("responses along the ascent: %d values, first %v last %v", len(opt.Values), opt.Values[0], opt.Values[len(opt.Values)-1])
	}
	// Temporal smoothing keeps every pixel's time course smooth.
	sm, err := MaximizeTarget(m, Ganglion(1), OptimizeOptions{Steps: 30, Norm: 5, SmoothFrames: 1.5})
	if err != nil {
		t.Fatal(err)
	}
	if rough(sm.Stimulus, 4, 30) >= rough(opt.Stimulus, 4, 30) {
		t.Errorf("smoothing did not reduce frame-to-frame change: %v vs %v", rough(sm.Stimulus, 4, 30), rough(opt.Stimulus, 4, 30))
	}
}

// rough is the mean squared frame-to-frame difference over the norm.
func rough(x []float64, frames, pixels int) float64 {
	var d, n float64
	for f := 1; f < frames; f++ {
		for p := 0; p < pixels; p++ {
			v := x[f*pixels+p] - x[(f-1)*pixels+p]
			d += v * v
		}
	}
	for _, v := range x {
		n += v * v
	}
	return d / n
}

// TestPeakPixel: the peak is where a 3×3 neighbourhood holds the most energy over time, so a
// blob of moderate pixels beats one larger isolated pixel; energy sums the squares.
func TestPeakPixel(t *testing.T) {
	const history, h, w = 2, 5, 6
	for _, c := range []struct {
		name       string
		set        map[[3]int]float64 // [k, y, x] → value
		wantPixel  int
		wantEnergy float64
	}{
		{"one pixel", map[[3]int]float64{{1, 2, 3}: -2}, 1*w + 2, 4},                                                                  // the first of the equal neighbourhoods holding (2, 3)
		{"blob beats a spike", map[[3]int]float64{{0, 0, 5}: 3, {0, 3, 1}: 2, {1, 3, 1}: 1, {0, 4, 1}: 2, {1, 3, 2}: 1}, 3*w + 1, 10}, // 2²+1²+2²+1² around (3, 1) beats 3² at (0, 5)
		{"corner", map[[3]int]float64{{0, 0, 0}: 1, {1, 0, 1}: 1, {0, 1, 0}: 1}, 0, 3},
	} {
		rc := make([]float64, history*h*w)
		for k, v := range c.set {
			rc[k[0]*h*w+k[1]*w+k[2]] = v
		}
		p, e := PeakPixel(rc, history, h, w)
		if p != c.wantPixel || e != c.wantEnergy {
			t.Errorf("%s: pixel %d (y %d x %d), energy %g; want %d, %g", c.name, p, p/w, p%w, e, c.wantPixel, c.wantEnergy)
		}
	}
}
