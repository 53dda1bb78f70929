package main

import (
	"fmt"
	"math"

	"github.com/deepretina/deepretina/metrics"

	"gonum.org/v1/gonum/mat"
)

// Kernel (dual) ridge regression with the probe's held-out split.
//
// Every fit here has far more features (up to 16,000) than selection samples (960), so it is
// solved in its dual form: with X the centred features of the training rows, the ridge
// prediction at rows Z is Z Xᵀ (X Xᵀ + λI)⁻¹ y. One eigendecomposition of X Xᵀ per fold serves
// every λ and every target. λ is chosen per target by 5-fold cross-validation on contiguous
// blocks of the selection part only (a gap of `gap` rows between a block and its training rows,
// as between the probe's halves); the chosen λ is refitted on the whole selection part and
// scored on the scoring part, which no choice has seen.

// split is the probe's: selection rows [0, a), gap [a, a+gap), scoring rows [a+gap, rows).
type split struct{ a, gap, rows int }

func probeSplit(rows, history int) split {
	return split{a: (rows - history) / 2, gap: history, rows: rows}
}

// gram is X Xᵀ over all rows, with X centred (and, if scale, divided by its SD) by the
// selection rows' statistics. features: [rows][p].
func gram(features [][]float64, sp split, scale bool) *mat.SymDense {
	rows, p := len(features), len(features[0])
	mean := make([]float64, p)
	sd := make([]float64, p)
	for t := 0; t < sp.a; t++ {
		for j, v := range features[t] {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(sp.a)
	}
	for t := 0; t < sp.a; t++ {
		for j, v := range features[t] {
			d := v - mean[j]
			sd[j] += d * d
		}
	}
	x := mat.NewDense(rows, p, nil)
	for t := 0; t < rows; t++ {
		for j, v := range features[t] {
			d := v - mean[j]
			if scale {
				s := math.Sqrt(sd[j] / float64(sp.a))
				if s < 1e-12 {
					d = 0
				} else {
					d /= s
				}
			}
			x.Set(t, j, d)
		}
	}
	k := mat.NewSymDense(rows, nil)
	k.SymOuterK(1, x)
	return k
}

// ridgeResult is one target's held-out score.
type ridgeResult struct {
	R      float64 // r on the scoring part
	Lambda float64 // the λ chosen on the selection part (relative to mean diag of the gram)
}

// ridgeLambdas are the λ tried, relative to the mean diagonal of the gram (the features'
// total variance per sample).
func ridgeLambdas() []float64 { return []float64{1e-4, 1e-3, 1e-2, 0.03, 0.1, 0.3, 1, 3, 10, 100} }

// eigSolver holds the eigendecomposition of a training gram.
type eigSolver struct {
	vals []float64
	vecs *mat.Dense
	rows []int
}

func newSolver(k *mat.SymDense, rows []int) (*eigSolver, error) {
	n := len(rows)
	sub := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			sub.SetSym(i, j, k.At(rows[i], rows[j]))
		}
	}
	var e mat.EigenSym
	if !e.Factorize(sub, true) {
		return nil, fmt.Errorf("eigendecomposition of a %d×%d gram failed", n, n)
	}
	v := mat.NewDense(n, n, nil)
	e.VectorsTo(v)
	return &eigSolver{vals: e.Values(nil), vecs: v, rows: rows}, nil
}

// predict returns the ridge prediction at rows `at` for target y (full length), λ absolute.
func (s *eigSolver) predict(k *mat.SymDense, y []float64, lam float64, at []int) []float64 {
	n := len(s.rows)
	ym := 0.0
	for _, r := range s.rows {
		ym += y[r]
	}
	ym /= float64(n)
	yc := mat.NewVecDense(n, nil)
	for i, r := range s.rows {
		yc.SetVec(i, y[r]-ym)
	}
	var c mat.VecDense
	c.MulVec(s.vecs.T(), yc)
	for i := 0; i < n; i++ {
		c.SetVec(i, c.AtVec(i)/(s.vals[i]+lam))
	}
	var alpha mat.VecDense
	alpha.MulVec(s.vecs, &c)
	out := make([]float64, len(at))
	for i, r := range at {
		v := ym
		for j, q := range s.rows {
			v += k.At(r, q) * alpha.AtVec(j)
		}
		out[i] = v
	}
	return out
}

func rangeRows(lo, hi int) []int {
	out := make([]int, 0, hi-lo)
	for t := lo; t < hi; t++ {
		out = append(out, t)
	}
	return out
}

// heldOutRidge fits each target on the selection part (λ by blocked CV there) and scores it on
// the scoring part.
func heldOutRidge(k *mat.SymDense, targets [][]float64, sp split) ([]ridgeResult, error) {
	scale := 0.0
	for t := 0; t < sp.a; t++ {
		scale += k.At(t, t)
	}
	scale /= float64(sp.a)
	const folds = 5
	type fold struct {
		s    *eigSolver
		test []int
	}
	var fs []fold
	for f := 0; f < folds; f++ {
		lo, hi := f*sp.a/folds, (f+1)*sp.a/folds
		var train []int
		for t := 0; t < sp.a; t++ {
			if t < lo-sp.gap || t >= hi+sp.gap {
				train = append(train, t)
			}
		}
		s, err := newSolver(k, train)
		if err != nil {
			return nil, err
		}
		fs = append(fs, fold{s, rangeRows(lo, hi)})
	}
	full, err := newSolver(k, rangeRows(0, sp.a))
	if err != nil {
		return nil, err
	}
	score := rangeRows(sp.a+sp.gap, sp.rows)
	out := make([]ridgeResult, len(targets))
	for i, y := range targets {
		lambdas := ridgeLambdas()
		bestL, bestR := lambdas[0], math.Inf(-1)
		for _, l := range lambdas {
			r := 0.0
			for _, f := range fs {
				r += metrics.PearsonFloat64(f.s.predict(k, y, l*scale, f.test), pick(y, f.test))
			}
			if r /= folds; r > bestR {
				bestL, bestR = l, r
			}
		}
		out[i] = ridgeResult{R: metrics.PearsonFloat64(full.predict(k, y, bestL*scale, score), pick(y, score)), Lambda: bestL}
	}
	return out, nil
}

func pick(y []float64, rows []int) []float64 {
	out := make([]float64, len(rows))
	for i, r := range rows {
		out[i] = y[r]
	}
	return out
}

// rotate shifts x circularly by s (the probe's null): out[t] = x[(t − s) mod n].
func rotate(x []float64, s int) []float64 {
	n := len(x)
	out := make([]float64, n)
	for t := range x {
		out[((t+s)%n+n)%n] = x[t]
	}
	return out
}

// nullShifts are the probe's: a quarter, a half, three quarters of the series.
func nullShifts(rows int) []int { return []int{rows / 4, rows / 2, rows * 3 / 4} }
