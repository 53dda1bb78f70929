package analysis

import (
	"math"
	"sort"
)

// nelderMead minimises f from start with the Nelder–Mead simplex (standard coefficients:
// reflection 1, expansion 2, contraction ½, shrink ½), initial steps of 10 % of each
// coordinate (0.1 for zeros), until the simplex's values agree to tol (relative) or maxEvals
// evaluations. It returns the best point and its value. (gonum's optimize package would pull in
// golang.org/x/tools through its CMA-ES code; the curve fits here need only this.)
func nelderMead(f func([]float64) float64, start []float64, tol float64, maxEvals int) ([]float64, float64) {
	n := len(start)
	type vertex struct {
		x []float64
		v float64
	}
	evals := 0
	eval := func(x []float64) float64 {
		evals++
		v := f(x)
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	simplex := make([]vertex, n+1)
	simplex[0] = vertex{append([]float64(nil), start...), eval(start)}
	for i := 0; i < n; i++ {
		x := append([]float64(nil), start...)
		if x[i] != 0 {
			x[i] *= 1.1
		} else {
			x[i] = 0.1
		}
		simplex[i+1] = vertex{x, eval(x)}
	}
	point := func(c []float64, t float64, w []float64) []float64 { // c + t·(c − w)
		out := make([]float64, n)
		for i := range out {
			out[i] = c[i] + t*(c[i]-w[i])
		}
		return out
	}
	for evals < maxEvals {
		sort.Slice(simplex, func(a, b int) bool { return simplex[a].v < simplex[b].v })
		best, worst := simplex[0].v, simplex[n].v
		if math.Abs(worst-best) <= tol*(math.Abs(best)+math.Abs(worst))+1e-300 {
			break
		}
		centroid := make([]float64, n)
		for _, s := range simplex[:n] {
			for i, v := range s.x {
				centroid[i] += v / float64(n)
			}
		}
		r := point(centroid, 1, simplex[n].x)
		fr := eval(r)
		switch {
		case fr < simplex[0].v:
			e := point(centroid, 2, simplex[n].x)
			if fe := eval(e); fe < fr {
				simplex[n] = vertex{e, fe}
			} else {
				simplex[n] = vertex{r, fr}
			}
		case fr < simplex[n-1].v:
			simplex[n] = vertex{r, fr}
		default:
			c := point(centroid, -0.5, simplex[n].x)
			if fr < simplex[n].v {
				c = point(centroid, 0.5, simplex[n].x)
			}
			if fc := eval(c); fc < math.Min(fr, simplex[n].v) {
				simplex[n] = vertex{c, fc}
				continue
			}
			for k := 1; k <= n; k++ {
				x := make([]float64, n)
				for i := range x {
					x[i] = simplex[0].x[i] + 0.5*(simplex[k].x[i]-simplex[0].x[i])
				}
				simplex[k] = vertex{x, eval(x)}
			}
		}
	}
	sort.Slice(simplex, func(a, b int) bool { return simplex[a].v < simplex[b].v })
	return simplex[0].x, simplex[0].v
}

// fitRestarts runs nelderMead from start, then restarts it from its result until the value
// stops improving (a simplex can stall on a ridge; restarting resets its shape).
func fitRestarts(f func([]float64) float64, start []float64) ([]float64, float64) {
	x, v := nelderMead(f, start, 1e-12, 20000)
	for i := 0; i < 5; i++ {
		x2, v2 := nelderMead(f, x, 1e-12, 20000)
		improved := v2 < v*(1-1e-9)
		x, v = x2, v2
		if !improved {
			break
		}
	}
	return x, v
}
