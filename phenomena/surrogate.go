package phenomena

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/phenomena/measures"
	"github.com/deepretina/deepretina/phenomena/stimuli"
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
	w        *mat.Dense  // [gh·gw·bases, cell] the same, as one matrix
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
	stim := stimuli.WhiteNoise(g.h, g.w, g.frames(surrogateSeconds), 1, s.block, false, seed)
	rates, err := Run(r, stim)
	if err != nil {
		return nil, fmt.Errorf("LN surrogate: white noise: %w", err)
	}
	x := s.design(stim) // [T, P]
	T, P := x.Dims()
	nc := rates.Cols
	split := T * 3 / 4
	xa, xb := x.Slice(0, split, 0, P), x.Slice(split, T, 0, P)
	xtxA, xtx, meanAll, diag := centredGrams(xa, xb)
	lambdas := []float64{1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1}
	ys := make([][]float64, nc)
	for c := range ys {
		ys[c] = measures.Column(rates, c)
	}
	// Xᵀ(y − ȳ) equals the centred design's cross-product with y, so the design need not be
	// centred: [P, nc], on the fitting part and on the whole.
	xtyA, xty := crossProduct(xa, ys, 0, split), crossProduct(x, ys, 0, T)
	bestR := make([]float64, nc)
	bestL := make([]float64, nc)
	for c := range bestR {
		bestR[c] = math.Inf(-1)
		bestL[c] = lambdas[len(lambdas)-1]
	}
	var pred mat.Dense
	for _, l := range lambdas {
		w, err := ridgeSolve(xtxA, xtyA, l*diag*float64(split)/float64(T))
		if err != nil {
			return nil, fmt.Errorf("LN surrogate: %w", err)
		}
		pred.Mul(xb, w) // held-out prediction up to a constant, which r ignores
		for c := range ys {
			if rr := pearson(mat.Col(nil, c, &pred), ys[c][split:]); rr > bestR[c] {
				bestR[c], bestL[c] = rr, l
			}
		}
	}
	s.Lambda, s.HeldOutR = bestL, bestR
	// Refit on all of the noise: one factorisation per penalty chosen.
	wAll, err := refitRidge(xtx, xty, lambdas, bestL, diag, P)
	if err != nil {
		return nil, err
	}
	var gen mat.Dense
	gen.Mul(x, wAll)
	s.weights, s.bias = make([][]float64, nc), make([]float64, nc)
	s.nlX, s.nlY = make([][]float64, nc), make([][]float64, nc)
	for c := range ys {
		s.weights[c] = mat.Col(nil, c, wAll)
		for p := 0; p < P; p++ {
			s.bias[c] -= meanAll[p] * s.weights[c][p]
		}
		g := mat.Col(nil, c, &gen)
		for t := range g {
			g[t] += s.bias[c]
		}
		s.nlX[c], s.nlY[c] = measures.BinnedNonlinearity(g, ys[c], surrogateBins)
	}
	s.w = wAll
	return s, nil
}

// centredGrams returns the centred Gram matrices Σ(x−m)(x−m)ᵀ of the fitting part xa and of
// the whole design (xa then xb), the whole's column means, and the mean diagonal of its Gram
// matrix. One pass over the design: the raw cross-products of its two parts, centred by
// rank-one corrections (Σ(x−m)(x−m)ᵀ = XᵀX − n·m·mᵀ), give the fitting part's and the whole's.
func centredGrams(xa, xb mat.Matrix) (xtxA, xtx *mat.SymDense, meanAll []float64, diag float64) {
	split, P := xa.Dims()
	nb, _ := xb.Dims()
	T := split + nb
	var sa, sb mat.SymDense
	sa.SymOuterK(1, xa.T())
	sb.SymOuterK(1, xb.T())
	sumA, sumB := colSums(xa), colSums(xb)
	meanA, meanAll := make([]float64, P), make([]float64, P)
	for p := range meanAll {
		meanA[p], meanAll[p] = sumA[p]/float64(split), (sumA[p]+sumB[p])/float64(T)
	}
	xtxA, xtx = mat.NewSymDense(P, nil), mat.NewSymDense(P, nil)
	for i := 0; i < P; i++ {
		for j := i; j < P; j++ {
			a := sa.At(i, j)
			xtxA.SetSym(i, j, a-float64(split)*meanA[i]*meanA[j])
			xtx.SetSym(i, j, a+sb.At(i, j)-float64(T)*meanAll[i]*meanAll[j])
		}
	}
	for i := 0; i < P; i++ {
		diag += xtx.At(i, i)
	}
	return xtxA, xtx, meanAll, diag / float64(P)
}

