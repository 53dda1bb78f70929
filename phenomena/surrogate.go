package phenomena

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/deepretina/deepretina/datasets"
)

// Surrogate fitting: each responder's verdict is judged against an LN model of the responder
// itself (Chichilnisky 2001's LN model, fitted here by ridge regression rather than a plain
// spike-triggered average so that correlated noise and short recordings do not bias it). What
// an LN model reproduces is not evidence of adaptation, subunits or recurrence.

const (
	// surrogateSeconds of Gaussian white noise the surrogate is fitted to.
	surrogateSeconds = 40
	// surrogateBases is the number of raised-cosine temporal basis functions of the filter.
	surrogateBases = 8
	// surrogateGrid is the largest number of spatial blocks per side: fields larger than this
	// are fitted on blocks of ⌈size/surrogateGrid⌉ pixels (with noise of checks of that size).
	surrogateGrid = 10
	// surrogateBins is the number of equal-count bins of the static nonlinearity.
	surrogateBins = 30
)

// LNSurrogate is a linear–nonlinear model fitted to a responder's own responses to white noise:
// per cell a spatiotemporal filter (ridge regression, its penalty chosen per cell on held-out
// data) and a static nonlinearity (the mean rate in equal-count bins of the filter's output,
// interpolated linearly and extrapolated along the outer bins' slope, never below 0 Hz). It is
// itself a Responder with the responder's geometry.
type LNSurrogate struct {
	shape    [3]int
	rate, px float64
	block    int         // spatial block size in pixels
	gh, gw   int         // block grid
	lags     int         // filter length in frames
	basis    [][]float64 // [bases][lags] temporal basis
	weights  [][]float64 // [cell][gh·gw·bases] filter in the basis
	bias     []float64   // [cell]
	nlX      [][]float64 // [cell][bins] generator at the bin centres
	nlY      [][]float64 // [cell][bins] mean rate in the bins
	// Lambda is the ridge penalty chosen for each cell, relative to the mean diagonal of XᵀX.
	Lambda []float64
	// HeldOutR is each cell's held-out Pearson r of the linear prediction at its chosen penalty.
	HeldOutR []float64
}

// FitLNSurrogate fits an LN surrogate of r from its responses to 40 s of Gaussian white noise of
// SD 1 (checks of one block; seed picks the noise). The last quarter of the noise is held out
// to choose each cell's ridge penalty among 10⁻³ … 10 (relative to the mean diagonal of XᵀX);
// the filter is then refitted on all of it, and the nonlinearity binned on all of it.
func FitLNSurrogate(r Responder, seed uint64) (*LNSurrogate, error) {
	g := geometryOf(r)
	s := &LNSurrogate{shape: r.InputShape(), rate: g.rate, px: g.px, lags: g.filterLags()}
	s.block = max(1, (max(g.h, g.w)+surrogateGrid-1)/surrogateGrid)
	s.gh, s.gw = (g.h+s.block-1)/s.block, (g.w+s.block-1)/s.block
	s.basis = cosineBasis(s.lags, surrogateBases)
	stim := WhiteNoise(g.h, g.w, g.frames(surrogateSeconds), 1, s.block, false, seed)
	rates, err := Run(r, stim)
	if err != nil {
		return nil, fmt.Errorf("LN surrogate: white noise: %w", err)
	}
	x := s.design(stim) // [T, P]
	T, P := x.Dims()
	nc := rates.Cols
	split := T * 3 / 4
	xa, xb := x.Slice(0, split, 0, P), x.Slice(split, T, 0, P)
	meanA := colMeans(xa)
	ca := centred(xa, meanA)
	var xtxA mat.SymDense
	xtxA.SymOuterK(1, ca.T())
	var xtx mat.SymDense
	meanAll := colMeans(x)
	xc := centred(x, meanAll)
	xtx.SymOuterK(1, xc.T())
	diag := 0.0
	for i := 0; i < P; i++ {
		diag += xtx.At(i, i)
	}
	diag /= float64(P)
	lambdas := []float64{1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1}
	ys := make([][]float64, nc)
	for c := range ys {
		ys[c] = Column(rates, c)
	}
	bestR := make([]float64, nc)
	bestL := make([]float64, nc)
	for c := range bestR {
		bestR[c] = math.Inf(-1)
		bestL[c] = lambdas[len(lambdas)-1]
	}
	for _, l := range lambdas {
		w, err := ridgeSolve(&xtxA, ca, ys, 0, split, l*diag*float64(split)/float64(T))
		if err != nil {
			return nil, fmt.Errorf("LN surrogate: %w", err)
		}
		for c := range ys {
			pred := make([]float64, T-split)
			for t := range pred {
				for p := 0; p < P; p++ {
					pred[t] += (xb.At(t, p) - meanA[p]) * w[c][p]
				}
			}
			if rr := pearson(pred, ys[c][split:]); rr > bestR[c] {
				bestR[c], bestL[c] = rr, l
			}
		}
	}
	s.Lambda, s.HeldOutR = bestL, bestR
	s.weights, s.bias = make([][]float64, nc), make([]float64, nc)
	s.nlX, s.nlY = make([][]float64, nc), make([][]float64, nc)
	for c := range ys {
		w, err := ridgeSolve(&xtx, xc, ys[c:c+1], 0, T, bestL[c]*diag)
		if err != nil {
			return nil, fmt.Errorf("LN surrogate: %w", err)
		}
		s.weights[c] = w[0]
		for p := 0; p < P; p++ {
			s.bias[c] -= meanAll[p] * w[0][p]
		}
		gen := make([]float64, T)
		for t := range gen {
			gen[t] = s.bias[c]
			for p := 0; p < P; p++ {
				gen[t] += x.At(t, p) * w[0][p]
			}
		}
		s.nlX[c], s.nlY[c] = BinnedNonlinearity(gen, ys[c], surrogateBins)
	}
	return s, nil
}

