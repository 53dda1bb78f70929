package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/metrics"
	"github.com/deepretina/deepretina/retina"
)

// Classical linear–nonlinear analysis of a response to a stimulus (a recorded cell, a model's
// cell or unit): spike-triggered average and covariance of the stimulus windows, and the
// static nonlinearity from the filter's output (generator signal) to the response, binned or
// parametric. ClassicalLN (ln.go) puts STA and binned nonlinearity together as a predictor.

// AllWindows is 0 … n−1.
func AllWindows(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// SpikeTriggeredAverage is the response-weighted average of the stimulus windows,
// Σᵢ yᵢ·xᵢ / Σᵢ yᵢ, over every window of w: for spike counts y the classical STA. y has one
// value per window (w.Len()) and must have a positive sum.
//
//	returns [History·H·W], the layout of a window (oldest frame first)
func SpikeTriggeredAverage(w *datasets.Windows, y []float64) ([]float64, error) {
	if len(y) != w.Len() {
		return nil, fmt.Errorf("spike-triggered average: %d responses for %d windows", len(y), w.Len())
	}
	var total float64
	for _, v := range y {
		total += v
	}
	if !(total > 0) {
		return nil, fmt.Errorf("spike-triggered average: the responses sum to %v; expected a positive total (spike counts or rates)", total)
	}
	sta := weightedSum(w, y)
	for i := range sta {
		sta[i] /= total
	}
	return sta, nil
}

// ReverseCorrelation is (1/n) Σᵢ yᵢ·xᵢ over the n windows of w: with y centred (its mean
// removed), the cross-covariance of response and stimulus, which for white noise is
// proportional to the linear filter whatever the response's sign or offset.
func ReverseCorrelation(w *datasets.Windows, y []float64) ([]float64, error) {
	if len(y) != w.Len() {
		return nil, fmt.Errorf("reverse correlation: %d responses for %d windows", len(y), w.Len())
	}
	out := weightedSum(w, y)
	for i := range out {
		out[i] /= float64(len(y))
	}
	return out, nil
}

func weightedSum(w *datasets.Windows, y []float64) []float64 {
	out := make([]float64, w.XSize())
	x := make([]float32, w.XSize())
	for i, yi := range y {
		if yi == 0 {
			continue
		}
		w.CopyX(x, i)
		for k, v := range x {
			out[k] += yi * float64(v)
		}
	}
	return out
}

// Generator projects every window of w on filter ([History·H·W]): the linear stage's output.
func Generator(w *datasets.Windows, filter []float64) ([]float64, error) {
	if len(filter) != w.XSize() {
		return nil, fmt.Errorf("generator: filter of %d values for windows of %d", len(filter), w.XSize())
	}
	out := make([]float64, w.Len())
	x := make([]float32, w.XSize())
	for i := range out {
		w.CopyX(x, i)
		var s float64
		for k, v := range x {
			s += float64(v) * filter[k]
		}
		out[i] = s
	}
	return out, nil
}

// STCOptions restrict the spike-triggered covariance to a sub-window, since its matrix has
// (History·H·W)² entries.
type STCOptions struct {
	Frames int // the most recent Frames frames of each window (0: all)
	// Crop is the pixel rectangle [y0, x0, height, width] (zero: the whole frame).
	Crop [4]int
}

// maxSTCDim bounds the dimension of a spike-triggered covariance (a 2500² matrix is 50 MB).
const maxSTCDim = 2500

// STC is the spike-triggered covariance analysis of a response.
type STC struct {
	Frames, Y0, X0, H, W int       // the sub-window analysed (frames are its most recent)
	STA                  []float64 // [Frames·H·W] spike-triggered average in the sub-window
	// Eigenvalues of ΔC = C_spike − C_prior, descending, and their eigenvectors (rows,
	// [Frames·H·W] each, unit norm). Large positive values mark excitatory directions
	// (variance raised when the cell responds), large negative ones suppressive directions.
	Eigenvalues  []float64
	Eigenvectors [][]float64
}

// SpikeTriggeredCovariance computes the STC of y (one non-negative weight per window of w,
// positive sum): C_spike = Σᵢ yᵢ (xᵢ−STA)(xᵢ−STA)ᵀ / Σᵢ yᵢ against the stimulus's own
// covariance C_prior, on the sub-window opts selects (at most 2500 dimensions).
func SpikeTriggeredCovariance(w *datasets.Windows, y []float64, opts STCOptions) (*STC, error) {
	if len(y) != w.Len() {
		return nil, fmt.Errorf("spike-triggered covariance: %d responses for %d windows", len(y), w.Len())
	}
	c, err := stcCropOf(w, opts)
	if err != nil {
		return nil, err
	}
	var total float64
	for _, v := range y {
		if v < 0 || math.IsNaN(v) {
			return nil, fmt.Errorf("spike-triggered covariance: response %v; expected non-negative weights (counts or rates)", v)
		}
		total += v
	}
	if !(total > 0) {
		return nil, fmt.Errorf("spike-triggered covariance: the responses sum to 0")
	}
	sta, delta := stcDelta(w, y, total, c)
	res := &STC{Frames: c.frames, Y0: c.y0, X0: c.x0, H: c.h, W: c.w, STA: sta}
	if res.Eigenvalues, res.Eigenvectors, err = descendingEigen(delta); err != nil {
		return nil, fmt.Errorf("spike-triggered covariance: %w", err)
	}
	return res, nil
}

// stcCrop is the sub-window an STC analyses: the most recent frames of each window, within
// rows [y0, y0+h) and columns [x0, x0+w).
type stcCrop struct{ frames, y0, x0, h, w int }

// stcCropOf reads the sub-window from opts (defaults: every frame, the whole field) and checks
// it against w and the dimension bound.
func stcCropOf(w *datasets.Windows, opts STCOptions) (stcCrop, error) {
	frames := opts.Frames
	if frames <= 0 || frames > w.History {
		frames = w.History
	}
	y0, x0, h, wd := opts.Crop[0], opts.Crop[1], opts.Crop[2], opts.Crop[3]
	if h == 0 && wd == 0 {
		y0, x0, h, wd = 0, 0, w.Stim.H, w.Stim.W
	}
	if y0 < 0 || x0 < 0 || h < 1 || wd < 1 || y0+h > w.Stim.H || x0+wd > w.Stim.W {
		return stcCrop{}, fmt.Errorf("spike-triggered covariance: crop %v ([y0, x0, height, width]) is not inside the %d×%d frame", opts.Crop, w.Stim.H, w.Stim.W)
	}
	if d := frames * h * wd; d > maxSTCDim {
		return stcCrop{}, fmt.Errorf("spike-triggered covariance: %d frames × %d×%d pixels = %d dimensions; at most %d (restrict the frames or the crop)", frames, h, wd, d, maxSTCDim)
	}
	return stcCrop{frames, y0, x0, h, wd}, nil
}

// stcDelta returns the STA [frames·h·w] of the sub-window c and ΔC = C_spike − C_prior, with
// y's weights summing to total.
func stcDelta(w *datasets.Windows, y []float64, total float64, c stcCrop) (sta []float64, delta *mat.SymDense) {
	d := c.frames * c.h * c.w
	x := make([]float32, w.XSize())
	sub := make([]float64, d)
	extract := func(i int) {
		w.CopyX(x, i)
		k := 0
		fs := w.Stim.H * w.Stim.W
		for f := w.History - c.frames; f < w.History; f++ {
			for yy := c.y0; yy < c.y0+c.h; yy++ {
				for xx := c.x0; xx < c.x0+c.w; xx++ {
					sub[k] = float64(x[f*fs+yy*w.Stim.W+xx])
					k++
				}
			}
		}
	}
	n := w.Len()
	sta, mu := make([]float64, d), make([]float64, d)
	spike, prior := mat.NewSymDense(d, nil), mat.NewSymDense(d, nil)
	for i := 0; i < n; i++ {
		extract(i)
		for a, v := range sub {
			sta[a] += y[i] * v
			mu[a] += v
		}
	}
	for a := range sta {
		sta[a] /= total
		mu[a] /= float64(n)
	}
	for i := 0; i < n; i++ {
		extract(i)
		for a := 0; a < d; a++ {
			ds, dp := sub[a]-sta[a], sub[a]-mu[a]
			for b := a; b < d; b++ {
				if y[i] != 0 {
					spike.SetSym(a, b, spike.At(a, b)+y[i]*ds*(sub[b]-sta[b]))
				}
				prior.SetSym(a, b, prior.At(a, b)+dp*(sub[b]-mu[b]))
			}
		}
	}
	delta = mat.NewSymDense(d, nil)
	for a := 0; a < d; a++ {
		for b := a; b < d; b++ {
			delta.SetSym(a, b, spike.At(a, b)/total-prior.At(a, b)/float64(n-1))
		}
	}
	return sta, delta
}

// descendingEigen returns the eigenvalues of m, descending, and their unit eigenvectors.
func descendingEigen(m *mat.SymDense) (vals []float64, vecs [][]float64, err error) {
	var eig mat.EigenSym
	if !eig.Factorize(m, true) {
		return nil, nil, fmt.Errorf("the eigen-decomposition did not converge")
	}
	ev := eig.Values(nil)
	var ve mat.Dense
	eig.VectorsTo(&ve)
	d := len(ev)
	order := AllWindows(d)
	sort.Slice(order, func(i, j int) bool { return ev[order[i]] > ev[order[j]] })
	for _, k := range order {
		vals = append(vals, ev[k])
		v := make([]float64, d)
		for a := range v {
			v[a] = ve.At(a, k)
		}
		vecs = append(vecs, v)
	}
	return vals, vecs, nil
}

// BinnedNonlinearity is a static nonlinearity read off data: the mean response in quantile
// bins of the generator signal, interpolated linearly between bin centres (flat beyond).
type BinnedNonlinearity struct {
	X, Y []float64 // bin centres (ascending mean generator) and mean response per bin
}

// FitBinnedNonlinearity bins the generator g into `bins` bins of equal count and averages the
// response y in each.
func FitBinnedNonlinearity(g, y []float64, bins int) (BinnedNonlinearity, error) {
	if len(g) != len(y) || len(g) == 0 {
		return BinnedNonlinearity{}, fmt.Errorf("binned nonlinearity: %d generator values and %d responses", len(g), len(y))
	}
	if bins < 1 {
		return BinnedNonlinearity{}, fmt.Errorf("binned nonlinearity: %d bins; expected at least 1", bins)
	}
	var nl BinnedNonlinearity
	nl.X, nl.Y = metrics.EqualCountBins(g, y, bins)
	return nl, nil
}

// At evaluates the nonlinearity at generator value x.
func (nl BinnedNonlinearity) At(x float64) float64 { return interpolate(nl.X, nl.Y, x) }

// SoftplusNonlinearity is the parametric static nonlinearity
//
//	f(g) = Baseline + Gain · log(1 + exp(Slope·(g − Threshold)))
//
// a smooth rectifier: the shape of both the reference models' output and the simulated
// retina's.
type SoftplusNonlinearity struct {
	Baseline, Gain, Slope, Threshold float64
	R2                               float64 // fraction of the response variance the fit explains
}

// At evaluates the nonlinearity at generator value x.
func (s SoftplusNonlinearity) At(x float64) float64 {
	return s.Baseline + s.Gain*softplus(s.Slope*(x-s.Threshold))
}

func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

// FitSoftplusNonlinearity fits SoftplusNonlinearity to (g, y) by least squares (Nelder–Mead on
// 40 quantile bins, started from the binned curve).
func FitSoftplusNonlinearity(g, y []float64) (SoftplusNonlinearity, error) {
	bn, err := FitBinnedNonlinearity(g, y, 40)
	if err != nil {
		return SoftplusNonlinearity{}, fmt.Errorf("softplus nonlinearity: %w", err)
	}
	n := len(bn.X)
	if n < 4 {
		return SoftplusNonlinearity{}, fmt.Errorf("softplus nonlinearity: %d distinct bins; need at least 4", n)
	}
	lo, hi := bn.Y[0], bn.Y[n-1]
	span := bn.X[n-1] - bn.X[0]
	if span == 0 {
		return SoftplusNonlinearity{}, fmt.Errorf("softplus nonlinearity: the generator signal is constant")
	}
	sign := 1.0
	if hi < lo {
		sign = -1
	}
	var ym float64
	for _, v := range bn.Y {
		ym += v
	}
	ym /= float64(n)
	var ss float64
	for _, v := range bn.Y {
		ss += (v - ym) * (v - ym)
	}
	loss := func(p []float64) float64 {
		s := SoftplusNonlinearity{Baseline: p[0], Gain: p[1], Slope: p[2], Threshold: p[3]}
		var e float64
		for i, x := range bn.X {
			d := bn.Y[i] - s.At(x)
			e += d * d
		}
		return e
	}
	slope := sign * 4 / span
	start := []float64{math.Min(lo, hi), math.Abs(hi-lo) / math.Max(math.Abs(slope)*span/2, 1e-9), slope, bn.X[n/2]}
	best, f := fitRestarts(loss, start)
	s := SoftplusNonlinearity{Baseline: best[0], Gain: best[1], Slope: best[2], Threshold: best[3]}
	if ss > 0 {
		s.R2 = 1 - f/ss
	}
	return s, nil
}

// LNAnalysis is the classical LN description of one response: its filter, and the static
// nonlinearity from the filter's output to the response, binned and parametric.
type LNAnalysis struct {
	Filter     []float64 // [History·H·W], unit norm, the reverse correlation of the response
	Binned     BinnedNonlinearity
	Parametric SoftplusNonlinearity
}

// FitLN runs the classical LN analysis of a response y (one value per window of w): the filter
// by reverse correlation of the centred response, normalised; the generator signal; and both
// nonlinearity fits (bins quantile bins).
func FitLN(w *datasets.Windows, y []float64, bins int) (*LNAnalysis, error) {
	f, err := ReverseCorrelation(w, Centred(y))
	if err != nil {
		return nil, err
	}
	var norm float64
	for _, v := range f {
		norm += v * v
	}
	norm = math.Sqrt(norm)
	if !(norm > 0) {
		return nil, fmt.Errorf("LN analysis: the response does not correlate with the stimulus (zero filter)")
	}
	for i := range f {
		f[i] /= norm
	}
	g, err := Generator(w, f)
	if err != nil {
		return nil, err
	}
	ln := &LNAnalysis{Filter: f}
	if ln.Binned, err = FitBinnedNonlinearity(g, y, bins); err != nil {
		return nil, err
	}
	if ln.Parametric, err = FitSoftplusNonlinearity(g, y); err != nil {
		return nil, err
	}
	return ln, nil
}

// ModelLN is the classical LN analysis of a model's target (a ganglion cell or a unit) on
// white noise (opts: its length, contrast and seed), as an experimenter would map a cell.
func ModelLN(m *retina.Model, t Target, opts RFOptions) (*LNAnalysis, error) {
	if err := t.check(m.Meta.Model); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	in := InputOf(m)
	movie := datasets.NewMovie(opts.Samples+in.History, in.H, in.W)
	NoiseWindows(movie.Data, opts.Contrast, opts.Binary, rand.New(rand.NewPCG(opts.Seed, 0x11)))
	for i, z := range movie.Data {
		movie.Data[i] = in.Raw(z)
	}
	y, err := targetResponse(m, t, movie)
	if err != nil {
		return nil, err
	}
	w, err := m.Windows(movie, datasets.Matrix{})
	if err != nil {
		return nil, err
	}
	ln, err := FitLN(w, y, lnBins)
	if err != nil {
		return nil, fmt.Errorf("LN analysis of %s: %w", t, err)
	}
	return ln, nil
}
