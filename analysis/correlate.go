package analysis

import (
	"math"
	"runtime"
	"sync"
)

// The reference's rule for units too quiet to correlate: a unit whose mean absolute activity
// has log < −15 or whose standard deviation has log < −12 (the values of torch-deep-retina's
// intracellular.py) scores r = 0, since its Pearson r is numerical noise.
const (
	logAbsMeanCutoff = -15
	logStdCutoff     = -12
)

// Quiet reports whether a unit with this mean absolute value and standard deviation is
// "constant" by the reference's rule.
func Quiet(absMean, std float64) bool {
	return !(std > 0) || math.Log(absMean) < logAbsMeanCutoff || math.Log(std) < logStdCutoff
}

// Standardize returns x − mean(x) divided by its population SD, so that Σ z = 0 and
// Σ z² = len(x); ok is false when x is constant.
func Standardize(x []float32) (z []float64, ok bool) {
	n := float64(len(x))
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	m := s / n
	var ss float64
	z = make([]float64, len(x))
	for i, v := range x {
		d := float64(v) - m
		z[i] = d
		ss += d * d
	}
	sd := math.Sqrt(ss / n)
	if !(sd > 0) {
		return z, false
	}
	for i := range z {
		z[i] /= sd
	}
	return z, true
}

// correlateRows returns the Pearson r of every unit with every target:
//
//	data:    [T, U] float32 (row t holds all U units at time t, as a [T, C, H, W] block does)
//	targets: [K][T], each standardized (standardize) or nil for a constant target (r = 0)
//	returns  [U·K]: r of unit u with target k at u·K + k
//
// Units that are constant by the reference's rule (quiet) and non-finite results score 0;
// so does r ≤ −1, as in the reference. Work is split over units across the CPU cores.
func correlateRows(data []float32, T, U int, targets [][]float64) []float64 {
	K := len(targets)
	out := make([]float64, U*K)
	if T < 2 || U == 0 || K == 0 {
		return out
	}
	ForUnitChunks(U, func(lo, hi int) { correlateChunk(data, T, U, lo, hi, targets, out) })
	return out
}

// ForUnitChunks calls work on disjoint ranges [lo, hi) that cover the units [0, U), in parallel
// over the CPU cores (ranges of at least 64 units, so that small layers stay on one goroutine),
// and returns when all have finished. Each call must write only its own units' results.
func ForUnitChunks(U int, work func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, U/64))
	chunk := (U + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < U; lo += chunk {
		hi := min(U, lo+chunk)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			work(lo, hi)
		}(lo, hi)
	}
	wg.Wait()
}

func correlateChunk(data []float32, T, U, lo, hi int, targets [][]float64, out []float64) {
	K, n := len(targets), hi-lo
	// Sums of the unit's deviations from its first sample (this keeps the variance of units
	// with a large mean and a small spread accurate), of their squares, of |a| and of the
	// cross-products with each standardized target (Σ z = 0, so the shift cancels there).
	first := make([]float64, n)
	copy64(first, data[lo:hi])
	sum, sq, abs := make([]float64, n), make([]float64, n), make([]float64, n)
	cross := make([]float64, n*K)
	zt := make([]float64, K)
	for t := 0; t < T; t++ {
		row := data[t*U+lo : t*U+hi]
		for k, z := range targets {
			if z != nil {
				zt[k] = z[t]
			} else {
				zt[k] = 0
			}
		}
		for j, v := range row {
			a := float64(v)
			d := a - first[j]
			sum[j] += d
			sq[j] += d * d
			abs[j] += math.Abs(a)
			c := cross[j*K : (j+1)*K]
			for k, z := range zt {
				c[k] += a * z
			}
		}
	}
	fT := float64(T)
	for j := 0; j < n; j++ {
		m := sum[j] / fT
		std := math.Sqrt(math.Max(sq[j]/fT-m*m, 0))
		if Quiet(abs[j]/fT, std) {
			continue
		}
		for k := range targets {
			if targets[k] == nil {
				continue
			}
			r := cross[j*K+k] / (fT * std)
			if math.IsNaN(r) || math.IsInf(r, 0) || r <= -1 {
				r = 0
			}
			out[(lo+j)*K+k] = min(r, 1)
		}
	}
}

func copy64(dst []float64, src []float32) {
	for i, v := range src {
		dst[i] = float64(v)
	}
}
