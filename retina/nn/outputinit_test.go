package nn

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/testutil"
)

func TestInitOutputToRates(t *testing.T) {
	rates := datasets.Matrix{Rows: 4, Cols: 2, Data: []float32{10, 1, 30, 1, 10, 1, 30, 1}} // cell 0: mean 20, std 10
	for _, typ := range []string{ModelBNCNN, ModelLinearStacked, ModelLN} {
		cfg := ModelConfig{Type: typ, NCells: 2, ImgShape: [3]int{2, 6, 6}, Chans: []int{2, 2}, KSizes: []int{3, 3},
			Noise: 0, BNMomentum: 0.01, BNEps: 1e-3}
		ctx := model.NewStore().RootScope()
		exec := model.MustNewExec(testutil.GoBackend(t), ctx.Store(), func(ctx *model.Scope, x *Node) *Node {
			return Forward(ctx.At(ModelScope), cfg, x).Rates
		})
		exec.MustCall(tensors.FromShape(shapeF32(2, 2, 6, 6)))
		if err := InitOutputToRates(ctx, cfg, rates); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		scope, shift, scale := "/model/bn_out", "bias", "weight"
		switch typ {
		case ModelLinearStacked:
			shift, scale = "shift", "scale"
		case ModelLN:
			scope, shift, scale = "/model/dense", "bias", ""
		}
		b := tensors.MustCopyFlatData[float32](ctx.Store().GetVariable(model.JoinPath(scope, shift)).MustValue())
		if math.Abs(math.Log1p(math.Exp(float64(b[0])))-20) > 1e-3 || math.Abs(math.Log1p(math.Exp(float64(b[1])))-1) > 1e-3 {
			t.Errorf("%s: softplus(shift) = %v, want the mean rates [20 1]", typ, b)
		}
		if scale != "" {
			s := tensors.MustCopyFlatData[float32](ctx.Store().GetVariable(model.JoinPath(scope, scale)).MustValue())
			if math.Abs(float64(s[0])-10) > 1e-3 {
				t.Errorf("%s: scale %v, want the rate std 10", typ, s)
			}
		}
	}
}

// With an exponential output (softplus false) the output batch norm starts at the log-normal
// whose mean and std are the rates': exp(shift + scale²/2) = mean.
func TestInitOutputToRatesExpOutput(t *testing.T) {
	rates := datasets.Matrix{Rows: 4, Cols: 2, Data: []float32{10, 1, 30, 1, 10, 1, 30, 1}} // cell 0: mean 20, std 10
	cfg := ModelConfig{Type: ModelBNCNN, NCells: 2, ImgShape: [3]int{2, 6, 6}, Chans: []int{2, 2}, KSizes: []int{3, 3},
		BNMomentum: 0.01, BNEps: 1e-3, ExpOutput: true}
	ctx := model.NewStore().RootScope()
	exec := model.MustNewExec(testutil.GoBackend(t), ctx.Store(), func(ctx *model.Scope, x *Node) *Node {
		return Forward(ctx.At(ModelScope), cfg, x).Rates
	})
	exec.MustCall(tensors.FromShape(shapeF32(2, 2, 6, 6)))
	if err := InitOutputToRates(ctx, cfg, rates); err != nil {
		t.Fatal(err)
	}
	mu := tensors.MustCopyFlatData[float32](ctx.Store().GetVariable(model.JoinPath("/model/bn_out", "bias")).MustValue())
	sigma := tensors.MustCopyFlatData[float32](ctx.Store().GetVariable(model.JoinPath("/model/bn_out", "weight")).MustValue())
	mean := math.Exp(float64(mu[0]) + float64(sigma[0]*sigma[0])/2)
	std := mean * math.Sqrt(math.Expm1(float64(sigma[0]*sigma[0])))
	if math.Abs(mean-20) > 1e-3 || math.Abs(std-10) > 1e-3 {
		t.Errorf("log-normal start: mean %g std %g, want 20 and 10", mean, std)
	}
}