// cosineBasis is n raised-cosine bumps on a log-stretched time axis over [0, lags) frames
// (Pillow et al. 2008): narrow at short lags, where filters change fast, wide at long ones.
//
//	return: [n][lags]
func cosineBasis(lags, n int) [][]float64 {
	warp := func(t float64) float64 { return math.Log(t + 2) }
	lo, hi := warp(0), warp(float64(lags-1))
	spacing := (hi - lo) / float64(n-1)
	out := make([][]float64, n)
	for j := range out {
		out[j] = make([]float64, lags)
		c := lo + float64(j)*spacing
		for t := range out[j] {
			d := (warp(float64(t)) - c) * math.Pi / (2 * spacing)
			if math.Abs(d) < math.Pi {
				out[j][t] = 0.5 * (1 + math.Cos(d))
			}
		}
	}
	return out
}

// design is the surrogate's regressors: block-summed stimulus convolved with each temporal
// basis function (frames before the start count as grey).
//
//	stim: [T, H, W]; return: [T, gh·gw·bases]
func (s *LNSurrogate) design(stim datasets.Movie) *mat.Dense {
	nb := s.gh * s.gw
	blocks := make([][]float64, nb) // [block][T]
	for b := range blocks {
		blocks[b] = make([]float64, stim.T)
	}
	for t := 0; t < stim.T; t++ {
		f := stim.Frame(t)
		for y := 0; y < stim.H; y++ {
			for xx := 0; xx < stim.W; xx++ {
				blocks[(y/s.block)*s.gw+xx/s.block][t] += float64(f[y*stim.W+xx])
			}
		}
	}
	nk := len(s.basis)
	x := mat.NewDense(stim.T, nb*nk, nil)
	for b, series := range blocks {
		for k, f := range s.basis {
			conv := Convolve(series, f)
			for t, v := range conv {
				x.Set(t, b*nk+k, v)
			}
		}
	}
	return x
}

// InputShape implements Responder.
func (s *LNSurrogate) InputShape() [3]int { return s.shape }

// FrameRate implements Responder.
func (s *LNSurrogate) FrameRate() float64 { return s.rate }

// PixelSizeUM implements Responder.
func (s *LNSurrogate) PixelSizeUM() float64 { return s.px }

