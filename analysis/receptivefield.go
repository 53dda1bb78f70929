package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"
	"gonum.org/v1/gonum/mat"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina"
)

// RFOptions configure the white noise from which receptive fields are mapped.
type RFOptions struct {
	Samples  int     // white-noise windows (default 2048; rounded up to whole batches for gradients)
	Contrast float64 // SD of the noise in the model's z-scored units (default 1)
	Binary   bool    // ±Contrast per pixel and frame instead of Gaussian
	Seed     uint64  // the noise's seed (default 0 is a valid seed)
	Batch    int     // windows per compiled step (default 64)
}

func (o RFOptions) withDefaults() RFOptions {
	if o.Samples <= 0 {
		o.Samples = 2048
	}
	if !(o.Contrast > 0) {
		o.Contrast = 1
	}
	if o.Batch <= 0 {
		o.Batch = 64
	}
	return o
}

// ReceptiveField is a spatiotemporal receptive field in the layout of the model's input
// windows.
//
//	Data: [History, H, W] float64, oldest frame first (the last frame is the one just before
//	the response)
type ReceptiveField struct {
	Target        Target
	Method        string // "gradient" or "reverse correlation"
	History, H, W int
	Data          []float64
}

// Frame returns frame k of the receptive field, [H·W] (k = History−1 is the most recent).
func (rf *ReceptiveField) Frame(k int) []float64 {
	n := rf.H * rf.W
	return rf.Data[k*n : (k+1)*n]
}

// GradientRF maps the receptive field of target t as the mean, over white-noise windows, of the
// gradient of its response with respect to the (z-scored) input: for a linear unit that is its
// kernel; for a nonlinear one, the kernel of its average linearisation.
func GradientRF(m *retina.Model, t Target, opts RFOptions) (*ReceptiveField, error) {
	if err := t.check(m.Meta.Model); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	in := InputOf(m)
	exec, err := newModelExec(m, func(ctx *model.Scope, x *Node) *Node {
		v := t.node(forward(ctx, m, x))
		return ReduceSum(Gradient(ReduceAllSum(v), x)[0], 0) // [History, H, W], summed over the batch
	})
	if err != nil {
		return nil, fmt.Errorf("gradient receptive field of %s: %w", t, err)
	}
	size := in.History * in.H * in.W
	sum := make([]float64, size)
	x := make([]float32, opts.Batch*size)
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5EED))
	batches := (opts.Samples + opts.Batch - 1) / opts.Batch
	for b := 0; b < batches; b++ {
		NoiseWindows(x, opts.Contrast, opts.Binary, rng)
		res, err := exec.Exec(windowsTensor(x, opts.Batch, in))
		if err != nil {
			return nil, fmt.Errorf("gradient receptive field of %s: %w", t, err)
		}
		g, err := flat(res[0])
		if err != nil {
			return nil, err
		}
		for i, v := range g {
			sum[i] += float64(v)
		}
	}
	n := float64(batches * opts.Batch)
	for i := range sum {
		sum[i] /= n
	}
	return &ReceptiveField{Target: t, Method: "gradient", History: in.History, H: in.H, W: in.W, Data: sum}, nil
}

// ReverseCorrelationRF maps the receptive field of target t by reverse correlation: the
// average of the z-scored white-noise windows weighted by the response minus its mean
// (ReverseCorrelation), from a white-noise movie of opts.Samples + History frames.
func ReverseCorrelationRF(m *retina.Model, t Target, opts RFOptions) (*ReceptiveField, error) {
	if err := t.check(m.Meta.Model); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	in := InputOf(m)
	movie := datasets.NewMovie(opts.Samples+in.History, in.H, in.W)
	NoiseWindows(movie.Data, opts.Contrast, opts.Binary, rand.New(rand.NewPCG(opts.Seed, 0x5EED)))
	for i, z := range movie.Data {
		movie.Data[i] = in.Raw(z)
	}
	resp, err := targetResponse(m, t, movie)
	if err != nil {
		return nil, err
	}
	w, err := m.Windows(movie, datasets.Matrix{})
	if err != nil {
		return nil, err
	}
	sta, err := ReverseCorrelation(w, Centred(resp))
	if err != nil {
		return nil, fmt.Errorf("reverse correlation of %s: %w", t, err)
	}
	return &ReceptiveField{Target: t, Method: "reverse correlation", History: in.History, H: in.H, W: in.W, Data: sta}, nil
}

