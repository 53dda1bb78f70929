package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/internal/testutil"
)

// bnHand is the hand computation of PyTorch's BatchNorm1d on x [B, F] (row-major).
type bnHand struct {
	y, dx, dScale, dShift, newMean, newVar []float64
}

func handBatchNorm(x []float64, b, f int, gamma, beta, rm, rv []float64, r []float64, opts BatchNormOptions, training bool) bnHand {
	g := make([]float64, f)
	for j := range f {
		g[j] = gamma[j]
		if opts.Abs {
			g[j] = math.Abs(gamma[j])
		}
	}
	h := bnHand{y: make([]float64, b*f), dx: make([]float64, b*f), dScale: make([]float64, f), dShift: make([]float64, f),
		newMean: make([]float64, f), newVar: make([]float64, f)}
	for j := range f {
		var mean, variance float64
		if training {
			for i := range b {
				mean += x[i*f+j]
			}
			mean /= float64(b)
			for i := range b {
				d := x[i*f+j] - mean
				variance += d * d
			}
			variance /= float64(b)
			m := opts.Momentum
			h.newMean[j] = (1-m)*rm[j] + m*mean
			h.newVar[j] = (1-m)*rv[j] + m*variance*float64(b)/float64(b-1)
		} else {
			mean, variance = rm[j], rv[j]
			h.newMean[j], h.newVar[j] = rm[j], rv[j]
		}
		sigma := math.Sqrt(variance + opts.Eps)
		xhat := make([]float64, b)
		dy := make([]float64, b)
		var meanDy, meanDyXhat float64
		for i := range b {
			xhat[i] = (x[i*f+j] - mean) / sigma
			h.y[i*f+j] = xhat[i]*g[j] + beta[j]
			dy[i] = r[i*f+j] + h.y[i*f+j] // loss = Σ r·y + ½ Σ y²
			h.dShift[j] += dy[i]
			h.dScale[j] += dy[i] * xhat[i]
			meanDy += dy[i] / float64(b)
			meanDyXhat += dy[i] * xhat[i] / float64(b)
		}
		if opts.Abs && gamma[j] < 0 {
			h.dScale[j] = -h.dScale[j]
		}
		for i := range b {
			if training {
				h.dx[i*f+j] = g[j] / sigma * (dy[i] - meanDy - xhat[i]*meanDyXhat)
			} else {
				h.dx[i*f+j] = g[j] / sigma * dy[i]
			}
		}
	}
	return h
}

func TestFlatBatchNorm(t *testing.T) {
	backend := testBackend()
	const b, f = 5, 4
	for _, abs := range []bool{false, true} {
		for _, training := range []bool{true, false} {
			t.Run(fmt.Sprintf("abs=%v/training=%v", abs, training), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(5, 6))
				opts := BatchNormOptions{Momentum: 0.1, Eps: 1e-3, Abs: abs}
				x := randomSlice(rng, b*f)
				for i := range x {
					x[i] = 2*x[i] + 0.5 // non-zero mean, non-unit variance
				}
				gamma := []float64{1.3, -0.7, 0.4, -1.1} // negative values exercise |γ| in the abs variant
				beta := randomSlice(rng, f)
				rm := randomSlice(rng, f)
				rv := []float64{0.5, 2, 1.5, 3}
				r := randomSlice(rng, b*f)
				want := handBatchNorm(x, b, f, gamma, beta, rm, rv, r, opts, training)

				ctx := model.NewStore().RootScope()
				bnCtx := ctx.At("bn")
				scaleName, shiftName := bnWeight, bnBias
				if abs {
					scaleName, shiftName = bnAbsScale, bnAbsShift
				}
				bnCtx.VariableWithValue(scaleName, tensors.FromFlatDataAndDimensions(gamma, f))
				bnCtx.VariableWithValue(shiftName, tensors.FromFlatDataAndDimensions(beta, f))
				bnCtx.VariableWithValue(bnRunningMean, tensors.FromFlatDataAndDimensions(rm, f)).SetTrainable(false)
				bnCtx.VariableWithValue(bnRunningVar, tensors.FromFlatDataAndDimensions(rv, f)).SetTrainable(false)
				exec, err := model.NewExec(backend, ctx.Store(), func(ctx *model.Scope, x, r *graph.Node) []*graph.Node {
					g := x.Graph()
					ctx.Store().SetTraining(g, training)
					y := FlatBatchNorm(ctx.At("bn"), x, opts)
					loss := graph.Add(graph.ReduceAllSum(graph.Mul(r, y)), graph.MulScalar(graph.ReduceAllSum(graph.Square(y)), 0.5))
					scaleV := ctx.At("bn").GetVariable(scaleName).NodeValue(g)
					shiftV := ctx.At("bn").GetVariable(shiftName).NodeValue(g)
					return append([]*graph.Node{y}, graph.Gradient(loss, x, scaleV, shiftV)...)
				})
				if err != nil {
					t.Fatal(err)
				}
				outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, b, f), tensors.FromFlatDataAndDimensions(r, b, f))
				if err != nil {
					t.Fatal(err)
				}
				check := func(name string, got *tensors.Tensor, want []float64) {
					t.Helper()
					if e := testutil.MaxRelErr(testutil.Float64s(t, got), want, 1); e > 1e-12 {
						t.Errorf("%s: rel err %g vs hand computation", name, e)
					}
				}
				check("y", outs[0], want.y)
				check("dx", outs[1], want.dx)
				check("dscale", outs[2], want.dScale)
				check("dshift", outs[3], want.dShift)
				check("running_mean", bnCtx.GetVariable(bnRunningMean).MustValue(), want.newMean)
				check("running_var", bnCtx.GetVariable(bnRunningVar).MustValue(), want.newVar)
				for _, name := range []string{bnRunningMean, bnRunningVar} {
					if bnCtx.GetVariable(name).Trainable {
						t.Errorf("%s is trainable", name)
					}
				}
				counter := bnCtx.GetVariable(bnNumBatches)
				if abs {
					if counter != nil {
						t.Errorf("abs batch norm must not have %s", bnNumBatches)
					}
				} else {
					wantCount := int64(0)
					if training {
						wantCount = 1
					}
					if got := counter.MustValue().Value().(int64); got != wantCount {
						t.Errorf("%s = %d, want %d", bnNumBatches, got, wantCount)
					}
				}
			})
		}
	}
}

