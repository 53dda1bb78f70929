package analysis

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/metrics"
)

// RidgeLN is a classical LN model that a careful experimenter would fit as the baseline of a
// CNN: per cell, a linear filter over the History frames of a Crop×Crop pixel crop around the
// cell's receptive-field centre, fitted by ridge regression (the least-squares filter, which
// undoes the stimulus's own correlations — natural scenes are far from white — shrunk towards 0
// by a penalty λ chosen by cross-validation), followed by a static nonlinearity read off the
// training data in quantile bins (McIntosh et al. 2016 and Maheswaranathan et al. 2023 compare
// their CNNs with LN models fitted to each cell). The unwhitened full-frame spike-triggered
// average (ClassicalLN) is no such baseline on a correlated stimulus: its filter is the
// cell's filter blurred by the stimulus's correlations, plus noise from every pixel of the frame.
type RidgeLN struct {
	History, H, W int
	Crop          int // side of the square crop (pixels)
	Cells         []RidgeCell
}

// RidgeCell is one cell's ridge LN.
type RidgeCell struct {
	Y0, X0 int       // the crop's top-left pixel
	Filter []float64 // [History·Crop·Crop] on the z-scored stimulus, oldest frame first
	Offset float64   // the generator's intercept
	Lambda float64   // the ridge penalty chosen, relative to the mean stimulus variance × samples
	ValR   float64   // the linear prediction's r on the validation rows at that λ
	// Nonlinearity: generator bin centres (ascending) and the mean response in each bin.
	BinX, BinY []float64
}

// RidgeLNOptions configure FitRidgeLN.
type RidgeLNOptions struct {
	Crop int // side of the crop around each cell's receptive-field centre (default 5 pixels)
	// Lambdas: the relative ridge penalties tried (default 10⁻³ … 10³ in decades); the penalty is
	// λ · n · the mean variance of the crop's pixels, so λ = 1 weighs the prior as much as the data.
	Lambdas []float64
	// ValFraction: the share of the training windows, at the end, that chooses λ (default 0.2),
	// separated from the rest by History windows so that no frame is in both.
	ValFraction float64
}

// RidgeLNName describes the ridge LN baseline in tables and JSON.
func RidgeLNName(crop int) string {
	return fmt.Sprintf("ridge LN (whitened ridge filter in a %d×%d crop around each cell's RF centre, λ by cross-validation, binned nonlinearity)", crop, crop)
}

// FitRidgeLN fits a RidgeLN to every cell of w (training windows with responses).
func FitRidgeLN(w *datasets.Windows, opts RidgeLNOptions) (*RidgeLN, error) {
	if w.NCells() == 0 {
		return nil, fmt.Errorf("ridge LN: the windows carry no responses")
	}
	if opts.Crop <= 0 {
		opts.Crop = 5
	}
	if opts.Lambdas == nil {
		opts.Lambdas = []float64{1e-3, 1e-2, 1e-1, 1, 10, 100, 1000}
	}
	if opts.ValFraction <= 0 || opts.ValFraction >= 1 {
		opts.ValFraction = 0.2
	}
	h, hh, ww := w.History, w.Stim.H, w.Stim.W
	crop := min(opts.Crop, hh, ww)
	n := w.Len()
	nFit := int(float64(n) * (1 - opts.ValFraction))
	if nFit < 10 || n-nFit-h < 10 {
		return nil, fmt.Errorf("ridge LN: %d windows; too few to fit on %d%% and choose λ on the rest", n, int(100*(1-opts.ValFraction)))
	}
	centres, err := rfCentres(w, 5000)
	if err != nil {
		return nil, err
	}
	ln := &RidgeLN{History: h, H: hh, W: ww, Crop: crop, Cells: make([]RidgeCell, w.NCells())}
	resps := make([][]float64, w.NCells())
	y := make([]float32, w.NCells())
	for c := range resps {
		resps[c] = make([]float64, n)
	}
	for i := 0; i < n; i++ {
		w.CopyY(y, i)
		for c := range resps {
			resps[c][i] = float64(y[c])
		}
	}
	// Cells are independent: fit them on all cores (each holds a few d×d matrices, d =
	// History·Crop², 8 MB each at the reference's 40 frames and 5×5 pixels).
	errs := make([]error, w.NCells())
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), w.NCells()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				cy, cx := centres[c]/ww, centres[c]%ww
				y0, x0 := min(max(cy-crop/2, 0), hh-crop), min(max(cx-crop/2, 0), ww-crop)
				frames := cropFrames(w, y0, x0, crop)
				resp := resps[c]
				f, off, lambda, valR, err := ridgeFilter(frames, resp, h, nFit, nFit+h, opts.Lambdas)
				if err != nil {
					errs[c] = fmt.Errorf("ridge LN: cell %d: %w", c, err)
					continue
				}
				cell := RidgeCell{Y0: y0, X0: x0, Filter: f, Offset: off, Lambda: lambda, ValR: valR}
				nl, err := FitBinnedNonlinearity(ridgeGenerator(frames, f, off, h, n), resp, lnBins)
				if err != nil {
					errs[c] = fmt.Errorf("ridge LN: cell %d: %w", c, err)
					continue
				}
				cell.BinX, cell.BinY = nl.X, nl.Y
				ln.Cells[c] = cell
			}
		}()
	}
	for c := range ln.Cells {
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return ln, nil
}

