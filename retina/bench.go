package retina

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// TrainingThroughput measures training samples per second of a model on random data: one
// warm-up step (compilation), then `steps` timed Adam steps of the Poisson loss.
func TrainingThroughput(backend backends.Backend, mcfg ModelConfig, batch, steps int) (float64, error) {
	if err := mcfg.Validate(); err != nil {
		return 0, err
	}
	ctx := context.New()
	if err := ctx.SetRNGStateFromSeed(1); err != nil {
		return 0, err
	}
	modelFn := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		return []*Node{Forward(ctx.In(ModelScope), mcfg, inputs[0]).Rates}
	}
	lossFn := func(labels, predictions []*Node) *Node { return PoissonLoss(predictions[0], labels[0], 0) }
	tr := train.NewTrainer(backend, ctx, modelFn, lossFn, optimizers.Adam().Done(), nil, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	h, w := mcfg.ImgShape[1], mcfg.ImgShape[2]
	x := make([]float32, batch*mcfg.ImgShape[0]*h*w)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, batch*mcfg.NCells)
	for i := range y {
		y[i] = float32(rng.IntN(3))
	}
	xt := tensors.FromFlatDataAndDimensions(x, batch, mcfg.ImgShape[0], h, w)
	yt := tensors.FromFlatDataAndDimensions(y, batch, mcfg.NCells)
	step := func() error {
		_, err := tr.TrainStep(nil, []*tensors.Tensor{xt}, []*tensors.Tensor{yt})
		return err
	}
	if err := step(); err != nil {
		return 0, fmt.Errorf("warm-up step: %w", err)
	}
	start := time.Now()
	for i := 0; i < steps; i++ {
		if err := step(); err != nil {
			return 0, err
		}
	}
	return float64(batch*steps) / time.Since(start).Seconds(), nil
}