// refitRidge solves the ridge regression on the whole design for each cell at the penalty
// chosen for it (bestL[c], relative to diag), one factorisation per penalty: [P, cells].
func refitRidge(xtx *mat.SymDense, xty *mat.Dense, lambdas, bestL []float64, diag float64, P int) (*mat.Dense, error) {
	wAll := mat.NewDense(P, len(bestL), nil)
	for _, l := range lambdas {
		var cells []int
		for c := range bestL {
			if bestL[c] == l {
				cells = append(cells, c)
			}
		}
		if len(cells) == 0 {
			continue
		}
		w, err := ridgeSolve(xtx, xty, l*diag)
		if err != nil {
			return nil, fmt.Errorf("LN surrogate: %w", err)
		}
		for _, c := range cells {
			wAll.SetCol(c, mat.Col(nil, c, w))
		}
	}
	return wAll, nil
}

// crossProduct is Xᵀ(y − ȳ) for each response y over rows [from, to) (x holds those rows).
//
//	x: [to−from, P]; ys: [cell][T]; return: [P, cells]
func crossProduct(x mat.Matrix, ys [][]float64, from, to int) *mat.Dense {
	y := mat.NewDense(to-from, len(ys), nil)
	for c, yc := range ys {
		m := measures.Mean(yc[from:to])
		for t := from; t < to; t++ {
			y.Set(t-from, c, yc[t]-m)
		}
	}
	_, P := x.Dims()
	out := mat.NewDense(P, len(ys), nil)
	out.Mul(x.T(), y)
	return out
}

func colSums(x mat.Matrix) []float64 {
	r, c := x.Dims()
	out := make([]float64, c)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j] += x.At(i, j)
		}
	}
	return out
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
	P := nb * nk
	data := make([]float64, stim.T*P)
	conv := make([]float64, stim.T)
	for b, series := range blocks {
		for k, f := range s.basis {
			clear(conv)
			measures.ConvolveAdd(conv, series, f)
			for t, v := range conv {
				data[t*P+b*nk+k] = v
			}
		}
	}
	return mat.NewDense(stim.T, P, data)
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
	var gen mat.Dense
	gen.Mul(x.Slice(hist, stim.T, 0, x.RawMatrix().Cols), s.w) // [T−hist, cells]
	out := datasets.NewMatrix(stim.T-hist, len(s.weights))
	for t := 0; t < out.Rows; t++ {
		row := gen.RawRowView(t)
		for c := range s.weights {
			out.Data[t*out.Cols+c] = float32(nlEval(s.nlX[c], s.nlY[c], row[c]+s.bias[c]))
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

// ridgeSolve solves (XᵀX + λI) W = XᵀY for all responses at once, with xtx = XᵀX of the
// centred design and xty = Xᵀ(Y − Ȳ).
//
//	xtx: [P, P]; xty: [P, cells]; return: [P, cells]
func ridgeSolve(xtx *mat.SymDense, xty *mat.Dense, lambda float64) (*mat.Dense, error) {
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
	var w mat.Dense
	if err := ch.SolveTo(&w, xty); err != nil {
		return nil, fmt.Errorf("ridge regression: %w", err)
	}
	return &w, nil
}

func pearson(a, b []float64) float64 {
	ma, mb := measures.Mean(a), measures.Mean(b)
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