// Predict returns the ridge LN's rates for every window: [w.Len(), N].
func (ln *RidgeLN) Predict(w *datasets.Windows) (datasets.Matrix, error) {
	if w.History != ln.History || w.Stim.H != ln.H || w.Stim.W != ln.W {
		return datasets.Matrix{}, fmt.Errorf("ridge LN fitted on [%d,%d,%d] windows, got [%d,%d,%d]",
			ln.History, ln.H, ln.W, w.History, w.Stim.H, w.Stim.W)
	}
	n, nc := w.Len(), len(ln.Cells)
	out := datasets.NewMatrix(n, nc)
	for c, cell := range ln.Cells {
		g := ridgeGenerator(cropFrames(w, cell.Y0, cell.X0, ln.Crop), cell.Filter, cell.Offset, ln.History, n)
		for i, v := range g {
			out.Data[i*nc+c] = float32(interpolate(cell.BinX, cell.BinY, v))
		}
	}
	return out, nil
}

// rfCentres is the pixel (y·W + x) at the centre of each cell's receptive field: the pixel whose
// 3×3 neighbourhood holds the most energy of the reverse correlation of the centred response
// over at most maxWindows evenly spaced windows.
func rfCentres(w *datasets.Windows, maxWindows int) ([]int, error) {
	n, nc := w.Len(), w.NCells()
	step := max(1, n/maxWindows)
	var idx []int
	for i := 0; i < n; i += step {
		idx = append(idx, i)
	}
	ys := make([][]float64, nc)
	y := make([]float32, nc)
	for k, i := range idx {
		w.CopyY(y, i)
		for c := range ys {
			if k == 0 {
				ys[c] = make([]float64, len(idx))
			}
			ys[c][k] = float64(y[c])
		}
	}
	rcs := make([][]float64, nc)
	for c := range rcs {
		ys[c] = Centred(ys[c])
		rcs[c] = make([]float64, w.XSize())
	}
	x := make([]float32, w.XSize())
	for k, i := range idx {
		w.CopyX(x, i)
		for c := range rcs {
			yc := ys[c][k]
			if yc == 0 {
				continue
			}
			rc := rcs[c]
			for j, v := range x {
				rc[j] += yc * float64(v)
			}
		}
	}
	hh, ww := w.Stim.H, w.Stim.W
	out := make([]int, nc)
	for c, rc := range rcs {
		best, bestE := PeakPixel(rc, w.History, hh, ww)
		if !(bestE > 0) {
			return nil, fmt.Errorf("ridge LN: cell %d does not correlate with the stimulus (its response is constant)", c)
		}
		out[c] = best
	}
	return out, nil
}

// cropFrames returns the z-scored crop of every frame of w's stimulus: [T][crop·crop].
func cropFrames(w *datasets.Windows, y0, x0, crop int) [][]float64 {
	T, ww := w.Stim.T, w.Stim.W
	out := make([][]float64, T)
	mean, std := float64(w.Norm.Mean), float64(w.Norm.Std)
	for t := 0; t < T; t++ {
		f := w.Stim.Frame(t)
		row := make([]float64, 0, crop*crop)
		for y := y0; y < y0+crop; y++ {
			for x := x0; x < x0+crop; x++ {
				row = append(row, (float64(f[y*ww+x])-mean)/std)
			}
		}
		out[t] = row
	}
	return out
}

// ridgeGenerator is the filter's output for windows 0 … n−1 of frames ([T][P]): window i is
// frames [i, i+history).
func ridgeGenerator(frames [][]float64, f []float64, offset float64, history, n int) []float64 {
	P := len(frames[0])
	out := make([]float64, n)
	for i := range out {
		s := offset
		for a := 0; a < history; a++ {
			fr, fa := frames[i+a], f[a*P:(a+1)*P]
			for p, v := range fr {
				s += v * fa[p]
			}
		}
		out[i] = s
	}
	return out
}

// ridgeFilter fits y (one value per window) by a linear filter of the windows of frames
// ([T][P], window i = frames [i, i+history)): the ridge solution on windows [0, nFit) for each
// relative penalty, scored by Pearson r on windows [valFrom, n); the best penalty is refitted
// on the fit and validation windows together. The windows' Gram matrix is built from lagged
// products of the frames, walking each lag diagonal, in O(P²·history·n) rather than
// O(P²·history²·n).
func ridgeFilter(frames [][]float64, y []float64, history, nFit, valFrom int, lambdas []float64) (filter []float64, offset, lambda, valR float64, err error) {
	n := len(y)
	P := len(frames[0])
	d := history * P
	fit := newGram(frames, y, history, 0, nFit)
	val := newGram(frames, y, history, valFrom, n)
	bestR := math.Inf(-1)
	for _, l := range lambdas {
		w, off, err := fit.solve(l)
		if err != nil {
			continue
		}
		g := ridgeGenerator(frames[valFrom:], w, off, history, n-valFrom)
		if r := metrics.PearsonFloat64(g, y[valFrom:]); r > bestR {
			bestR, lambda = r, l
		}
	}
	if math.IsInf(bestR, -1) {
		return nil, 0, 0, 0, fmt.Errorf("no ridge penalty of %v gives a solvable system", lambdas)
	}
	all := fit.plus(val)
	filter, offset, err = all.solve(lambda)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	if len(filter) != d {
		return nil, 0, 0, 0, fmt.Errorf("filter of %d values, want %d", len(filter), d)
	}
	return filter, offset, lambda, bestR, nil
}

