package retina

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// TestCollapseStack checks collapse(stack)(x) == stack(x): the stack applied as successive
// Conv2D in a graph, the collapsed kernel by the naive loop.
func TestCollapseStack(t *testing.T) {
	backend := testBackend()
	type layer struct {
		kh, kw, cout int
		bias         bool
	}
	cases := []struct {
		name   string
		cin    int
		layers []layer
	}{
		{"single", 2, []layer{{3, 3, 3, true}}},
		{"three-3x3-last-bias", 2, []layer{{3, 3, 3, false}, {3, 3, 3, false}, {3, 3, 4, true}}},
		{"seven-3x3-gives-15x15", 3, []layer{{3, 3, 2, false}, {3, 3, 2, false}, {3, 3, 2, false}, {3, 3, 2, false},
			{3, 3, 2, false}, {3, 3, 2, false}, {3, 3, 2, true}}},
		{"mixed-sizes-all-biases", 2, []layer{{2, 3, 3, true}, {4, 1, 2, true}, {3, 3, 3, true}}},
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kernels := make([]*tensors.Tensor, len(c.layers))
			biases := make([]*tensors.Tensor, len(c.layers))
			cin, kh, kw := c.cin, 1, 1
			for i, l := range c.layers {
				kernels[i] = randomTensor64(rng, l.kh, l.kw, cin, l.cout)
				if l.bias {
					biases[i] = randomTensor64(rng, l.cout)
				}
				cin = l.cout
				kh, kw = kh+l.kh-1, kw+l.kw-1
			}
			kernel, bias, err := CollapseStack(kernels, biases)
			if err != nil {
				t.Fatal(err)
			}
			cout := c.layers[len(c.layers)-1].cout
			if want := []int{kh, kw, c.cin, cout}; !slices.Equal(kernel.Shape().Dimensions, want) {
				t.Fatalf("collapsed kernel shape %v, want %v", kernel.Shape().Dimensions, want)
			}
			const b, h, w = 2, 17, 16
			x := randomSlice(rng, b*h*w*c.cin)
			want := naiveConv2D(x, b, h, w, c.cin, mustFloat64s(t, kernel), kh, kw, cout, mustFloat64s(t, bias))
			args := []any{toTensor(x, dtypes.Float64, b, h, w, c.cin)}
			for i := range c.layers {
				args = append(args, kernels[i])
				if biases[i] != nil {
					args = append(args, biases[i])
				}
			}
			got, err := graph.CallOnce(backend, func(xs []*graph.Node) *graph.Node {
				h, rest := xs[0], xs[1:]
				for _, l := range c.layers {
					k := rest[0]
					rest = rest[1:]
					var bn *graph.Node
					if l.bias {
						bn, rest = rest[0], rest[1:]
					}
					h = Conv2D(h, k, bn)
				}
				return h
			}, args...)
			if err != nil {
				t.Fatal(err)
			}
			if e := maxRelErr(mustFloat64s(t, got), want, 1); e > 1e-12 {
				t.Errorf("stack(x) vs collapse(stack)(x): rel err %g", e)
			}
		})
	}
	if _, _, err := CollapseStack([]*tensors.Tensor{randomTensor64(rng, 3, 3, 2, 4), randomTensor64(rng, 3, 3, 3, 4)}, nil); err == nil ||
		!strings.Contains(err.Error(), "input channels") {
		t.Errorf("incompatible stack: got %v", err)
	}
}

// TestCollapsedKernelEquivalentBNCNN turns the golden LinearStackedBNCNN into a BNCNN (collapsed
// kernels, |scale| as batch-norm weight) and checks the BNCNN reproduces PyTorch's outputs of the
// stacked model: collapsing is exact on a trained model's layers, and exports to PyTorch layout.
func TestCollapsedKernelEquivalentBNCNN(t *testing.T) {
	gd := loadGolden(t, "linearstacked_small")
	cfgStacked := smallConfig(ModelLinearStacked)
	ctx := model.NewStore().RootScope()
	if err := ImportStateDict(ctx, cfgStacked, gd.sd); err != nil {
		t.Fatal(err)
	}
	cfgBN := cfgStacked
	cfgBN.Type = ModelBNCNN
	sd := map[string]*tensors.Tensor{}
	for i, layer := range []string{LayerConv1, LayerConv2} {
		kernel, bias, err := CollapsedKernel(ctx, cfgStacked, layer)
		if err != nil {
			t.Fatal(err)
		}
		k := cfgStacked.KSizes[i]
		if kernel.Shape().Dimensions[0] != k || kernel.Shape().Dimensions[1] != k || kernel.DType() != dtypes.Float32 {
			t.Fatalf("%s collapsed kernel %s, want %dx%d float32", layer, kernel.Shape(), k, k)
		}
		torchKernel, err := ConvKernelToTorch(kernel)
		if err != nil {
			t.Fatal(err)
		}
		prefix := []string{"sequential.0.", "sequential.6."}[i]
		sd[prefix+"weight"], sd[prefix+"bias"] = torchKernel, bias
	}
	for _, idx := range []int{2, 8, 12} {
		p := fmt.Sprintf("sequential.%d.", idx)
		scale := mustFloat64s(t, gd.sd[p+"scale"])
		for i := range scale {
			if scale[i] < 0 {
				scale[i] = -scale[i]
			}
		}
		sd[p+"weight"] = float64sToTensor(scale, dtypes.Float32, len(scale))
		sd[p+"bias"] = gd.sd[p+"shift"]
		sd[p+"running_mean"] = gd.sd[p+"running_mean"]
		sd[p+"running_var"] = gd.sd[p+"running_var"]
		sd[p+"num_batches_tracked"] = tensors.FromValue(int64(0))
	}
	sd["sequential.11.weight"] = gd.sd["sequential.11.weight"]
	ctxBN := model.NewStore().RootScope()
	if err := ImportStateDict(ctxBN, cfgBN, sd); err != nil {
		t.Fatal(err)
	}
	out, err := model.CallOnce(testBackend(), ctxBN.Store(), func(ctx *model.Scope, x *graph.Node) *graph.Node {
		return Forward(ctx, cfgBN, x).Rates
	}, gd.x)
	if err != nil {
		t.Fatal(err)
	}
	if e := parityErr(mustFloat64s(t, out), gd.get(t, "eval_rates"), parityAtol); e > parityTol {
		t.Errorf("BNCNN with collapsed kernels vs PyTorch LinearStackedBNCNN: rel err %g", e)
	}

	// For a BNCNN, CollapsedKernel returns the layer's own kernel.
	kernel, _, err := CollapsedKernel(ctxBN, cfgBN, LayerConv2)
	if err != nil {
		t.Fatal(err)
	}
	torchKernel, _ := ConvKernelToTorch(kernel)
	if !slices.Equal(mustFloat64s(t, torchKernel), mustFloat64s(t, sd["sequential.6.weight"])) {
		t.Error("CollapsedKernel of a BNCNN differs from its kernel")
	}
	if _, _, err := CollapsedKernel(ctxBN, cfgBN, "conv3"); err == nil || !strings.Contains(err.Error(), "unknown layer") {
		t.Errorf("unknown layer: got %v", err)
	}
}
