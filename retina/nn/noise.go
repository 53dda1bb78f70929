package nn

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// randomNormal draws standard normal values of the given shape by the Box–Muller transform,
// like GoMLX's RandomNormal, with two differences.
//
// The uniform variate under the logarithm is kept at or above a normal float32 (1e-30).
// GoMLX floors it at the smallest denormal, which XLA's CPU code flushes to zero: a zero
// variate then gives an infinite sample, about once per 2³² draws, which turned a training run
// to NaN in its sixth epoch.
//
// Each pair of uniform variates gives two independent normal values, r·cos θ and r·sin θ
// (Box & Muller 1958), where GoMLX uses one: half the random bits, logarithms and square roots.
// In float32, cos θ and sin θ come from cosSin2Pi's polynomials, which XLA's CPU code
// vectorises, instead of its Cos, which it computes one value at a time in the C library
// (6 % of a LinearStackedBNCNN training step at batch 64).
func randomNormal(ctx *model.Scope, g *graph.Graph, shape shapes.Shape) *graph.Node {
	n := shape.Size()
	half := shapes.Make(shape.DType, (n+1)/2)
	u1, u2 := ctx.RandomUniform(g, half), ctx.RandomUniform(g, half)
	r := boxMullerRadius(u1)
	cos, sin := cosSin2Pi(u2)
	z := graph.Concatenate([]*graph.Node{graph.Mul(r, cos), graph.Mul(r, sin)}, 0)
	if n%2 == 1 {
		z = graph.Slice(z, graph.AxisRange(0, n))
	}
	return graph.Reshape(z, shape.Dimensions...)
}

// boxMuller maps two uniform variates in [0, 1) to a standard normal one, r·cos θ (the first of
// randomNormal's pair).
func boxMuller(u1, u2 *graph.Node) *graph.Node {
	cos, _ := cosSin2Pi(u2)
	return graph.Mul(boxMullerRadius(u1), cos)
}

// boxMullerRadius is √(−2 ln u), with u floored at 1e-30 so that u = 0 gives a finite radius.
func boxMullerRadius(u *graph.Node) *graph.Node {
	u = graph.Max(u, graph.Scalar(u.Graph(), u.DType(), 1e-30))
	return graph.Sqrt(graph.MulScalar(graph.Log(u), -2))
}

// cosSin2Pi returns cos(2πu) and sin(2πu). In float64 it uses Cos and Sin. In float32 the angle
// is reduced exactly to a quadrant q and φ = (4u − q)·π/2 in [−π/4, π/4] (4u is exact and so is
// its difference from the nearest integer), and cos φ, sin φ are their Taylor polynomials to
// φ⁸ and φ⁹, whose truncation errors, below φ¹⁰/10! ≤ 2.5e-8 and φ¹¹/11! ≤ 1.7e-9, are under
// float32's rounding (TestCosSin2Pi measures the result against math.Cos and math.Sin).
func cosSin2Pi(u *graph.Node) (cos, sin *graph.Node) {
	if u.DType() != dtypes.Float32 {
		theta := graph.MulScalar(u, 2*math.Pi)
		return graph.Cos(theta), graph.Sin(theta)
	}
	t := graph.MulScalar(u, 4)
	q := graph.Round(t)
	phi := graph.MulScalar(graph.Sub(t, q), math.Pi/2)
	p := graph.Mul(phi, phi)
	c := horner(p, 1, -1.0/2, 1.0/24, -1.0/720, 1.0/40320)
	s := graph.Mul(phi, horner(p, 1, -1.0/6, 1.0/120, -1.0/5040, 1.0/362880))
	// The quadrant q mod 4: θ = q·π/2 + φ.
	q = graph.Sub(q, graph.MulScalar(graph.Floor(graph.MulScalar(q, 0.25)), 4))
	is := func(v float64) *graph.Node { return graph.Equal(q, graph.Scalar(u.Graph(), u.DType(), v)) }
	odd := graph.Or(is(1), is(3))
	cos = graph.Where(odd, s, c) // |cos θ| is |sin φ| in the odd quadrants
	sin = graph.Where(odd, c, s)
	cos = graph.Where(graph.Or(is(1), is(2)), graph.Neg(cos), cos)
	sin = graph.Where(graph.Or(is(2), is(3)), graph.Neg(sin), sin)
	return cos, sin
}

// horner evaluates Σ coef[k]·p^k.
func horner(p *graph.Node, coef ...float64) *graph.Node {
	acc := graph.Scalar(p.Graph(), p.DType(), coef[len(coef)-1])
	for k := len(coef) - 2; k >= 0; k-- {
		acc = graph.AddScalar(graph.Mul(acc, p), coef[k])
	}
	return acc
}