// gram holds the sufficient statistics of a least-squares fit over a range of windows: the
// uncentred Gram matrix of the windows, their sum, Σ x·y, Σ y and the count.
type gram struct {
	n     float64
	xx    *mat.SymDense
	sx    []float64
	sxy   []float64
	sy    float64
	d     int
	lagSz int
}

func newGram(frames [][]float64, y []float64, history, r0, r1 int) *gram {
	P := len(frames[0])
	d := history * P
	g := &gram{n: float64(r1 - r0), xx: mat.NewSymDense(d, nil), sx: make([]float64, d), sxy: make([]float64, d), d: d, lagSz: P}
	for a := 0; a < history; a++ {
		for i := r0; i < r1; i++ {
			fr := frames[i+a]
			for p, v := range fr {
				g.sx[a*P+p] += v
				g.sxy[a*P+p] += v * y[i]
			}
		}
	}
	for i := r0; i < r1; i++ {
		g.sy += y[i]
	}
	// The pixels' time series, contiguous: cols[p][t] = frames[t][p].
	cols := make([][]float64, P)
	for p := range cols {
		cols[p] = make([]float64, len(frames))
		for t, fr := range frames {
			cols[p][t] = fr[p]
		}
	}
	for dl := 0; dl < history; dl++ {
		for p := 0; p < P; p++ {
			for q := 0; q < P; q++ {
				// S = Σ_{j=r0+a}^{r1−1+a} frames[j][p]·frames[j+dl][q], walked along a.
				var s float64
				cp, cq := cols[p][r0:r1], cols[q][r0+dl:r1+dl]
				for j, v := range cp {
					s += v * cq[j]
				}
				for a := 0; a+dl < history; a++ {
					if a > 0 {
						s += frames[r1+a-1][p]*frames[r1+a-1+dl][q] - frames[r0+a-1][p]*frames[r0+a-1+dl][q]
					}
					row, col := a*P+p, (a+dl)*P+q
					if row <= col {
						g.xx.SetSym(row, col, s)
					} else if dl == 0 {
						// the same entry as (q, p) at lag 0; set once from the p ≤ q pass
						continue
					} else {
						g.xx.SetSym(col, row, s)
					}
				}
			}
		}
	}
	return g
}

func (g *gram) plus(o *gram) *gram {
	s := &gram{n: g.n + o.n, xx: mat.NewSymDense(g.d, nil), sx: make([]float64, g.d), sxy: make([]float64, g.d), sy: g.sy + o.sy, d: g.d, lagSz: g.lagSz}
	s.xx.AddSym(g.xx, o.xx)
	for i := range s.sx {
		s.sx[i] = g.sx[i] + o.sx[i]
		s.sxy[i] = g.sxy[i] + o.sxy[i]
	}
	return s
}

// solve returns the ridge filter and intercept for relative penalty lambda: the centred
// normal equations (C + λ·n·v̄·I) w = Σ (x − x̄)(y − ȳ), v̄ the mean variance of the features.
func (g *gram) solve(lambda float64) ([]float64, float64, error) {
	d, n := g.d, g.n
	raw := g.xx.RawSymmetric() // upper triangle, row-major with stride Stride
	cd := make([]float64, d*d)
	var trace float64
	for i := 0; i < d; i++ {
		row := raw.Data[i*raw.Stride : i*raw.Stride+d]
		for j := i; j < d; j++ {
			cd[i*d+j] = row[j] - g.sx[i]*g.sx[j]/n
		}
		trace += cd[i*d+i]
	}
	pen := lambda * trace / float64(d)
	for i := 0; i < d; i++ {
		cd[i*d+i] += pen
	}
	c := mat.NewSymDense(d, cd)
	b := mat.NewVecDense(d, nil)
	for i := 0; i < d; i++ {
		b.SetVec(i, g.sxy[i]-g.sx[i]*g.sy/n)
	}
	var ch mat.Cholesky
	if !ch.Factorize(c) {
		return nil, 0, fmt.Errorf("the penalised covariance is not positive definite (λ = %g)", lambda)
	}
	var w mat.VecDense
	if err := ch.SolveVecTo(&w, b); err != nil {
		return nil, 0, err
	}
	f := make([]float64, d)
	off := g.sy / n
	for i := range f {
		f[i] = w.AtVec(i)
		off -= f[i] * g.sx[i] / n
	}
	return f, off, nil
}
