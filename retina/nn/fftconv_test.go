package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"

	"github.com/deepretina/deepretina/internal/testutil"
)

// fftConvCases are convCases plus odd widths and a BNCNN-like first layer (15×15 kernel).
var fftConvCases = append(slices.Clone(convCases),
	convCase{b: 2, h: 9, w: 7, c: 3, kh: 3, kw: 5, o: 2, bias: true},
	convCase{b: 3, h: 20, w: 21, c: 4, kh: 15, kw: 15, o: 3, bias: true},
)

// TestFFTConv2D checks FFTConv2D on XLA against the naive loop (values) and against Conv2D's
// gradients (which TestConv2DGradients checks by finite differences), in float64 and float32,
// with the gradients taken in one reverse pass and in two (input only, then kernel and bias).
func TestFFTConv2D(t *testing.T) {
	backend := testutil.XLABackend(t)
	if !FFTConvolution(backend) {
		t.Logf("FFTConvolution is false on %s (not XLA's CPU engine); FFTConv2D is checked anyway", backend.Description())
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dtype := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
		for _, cc := range fftConvCases {
			t.Run(fmt.Sprintf("%s/%s", dtype, cc), func(t *testing.T) {
				ho, wo := cc.h-cc.kh+1, cc.w-cc.kw+1
				x := randomSlice(rng, cc.b*cc.h*cc.w*cc.c) // channels-last, as naiveConv2D
				k := randomSlice(rng, cc.kh*cc.kw*cc.c*cc.o)
				bias := randomSlice(rng, cc.o)
				r := randomSlice(rng, cc.b*ho*wo*cc.o)
				if !cc.bias {
					clear(bias)
				}
				want := naiveConv2D(x, cc.b, cc.h, cc.w, cc.c, k, cc.kh, cc.kw, cc.o, bias)
				outs, err := execN(backend, func(in []*graph.Node) []*graph.Node {
					xcl, k, b, r := in[0], in[1], in[2], in[3]
					xcf := graph.TransposeAllAxes(xcl, 0, 3, 1, 2)
					yFFT := graph.TransposeAllAxes(FFTConv2D(xcf, k, b), 0, 2, 3, 1) // back to channels-last
					yDirect := Conv2D(xcl, k, b)
					loss := func(y *graph.Node) *graph.Node {
						return graph.Add(graph.ReduceAllSum(graph.Mul(r, y)), graph.MulScalar(graph.ReduceAllSum(graph.Square(y)), 0.5))
					}
					lFFT, lDirect := loss(yFFT), loss(yDirect)
					res := []*graph.Node{yFFT}
					res = append(res, graph.Gradient(lFFT, xcf, k, b)...)
					res = append(res, graph.Gradient(lFFT, xcf)...)  // a second reverse pass: input only
					res = append(res, graph.Gradient(lFFT, k, b)...) // a third: kernel and bias only
					res = append(res, graph.Gradient(lDirect, xcl, k, b)...)
					return res
				}, testutil.ToTensor(x, dtype, cc.b, cc.h, cc.w, cc.c), testutil.ToTensor(k, dtype, cc.kh, cc.kw, cc.c, cc.o),
					testutil.ToTensor(bias, dtype, cc.o), testutil.ToTensor(r, dtype, cc.b, ho, wo, cc.o))
				if err != nil {
					t.Fatal(err)
				}
				tol := 1e-11
				if dtype == dtypes.Float32 {
					tol = 2e-5
				}
				check := func(what string, got, want []float64) {
					t.Helper()
					if e := testutil.MaxRelErr(got, want, 1); e > tol {
						t.Errorf("%s: max rel error %g > %g", what, e, tol)
					}
				}
				check("output vs naive loop", testutil.Float64s(t, outs[0]), want)
				// outs: 1-3 one pass (dx channels-first, dk, db), 4 dx alone, 5-6 dk, db, 7-9 Conv2D's (dx channels-last).
				dxDirect := transposeCLToCF(testutil.Float64s(t, outs[7]), cc.b, cc.h, cc.w, cc.c)
				check("input gradient", testutil.Float64s(t, outs[1]), dxDirect)
				check("kernel gradient", testutil.Float64s(t, outs[2]), testutil.Float64s(t, outs[8]))
				check("bias gradient", testutil.Float64s(t, outs[3]), testutil.Float64s(t, outs[9]))
				check("input gradient, second pass", testutil.Float64s(t, outs[4]), dxDirect)
				check("kernel gradient, third pass", testutil.Float64s(t, outs[5]), testutil.Float64s(t, outs[8]))
				check("bias gradient, third pass", testutil.Float64s(t, outs[6]), testutil.Float64s(t, outs[9]))
			})
		}
	}
}

