package torchio

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/internal/tensorconv"
	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/retina/nn/nntest"
)

// TestCollapsedKernelEquivalentBNCNN turns the golden LinearStackedBNCNN into a BNCNN (collapsed
// kernels, |scale| as batch-norm weight) and checks the BNCNN reproduces PyTorch's outputs of the
// stacked model: collapsing is exact on a trained model's layers, and exports to PyTorch layout.
func TestCollapsedKernelEquivalentBNCNN(t *testing.T) {
	gd := loadGolden(t, "linearstacked_small")
	cfgStacked := nntest.SmallConfig(nn.ModelLinearStacked)
	ctx := model.NewStore().RootScope()
	if err := ImportStateDict(ctx, cfgStacked, gd.sd); err != nil {
		t.Fatal(err)
	}
	cfgBN := cfgStacked
	cfgBN.Type = nn.ModelBNCNN
	sd := map[string]*tensors.Tensor{}
	for i, layer := range []string{nn.LayerConv1, nn.LayerConv2} {
		kernel, bias, err := nn.CollapsedKernel(ctx, cfgStacked, layer)
		if err != nil {
			t.Fatal(err)
		}
		k := cfgStacked.KSizes[i]
		if kernel.Shape().Dimensions[0] != k || kernel.Shape().Dimensions[1] != k || kernel.DType() != dtypes.Float32 {
			t.Fatalf("%s collapsed kernel %s, want %dx%d float32", layer, kernel.Shape(), k, k)
		}
		torchKernel, err := nn.ConvKernelToTorch(kernel)
		if err != nil {
			t.Fatal(err)
		}
		prefix := []string{"sequential.0.", "sequential.6."}[i]
		sd[prefix+"weight"], sd[prefix+"bias"] = torchKernel, bias
	}
	for _, idx := range []int{2, 8, 12} {
		p := fmt.Sprintf("sequential.%d.", idx)
		scale := testutil.Float64s(t, gd.sd[p+"scale"])
		for i := range scale {
			if scale[i] < 0 {
				scale[i] = -scale[i]
			}
		}
		sd[p+"weight"] = tensorconv.FromFloat64s(scale, dtypes.Float32, len(scale))
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
		return nn.Forward(ctx, cfgBN, x).Rates
	}, gd.x)
	if err != nil {
		t.Fatal(err)
	}
	if e := parityErr(testutil.Float64s(t, out), gd.get(t, "eval_rates"), parityAtol); e > parityTol {
		t.Errorf("BNCNN with collapsed kernels vs PyTorch LinearStackedBNCNN: rel err %g", e)
	}

	// For a BNCNN, CollapsedKernel returns the layer's own kernel.
	kernel, _, err := nn.CollapsedKernel(ctxBN, cfgBN, nn.LayerConv2)
	if err != nil {
		t.Fatal(err)
	}
	torchKernel, _ := nn.ConvKernelToTorch(kernel)
	if !slices.Equal(testutil.Float64s(t, torchKernel), testutil.Float64s(t, sd["sequential.6.weight"])) {
		t.Error("CollapsedKernel of a BNCNN differs from its kernel")
	}
	if _, _, err := nn.CollapsedKernel(ctxBN, cfgBN, "conv3"); err == nil || !strings.Contains(err.Error(), "unknown layer") {
		t.Errorf("unknown layer: got %v", err)
	}
}