// TestFlatBatchNormRunningStatsAccumulate runs several training steps and checks the running
// statistics follow running = (1−m)·running + m·batch (unbiased variance) at every step.
func TestFlatBatchNormRunningStatsAccumulate(t *testing.T) {
	backend := testBackend()
	const b, f = 3, 2
	opts := BatchNormOptions{Momentum: DefaultBNMomentum, Eps: DefaultBNEps}
	ctx := model.NewStore().RootScope()
	exec, err := model.NewExec(backend, ctx.Store(), func(ctx *model.Scope, x *graph.Node) *graph.Node {
		ctx.Store().SetTraining(x.Graph(), true)
		return FlatBatchNorm(ctx.At("bn"), x, opts)
	})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	rm, rv := []float64{0, 0}, []float64{1, 1}
	for step := range 4 {
		x := randomSlice(rng, b*f)
		if _, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, b, f)); err != nil {
			t.Fatal(err)
		}
		want := handBatchNorm(x, b, f, []float64{1, 1}, []float64{0, 0}, rm, rv, make([]float64, b*f), opts, true)
		rm, rv = want.newMean, want.newVar
		bnCtx := ctx.At("bn")
		if e := testutil.MaxRelErr(testutil.Float64s(t, bnCtx.GetVariable(bnRunningMean).MustValue()), rm, 1); e > 1e-6 {
			t.Errorf("step %d: running_mean rel err %g", step, e)
		}
		if e := testutil.MaxRelErr(testutil.Float64s(t, bnCtx.GetVariable(bnRunningVar).MustValue()), rv, 1); e > 1e-6 {
			t.Errorf("step %d: running_var rel err %g", step, e)
		}
		if got := bnCtx.GetVariable(bnNumBatches).MustValue().Value().(int64); got != int64(step+1) {
			t.Errorf("step %d: num_batches_tracked = %d", step, got)
		}
		if dt := bnCtx.GetVariable(bnWeight).DType(); dt != dtypes.Float64 {
			t.Errorf("weight dtype %s, want float64 (the input's)", dt)
		}
	}
}

func TestFlatBatchNormTrainingNeedsBatch2(t *testing.T) {
	backend := testBackend()
	ctx := model.NewStore().RootScope()
	g := graph.NewGraph(backend, "bn1")
	ctx.Store().SetTraining(g, true)
	x := graph.Parameter(g, "x", shapeF32(1, 3))
	err := catchPanic(func() { FlatBatchNorm(ctx, x, BatchNormOptions{Momentum: 0.1, Eps: 1e-3}) })
	if err == nil || !strings.Contains(err.Error(), "batch size 1") {
		t.Errorf("got %v, want an error about batch size 1", err)
	}
}
