package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/internal/testutil"
)

// TestComposeKernelsMatchesCollapseStack checks the in-graph composition of a linear stack
// against CollapseStack (computed on the host in float64), with and without biases.
func TestComposeKernelsMatchesCollapseStack(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, backend compute.Backend) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, tc := range []struct {
			chans  []int // Cin_0, Cout_0, Cout_1, …
			sizes  [][2]int
			biases []bool
		}{
			{[]int{4, 3, 3, 3}, [][2]int{{3, 3}, {3, 3}, {3, 3}}, []bool{false, false, true}},
			{[]int{2, 5, 3}, [][2]int{{3, 2}, {4, 3}}, []bool{true, true}},
			{[]int{3, 2}, [][2]int{{5, 5}}, []bool{false}},
		} {
			t.Run(fmt.Sprint(tc.chans, tc.sizes), func(t *testing.T) {
				var kernels, biases []*tensors.Tensor
				var args []any
				for i, s := range tc.sizes {
					k := testutil.RandomTensor64(rng, s[0], s[1], tc.chans[i], tc.chans[i+1])
					kernels = append(kernels, k)
					args = append(args, k)
					var b *tensors.Tensor
					if tc.biases[i] {
						b = testutil.RandomTensor64(rng, tc.chans[i+1])
						args = append(args, b)
					}
					biases = append(biases, b)
				}
				wantK, wantB, err := CollapseStack(kernels, biases)
				if err != nil {
					t.Fatal(err)
				}
				outs, err := execN(backend, func(in []*graph.Node) []*graph.Node {
					var ks, bs []*graph.Node
					j := 0
					for i := range tc.sizes {
						ks = append(ks, in[j])
						j++
						var b *graph.Node
						if tc.biases[i] {
							b = in[j]
							j++
						}
						bs = append(bs, b)
					}
					k, b := composeKernels(ks, bs)
					if b == nil {
						b = graph.Zeros(k.Graph(), wantB.Shape())
					}
					return []*graph.Node{k, b}
				}, args...)
				if err != nil {
					t.Fatal(err)
				}
				if e := testutil.MaxRelErr(testutil.Float64s(t, outs[0]), testutil.Float64s(t, wantK), 1); e > 1e-12 {
					t.Errorf("kernel: max rel error %g vs CollapseStack", e)
				}
				if e := testutil.MaxRelErr(testutil.Float64s(t, outs[1]), testutil.Float64s(t, wantB), 1); e > 1e-12 {
					t.Errorf("bias: max rel error %g vs CollapseStack", e)
				}
			})
		}
	})
}

// TestForwardFFTMatchesDirect checks, on XLA, that the models computed with FFTConv2D and the
// composed kernels give the outputs, hidden layers and parameter gradients that the direct
// convolutions (ParamDirectConvolution) give, in float64: evaluation and training mode.
func TestForwardFFTMatchesDirect(t *testing.T) {
	backend := testutil.XLABackend(t)
	if !FFTConvolution(backend) {
		t.Skipf("the models use FFT convolutions only on XLA's CPU engine, not on %s", backend.Description())
	}
	for _, typ := range []string{ModelBNCNN, ModelLinearStacked} {
		t.Run(typ, func(t *testing.T) {
			cfg := smallConfig(typ)
			cfg.Noise = 0
			ctx := model.NewStore().RootScope()
			ctx.SetParam(model.ParamInitialSeed, int64(3))
			x := testutil.ToTensor(testutil.Float64s(t, testutil.RandomWindows(cfg.ImgShape, 4, 5)), dtypes.Float64, 4, cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2])
			var trainable []Var
			for _, v := range Vars(cfg) {
				if v.Trainable {
					trainable = append(trainable, v)
				}
			}
			run := func(direct, training bool) []*tensors.Tensor {
				ctx.SetParam(ParamDirectConvolution, direct)
				outs, err := model.CallOnceN(backend, ctx.Store(), func(ctx *model.Scope, x *graph.Node) []*graph.Node {
					g := x.Graph()
					ctx.Store().SetTraining(g, training)
					out := Forward(ctx, cfg, x)
					res := []*graph.Node{out.Rates, out.Hidden[LayerConv1], out.Hidden[LayerConv2]}
					if training {
						loss := graph.ReduceAllSum(graph.Mul(out.Rates, out.Rates))
						vars := make([]*graph.Node, len(trainable))
						for i, v := range trainable {
							vars[i] = ctx.Store().GetVariable(v.Path(ctx)).NodeValue(g)
						}
						res = append(res, graph.Gradient(loss, vars...)...)
						// The attribution to a hidden layer, through the exposed nodes.
						res = append(res, graph.Gradient(loss, out.Hidden[LayerConv1])...)
					}
					return res
				}, x)
				if err != nil {
					t.Fatal(err)
				}
				return outs
			}
			// Evaluation first: training calls update the running statistics.
			for _, training := range []bool{false, true} {
				fft, direct := run(false, training), run(true, training)
				for i := range direct {
					name := fmt.Sprintf("output %d", i)
					if i >= 3 && i < 3+len(trainable) {
						name = "gradient wrt " + trainable[i-3].TorchKey
					}
					if e := testutil.MaxRelErr(testutil.Float64s(t, fft[i]), testutil.Float64s(t, direct[i]), 1e-3); e > 1e-9 {
						t.Errorf("training=%v, %s: max rel error %g between FFT and direct convolutions", training, name, e)
					}
				}
			}
		})
	}
}
