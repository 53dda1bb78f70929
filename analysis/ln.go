package analysis

import (
	"fmt"
	"math"
	"sort"

	"github.com/deepretina/deepretina/datasets"
)

// ClassicalLN is the textbook linear–nonlinear model of each cell: a linear filter estimated by
// reverse correlation (the spike-triggered average of the z-scored stimulus windows) followed by
// a static nonlinearity read off the data as the mean response in quantile bins of the filter
// output, interpolated linearly.
type ClassicalLN struct {
	History, H, W int
	Filters       [][]float32 // [N][History·H·W], each of unit norm
	// Nonlinearity per cell: filter-output bin centres (ascending) and the mean rate in each bin.
	BinX, BinY [][]float64
}

// lnBins is the number of quantile bins of the nonlinearity.
const lnBins = 25

// FitClassicalLN estimates the LN model of every cell from training windows idx (nil = all, or
// at most maxWindows evenly spaced windows when maxWindows > 0, to bound the cost).
func FitClassicalLN(w *datasets.Windows, idx []int, maxWindows int) (*ClassicalLN, error) {
	if w.NCells() == 0 {
		return nil, fmt.Errorf("classical LN: the windows carry no responses")
	}
	if idx == nil {
		idx = make([]int, w.Len())
		for i := range idx {
			idx[i] = i
		}
	}
	if maxWindows > 0 && len(idx) > maxWindows {
		step := float64(len(idx)) / float64(maxWindows)
		sub := make([]int, maxWindows)
		for i := range sub {
			sub[i] = idx[int(float64(i)*step)]
		}
		idx = sub
	}
	n, xs := w.NCells(), w.XSize()
	sta := make([][]float64, n)
	for c := range sta {
		sta[c] = make([]float64, xs)
	}
	x := make([]float32, xs)
	y := make([]float32, n)
	for _, i := range idx {
		w.CopyX(x, i)
		w.CopyY(y, i)
		for c := 0; c < n; c++ {
			yc := float64(y[c])
			if yc == 0 {
				continue
			}
			s := sta[c]
			for k, v := range x {
				s[k] += yc * float64(v)
			}
		}
	}
	ln := &ClassicalLN{History: w.History, H: w.Stim.H, W: w.Stim.W, Filters: make([][]float32, n),
		BinX: make([][]float64, n), BinY: make([][]float64, n)}
	for c := 0; c < n; c++ {
		var norm float64
		for _, v := range sta[c] {
			norm += v * v
		}
		norm = math.Sqrt(norm)
		if norm == 0 {
			return nil, fmt.Errorf("classical LN: cell %d never responds in the training windows", c)
		}
		f := make([]float32, xs)
		for k, v := range sta[c] {
			f[k] = float32(v / norm)
		}
		ln.Filters[c] = f
	}
	// Nonlinearity: filter outputs vs responses in quantile bins.
	gen := ln.generator(w, idx)
	g, ys := make([]float64, len(idx)), make([]float64, len(idx))
	for c := 0; c < n; c++ {
		for i, j := range idx {
			w.CopyY(y, j)
			g[i], ys[i] = gen[i*n+c], float64(y[c])
		}
		nl, err := FitBinnedNonlinearity(g, ys, lnBins)
		if err != nil {
			return nil, fmt.Errorf("classical LN: cell %d: %w", c, err)
		}
		ln.BinX[c], ln.BinY[c] = nl.X, nl.Y
	}
	return ln, nil
}

// generator returns the filter outputs [len(idx), N].
func (ln *ClassicalLN) generator(w *datasets.Windows, idx []int) []float64 {
	n := len(ln.Filters)
	out := make([]float64, len(idx)*n)
	x := make([]float32, w.XSize())
	for i, j := range idx {
		w.CopyX(x, j)
		for c, f := range ln.Filters {
			var s float64
			for k, v := range x {
				s += float64(v) * float64(f[k])
			}
			out[i*n+c] = s
		}
	}
	return out
}

// Predict returns the LN rates for every window: [w.Len(), N].
func (ln *ClassicalLN) Predict(w *datasets.Windows) (datasets.Matrix, error) {
	if w.History != ln.History || w.Stim.H != ln.H || w.Stim.W != ln.W {
		return datasets.Matrix{}, fmt.Errorf("classical LN fitted on [%d,%d,%d] windows, got [%d,%d,%d]",
			ln.History, ln.H, ln.W, w.History, w.Stim.H, w.Stim.W)
	}
	idx := make([]int, w.Len())
	for i := range idx {
		idx[i] = i
	}
	n := len(ln.Filters)
	gen := ln.generator(w, idx)
	out := datasets.NewMatrix(len(idx), n)
	for i := range idx {
		for c := 0; c < n; c++ {
			out.Data[i*n+c] = float32(interpolate(ln.BinX[c], ln.BinY[c], gen[i*n+c]))
		}
	}
	return out, nil
}

// interpolate evaluates the piecewise-linear curve through (xs, ys) at x, flat beyond the ends.
func interpolate(xs, ys []float64, x float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	if x <= xs[0] {
		return ys[0]
	}
	if x >= xs[len(xs)-1] {
		return ys[len(ys)-1]
	}
	i := sort.SearchFloat64s(xs, x)
	x0, x1 := xs[i-1], xs[i]
	if x1 == x0 {
		return ys[i]
	}
	return ys[i-1] + (ys[i]-ys[i-1])*(x-x0)/(x1-x0)
}
