package nn

import (
	"math"
	"slices"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/internal/testutil"
)

// TestCosSin2Pi measures the float32 polynomials of cosSin2Pi against math.Cos and math.Sin on
// a grid of 2²⁰ angles in [0, 1) turn, quadrant edges included, on both engines.
func TestCosSin2Pi(t *testing.T) {
	const n = 1 << 20
	u := make([]float32, n)
	for i := range u {
		u[i] = float32(i) / n
	}
	u = append(u, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, math.Nextafter32(1, 0), math.Nextafter32(0.25, 0), math.Nextafter32(0.25, 1))
	testutil.ForEachEngine(t, func(t *testing.T, backend compute.Backend) {
		outs, err := execN(backend, func(xs []*graph.Node) []*graph.Node {
			c, s := cosSin2Pi(xs[0])
			return []*graph.Node{c, s}
		}, u)
		if err != nil {
			t.Fatal(err)
		}
		cos, sin := outs[0].Value().([]float32), outs[1].Value().([]float32)
		var worst float64
		for i, v := range u {
			theta := 2 * math.Pi * float64(v)
			worst = max(worst, math.Abs(float64(cos[i])-math.Cos(theta)), math.Abs(float64(sin[i])-math.Sin(theta)))
		}
		// float32's spacing near 1 is 6e-8; the angle itself is a float32.
		if worst > 2e-7 {
			t.Errorf("largest error of cos(2πu), sin(2πu) over %d angles: %.3g, want ≤ 2e-7", len(u), worst)
		}
		t.Logf("largest error over %d angles: %.3g", len(u), worst)
	})
}

// normalChecks holds the statistics TestRandomNormalIsStandardNormal judges a sample by: its
// mean and variance, the Kolmogorov–Smirnov distance of its distribution from the standard
// normal's, and, over the pairs randomNormal draws together (the first and second half),
// the correlation of the values and of their squares.
type normalChecks struct{ mean, variance, ks, corr, corrSq float64 }

func checkNormal(z []float64) normalChecks {
	n := float64(len(z))
	var c normalChecks
	for _, v := range z {
		c.mean += v / n
	}
	for _, v := range z {
		c.variance += (v - c.mean) * (v - c.mean) / n
	}
	sorted := slices.Clone(z)
	slices.Sort(sorted)
	for i, v := range sorted {
		cdf := 0.5 * math.Erfc(-v/math.Sqrt2)
		c.ks = max(c.ks, math.Abs(cdf-float64(i)/n), math.Abs(cdf-float64(i+1)/n))
	}
	h := len(z) / 2
	a, b := z[:h], z[h:2*h]
	sq := func(x []float64) []float64 {
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = v * v
		}
		return out
	}
	c.corr, c.corrSq = pearson(a, b), pearson(sq(a), sq(b))
	return c
}

func pearson(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb)
}

// pass applies the criteria for n draws: mean and variance within about 5 standard errors,
// the KS distance under 1.95/√n (the 0.1 % critical value), correlations within 5/√(n/2).
func (c normalChecks) pass(n int) bool {
	se := 1 / math.Sqrt(float64(n))
	return math.Abs(c.mean) < 5*se && math.Abs(c.variance-1) < 5*math.Sqrt2*se &&
		c.ks < 1.95*se && math.Abs(c.corr) < 5*math.Sqrt2*se && math.Abs(c.corrSq) < 5*math.Sqrt2*se
}

// TestRandomNormalIsStandardNormal draws 2¹⁸ values of the models' training noise in float32 on
// both engines, for two seeds, and checks that they are standard normal and that the two values
// of each Box–Muller pair are uncorrelated, in their values and their squares. The criteria are
// checked against planted wrong samplers, which must fail them: a normal of standard deviation
// 1.02, Box–Muller's radius without its factor 2, the same angle used for both values of a pair
// (cos θ, cos θ), and a uniform variate.
func TestRandomNormalIsStandardNormal(t *testing.T) {
	const n = 1 << 18
	testutil.ForEachEngine(t, func(t *testing.T, backend compute.Backend) {
		for _, seed := range []int64{1, 2} {
			ctx := model.NewStore().RootScope()
			ctx.SetParam(model.ParamInitialSeed, seed)
			exec, err := model.NewExec(backend, ctx.Store(), func(ctx *model.Scope, x *graph.Node) []*graph.Node {
				g := x.Graph()
				z := randomNormal(ctx, g, shapes.Make(dtypes.Float32, n))
				u1, u2 := ctx.RandomUniform(g, shapes.Make(dtypes.Float32, n/2)), ctx.RandomUniform(g, shapes.Make(dtypes.Float32, n/2))
				cos, _ := cosSin2Pi(u2)
				noFactor2 := graph.Mul(graph.Sqrt(graph.Neg(graph.Log(graph.Max(u1, graph.Scalar(g, dtypes.Float32, 1e-30))))), cos)
				sameAngle := graph.Concatenate([]*graph.Node{graph.Mul(boxMullerRadius(u1), cos), graph.Mul(boxMullerRadius(u2), cos)}, 0)
				return []*graph.Node{z, graph.MulScalar(z, 1.02), graph.Concatenate([]*graph.Node{noFactor2, noFactor2}, 0), sameAngle, ctx.RandomUniform(g, shapes.Make(dtypes.Float32, n))}
			})
			if err != nil {
				t.Fatal(err)
			}
			outs, err := exec.Exec(float32(0))
			if err != nil {
				t.Fatal(err)
			}
			names := []string{"randomNormal", "σ = 1.02", "radius without the factor 2", "same angle for a pair", "uniform"}
			for i, o := range outs {
				c := checkNormal(testutil.Float64s(t, o))
				if ok := c.pass(n); ok != (i == 0) {
					t.Errorf("seed %d, %s: passes = %v, want %v (mean %.4f, variance %.4f, KS %.4f, pair correlation %.4f, of squares %.4f)",
						seed, names[i], ok, i == 0, c.mean, c.variance, c.ks, c.corr, c.corrSq)
				} else if i == 0 {
					t.Logf("seed %d: mean %.4f, variance %.4f, KS %.4f, pair correlation %.4f, of squares %.4f", seed, c.mean, c.variance, c.ks, c.corr, c.corrSq)
				}
			}
		}
	})
}