// transposeCLToCF reorders [B,H,W,C] values to [B,C,H,W].
func transposeCLToCF(v []float64, b, h, w, c int) []float64 {
	out := make([]float64, len(v))
	for bi := range b {
		for i := range h {
			for j := range w {
				for ci := range c {
					out[((bi*c+ci)*h+i)*w+j] = v[((bi*h+i)*w+j)*c+ci]
				}
			}
		}
	}
	return out
}

// TestFFTConv2DFiniteDifferences checks FFTConv2D's gradients against central differences of
// its own loss in float64 along random directions of the input and of the kernel.
func TestFFTConv2DFiniteDifferences(t *testing.T) {
	backend := testutil.XLABackend(t)
	cc := convCase{b: 2, h: 8, w: 9, c: 3, kh: 4, kw: 3, o: 2}
	ho, wo := cc.h-cc.kh+1, cc.w-cc.kw+1
	rng := rand.New(rand.NewPCG(7, 8))
	x, k := randomSlice(rng, cc.b*cc.c*cc.h*cc.w), randomSlice(rng, cc.kh*cc.kw*cc.c*cc.o)
	r := randomSlice(rng, cc.b*cc.o*ho*wo)
	lossAndGrads := func(x, k []float64) (float64, []float64, []float64) {
		outs, err := execN(backend, func(in []*graph.Node) []*graph.Node {
			y := FFTConv2D(in[0], in[1], nil)
			l := graph.Add(graph.ReduceAllSum(graph.Mul(in[2], y)), graph.MulScalar(graph.ReduceAllSum(graph.Square(y)), 0.5))
			return append([]*graph.Node{l}, graph.Gradient(l, in[0], in[1])...)
		}, testutil.ToTensor(x, dtypes.Float64, cc.b, cc.c, cc.h, cc.w), testutil.ToTensor(k, dtypes.Float64, cc.kh, cc.kw, cc.c, cc.o),
			testutil.ToTensor(r, dtypes.Float64, cc.b, cc.o, ho, wo))
		if err != nil {
			t.Fatal(err)
		}
		return testutil.Float64s(t, outs[0])[0], testutil.Float64s(t, outs[1]), testutil.Float64s(t, outs[2])
	}
	_, gx, gk := lossAndGrads(x, k)
	const eps = 1e-5
	for trial := range 3 {
		for _, which := range []string{"input", "kernel"} {
			base, grad := x, gx
			if which == "kernel" {
				base, grad = k, gk
			}
			d := randomSlice(rng, len(base))
			plus, minus := slices.Clone(base), slices.Clone(base)
			var analytic float64
			for i := range d {
				plus[i] += eps * d[i]
				minus[i] -= eps * d[i]
				analytic += grad[i] * d[i]
			}
			var lp, lm float64
			if which == "input" {
				lp, _, _ = lossAndGrads(plus, k)
				lm, _, _ = lossAndGrads(minus, k)
			} else {
				lp, _, _ = lossAndGrads(x, plus)
				lm, _, _ = lossAndGrads(x, minus)
			}
			numeric := (lp - lm) / (2 * eps)
			if e := math.Abs(numeric-analytic) / math.Max(1, math.Abs(numeric)); e > 1e-6 {
				t.Errorf("trial %d, %s direction: gradient·d = %.9g, finite difference %.9g (rel err %.2g)", trial, which, analytic, numeric, e)
			}
		}
	}
}