// Respond implements Responder: the filters' output through the binned nonlinearities, rows
// History… of stim.
func (s *LNSurrogate) Respond(stim datasets.Movie) (datasets.Matrix, error) {
	if stim.H != s.shape[1] || stim.W != s.shape[2] {
		return datasets.Matrix{}, fmt.Errorf("LN surrogate: stimulus frames are %d×%d; expected %d×%d", stim.H, stim.W, s.shape[1], s.shape[2])
	}
	hist := s.shape[0]
	if stim.T <= hist {
		return datasets.Matrix{}, fmt.Errorf("LN surrogate: stimulus of %d frames is not longer than the history of %d frames", stim.T, hist)
	}
	x := s.design(stim)
	_, P := x.Dims()
	out := datasets.NewMatrix(stim.T-hist, len(s.weights))
	for c, w := range s.weights {
		for t := hist; t < stim.T; t++ {
			g := s.bias[c]
			row := x.RawRowView(t)
			for p := 0; p < P; p++ {
				g += row[p] * w[p]
			}
			out.Data[(t-hist)*out.Cols+c] = float32(nlEval(s.nlX[c], s.nlY[c], g))
		}
	}
	return out, nil
}

// nlEval interpolates the binned nonlinearity (x ascending) at g, extrapolating along the slope
// of the outer bins' half (a saturating or expanding tail stays so), never below 0.
func nlEval(x, y []float64, g float64) float64 {
	n := len(x)
	if n == 0 {
		return 0
	}
	if n == 1 {
		return math.Max(0, y[0])
	}
	var v float64
	switch i := sort.SearchFloat64s(x, g); {
	case i == 0:
		k := max(1, n/6)
		v = y[0] + (g-x[0])*slope(x[:k+1], y[:k+1])
	case i >= n:
		k := max(1, n/6)
		v = y[n-1] + (g-x[n-1])*slope(x[n-1-k:], y[n-1-k:])
	default:
		d := x[i] - x[i-1]
		if d <= 0 {
			v = y[i]
		} else {
			v = y[i-1] + (y[i]-y[i-1])*(g-x[i-1])/d
		}
	}
	return math.Max(0, v)
}

func slope(x, y []float64) float64 {
	s := fitSlope(x, y)
	if math.IsNaN(s) {
		d := x[len(x)-1] - x[0]
		if d <= 0 {
			return 0
		}
		return (y[len(y)-1] - y[0]) / d
	}
	return s
}

// ridgeSolve solves (XᵀX + λI) w = Xᵀ(y − ȳ) for each response y (rows [from, to) of it), with
// xtx = XᵀX and xc = X, both already centred.
func ridgeSolve(xtx *mat.SymDense, xc mat.Matrix, ys [][]float64, from, to int, lambda float64) ([][]float64, error) {
	P := xtx.SymmetricDim()
	a := mat.NewSymDense(P, nil)
	a.CopySym(xtx)
	for i := 0; i < P; i++ {
		a.SetSym(i, i, a.At(i, i)+lambda+1e-12)
	}
	var ch mat.Cholesky
	if ok := ch.Factorize(a); !ok {
		return nil, fmt.Errorf("ridge regression: XᵀX + %g·I is not positive definite", lambda)
	}
	out := make([][]float64, len(ys))
	for c, y := range ys {
		yy := y[from:to]
		m := mean(yy)
		yc := make([]float64, len(yy))
		for t, v := range yy {
			yc[t] = v - m
		}
		var xty, w mat.VecDense
		xty.MulVec(xc.T(), mat.NewVecDense(len(yc), yc))
		if err := ch.SolveVecTo(&w, &xty); err != nil {
			return nil, fmt.Errorf("ridge regression: %w", err)
		}
		out[c] = append([]float64(nil), w.RawVector().Data...)
	}
	return out, nil
}

func colMeans(x mat.Matrix) []float64 {
	r, c := x.Dims()
	out := make([]float64, c)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j] += x.At(i, j)
		}
	}
	for j := range out {
		out[j] /= float64(r)
	}
	return out
}

func centred(x mat.Matrix, m []float64) *mat.Dense {
	r, c := x.Dims()
	out := mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out.Set(i, j, x.At(i, j)-m[j])
		}
	}
	return out
}

func pearson(a, b []float64) float64 {
	ma, mb := mean(a), mean(b)
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	if saa == 0 || sbb == 0 {
		return math.NaN()
	}
	return sab / math.Sqrt(saa*sbb)
}