// targetResponse is the response of t to a raw movie, one value per window.
func targetResponse(m *retina.Model, t Target, movie datasets.Movie) ([]float64, error) {
	if t.Layer == "" {
		rates, err := m.Predict(movie)
		if err != nil {
			return nil, err
		}
		return Float64s(rates.Column(t.Cell)), nil
	}
	acts, err := m.Hidden(movie, retina.HiddenOptions{Layers: []string{t.Layer}, PreNonlinearity: t.PreNonlinearity})
	if err != nil {
		return nil, err
	}
	return Float64s(acts[0].Unit(t.Channel, t.Row, t.Col)), nil
}

func Float64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// Centred returns x minus its mean.
func Centred(x []float64) []float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	m := s / float64(len(x))
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v - m
	}
	return out
}

// SpaceTime is the rank-1 (separable) approximation of a receptive field:
// Data[k, p] ≈ Temporal[k] · Spatial[p].
type SpaceTime struct {
	Spatial  []float64 // [H·W], unit norm; its entry of largest magnitude is positive
	Temporal []float64 // [History], oldest first, carrying the scale and the polarity
	// Explained is the fraction of the receptive field's energy the rank-1 part holds
	// (σ₁² / Σσ²): 1 for a separable field.
	Explained float64
}

// Decompose splits the receptive field into spatial and temporal parts by a rank-1 singular
// value decomposition of its [History, H·W] matrix.
func (rf *ReceptiveField) Decompose() (SpaceTime, error) {
	return Rank1(rf.Data, rf.History, rf.H*rf.W)
}

// Rank1 is the rank-1 decomposition of a [rows, cols] row-major matrix (rows = time, cols =
// space), as ReceptiveField.Decompose.
func Rank1(data []float64, rows, cols int) (SpaceTime, error) {
	if rows < 1 || cols < 1 || len(data) != rows*cols {
		return SpaceTime{}, fmt.Errorf("rank-1 decomposition: %d values for a %d×%d matrix", len(data), rows, cols)
	}
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(rows, cols, append([]float64(nil), data...)), mat.SVDThin) {
		return SpaceTime{}, fmt.Errorf("rank-1 decomposition: the SVD did not converge")
	}
	s := svd.Values(nil)
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	st := SpaceTime{Spatial: make([]float64, cols), Temporal: make([]float64, rows)}
	var total float64
	for _, x := range s {
		total += x * x
	}
	if total == 0 {
		return st, fmt.Errorf("rank-1 decomposition: the receptive field is zero")
	}
	st.Explained = s[0] * s[0] / total
	peak := 0
	for p := 0; p < cols; p++ {
		st.Spatial[p] = v.At(p, 0)
		if math.Abs(st.Spatial[p]) > math.Abs(st.Spatial[peak]) {
			peak = p
		}
	}
	sign := 1.0
	if st.Spatial[peak] < 0 {
		sign = -1
	}
	for p := range st.Spatial {
		st.Spatial[p] *= sign
	}
	for k := 0; k < rows; k++ {
		st.Temporal[k] = sign * s[0] * u.At(k, 0)
	}
	return st, nil
}

// Gaussian2D is an elliptical Gaussian on the pixel grid:
//
//	f(y, x) = Offset + Amplitude · exp(−½ (u²/SigmaU² + v²/SigmaV²)),
//	u = (x−CentreX)·cos Angle + (y−CentreY)·sin Angle,  v = −(x−CentreX)·sin Angle + (y−CentreY)·cos Angle
type Gaussian2D struct {
	Amplitude, Offset float64
	CentreY, CentreX  float64 // pixels; pixel (0, 0) is centred at (0, 0)
	SigmaU, SigmaV    float64 // pixels, SDs along the ellipse's axes
	Angle             float64 // radians, of the U axis from the x (column) axis
	R2                float64 // fraction of the map's variance the fit explains
}

// Sigma is the geometric mean of the two SDs: the fit's size in pixels.
func (g Gaussian2D) Sigma() float64 { return math.Sqrt(g.SigmaU * g.SigmaV) }

