package nn_test

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/gobackend"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/retina/nn"
)

// Example builds a small BNCNN, runs it on a batch of two stimulus windows and lists its
// parts with their state-dict names.
func Example() {
	cfg := nn.DefaultModelConfig(4)   // the reference BNCNN for 4 cells …
	cfg.ImgShape = [3]int{10, 16, 16} // … on a 10-frame history of 16×16 pixels
	cfg.KSizes = []int{5, 3}
	store := model.NewStore()
	x := tensors.FromShape(shapes.Make(dtypes.Float32, 2, cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2]))
	rates, err := model.CallOnce(gobackend.GetBackend(), store, func(ctx *model.Scope, x *graph.Node) *graph.Node {
		return nn.Forward(ctx.At(nn.ModelScope), cfg, x).Rates // [B, NCells]
	}, x)
	if err != nil {
		panic(err)
	}
	// 10·8·5²+8 + 2·8·12² + 8·8·3²+8 + 2·8·10² + 800·4 + 2·4 = 9,704 parameters
	fmt.Println("rates", rates.Shape().Dimensions, "hidden", cfg.LayerShapes(), "parameters", cfg.ParamCount())
	parts, _ := nn.Structure(cfg)
	for _, p := range parts {
		fmt.Println(p.Role, p.Scope, p.Torch)
	}
	// Output:
	// rates [2 4] hidden map[conv1:[8 12 12] conv2:[8 10 10]] parameters 9704
	// conv conv1 sequential.0.
	// batchnorm bn1 sequential.2.
	// conv conv2 sequential.6.
	// batchnorm bn2 sequential.8.
	// dense dense sequential.13.
	// output-batchnorm bn_out sequential.14.
}