// At evaluates the Gaussian at pixel (y, x).
func (g Gaussian2D) At(y, x float64) float64 {
	dy, dx := y-g.CentreY, x-g.CentreX
	c, s := math.Cos(g.Angle), math.Sin(g.Angle)
	u, v := dx*c+dy*s, -dx*s+dy*c
	return g.Offset + g.Amplitude*math.Exp(-0.5*(u*u/(g.SigmaU*g.SigmaU)+v*v/(g.SigmaV*g.SigmaV)))
}

// FitGaussian2D fits an elliptical Gaussian (with offset) to a spatial map [h·w] by least
// squares (Nelder–Mead), started from the moments of the map around its largest-magnitude
// pixel. The sign of Amplitude is the map's polarity there.
func FitGaussian2D(img []float64, h, w int) (Gaussian2D, error) {
	if h < 2 || w < 2 || len(img) != h*w {
		return Gaussian2D{}, fmt.Errorf("gaussian fit: %d values for a %d×%d map (at least 2×2)", len(img), h, w)
	}
	peak := 0
	var mean float64
	for i, v := range img {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Gaussian2D{}, fmt.Errorf("gaussian fit: value %v at pixel (%d, %d)", v, i/w, i%w)
		}
		mean += v
		if math.Abs(v) > math.Abs(img[peak]) {
			peak = i
		}
	}
	mean /= float64(len(img))
	var ss float64
	for _, v := range img {
		ss += (v - mean) * (v - mean)
	}
	if ss == 0 {
		return Gaussian2D{}, fmt.Errorf("gaussian fit: the map is constant")
	}
	amp := img[peak]
	// Moments of the map's part with the peak's sign, within 3 px of the peak.
	py, px := float64(peak/w), float64(peak%w)
	var sw, sy, sx, syy, sxx float64
	for i, v := range img {
		y, x := float64(i/w), float64(i%w)
		if a := v * math.Copysign(1, amp); a > 0 && math.Hypot(y-py, x-px) <= 3 {
			sw += a
			sy += a * y
			sx += a * x
			syy += a * y * y
			sxx += a * x * x
		}
	}
	cy, cx := sy/sw, sx/sw
	sig := math.Sqrt(math.Max((syy/sw-cy*cy+sxx/sw-cx*cx)/2, 0.25))
	loss := func(p []float64) float64 {
		g := gaussianOf(p)
		var e float64
		for i, v := range img {
			d := v - g.At(float64(i/w), float64(i%w))
			e += d * d
		}
		return e
	}
	start := []float64{amp, 0, cy, cx, math.Log(sig), math.Log(sig), 0}
	best, f := fitRestarts(loss, start)
	g := gaussianOf(best)
	g.R2 = 1 - f/ss
	return g, nil
}

// gaussianOf maps the optimiser's parameters (amplitude, offset, centre y, x, log σu, log σv,
// angle) to a Gaussian2D with the angle in [0, π) and σu ≥ σv.
func gaussianOf(p []float64) Gaussian2D {
	g := Gaussian2D{Amplitude: p[0], Offset: p[1], CentreY: p[2], CentreX: p[3],
		SigmaU: math.Exp(p[4]), SigmaV: math.Exp(p[5]), Angle: p[6]}
	if g.SigmaU < g.SigmaV {
		g.SigmaU, g.SigmaV = g.SigmaV, g.SigmaU
		g.Angle += math.Pi / 2
	}
	g.Angle = math.Mod(g.Angle, math.Pi)
	if g.Angle < 0 {
		g.Angle += math.Pi
	}
	return g
}

// PeakPixel is the pixel whose 3×3 neighbourhood holds the most energy (sum of squares over
// time) of a spatiotemporal filter rc: [history, h·w] row-major, and that energy. It is where
// a receptive field is centred, robust to one noisy pixel.
func PeakPixel(rc []float64, history, h, w int) (pixel int, energy float64) {
	e := make([]float64, h*w)
	for k := range history {
		for p := range e {
			v := rc[k*h*w+p]
			e[p] += v * v
		}
	}
	pixel, energy = 0, math.Inf(-1)
	for p := range e {
		py, px := p/w, p%w
		var s float64
		for yy := max(0, py-1); yy <= min(h-1, py+1); yy++ {
			for xx := max(0, px-1); xx <= min(w-1, px+1); xx++ {
				s += e[yy*w+xx]
			}
		}
		if s > energy {
			pixel, energy = p, s
		}
	}
	return pixel, energy
}
