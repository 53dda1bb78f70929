// Package bench measures deepretina's training speed next to PyTorch's on the same machine:
// the compute rate of a model on a batch that stays on the device, the end-to-end rate of a
// real training epoch, and the Markdown table `deepretina bench` writes to docs/benchmarks.md.
//
//	rate, err := bench.TrainingThroughput(backend, nn.DefaultModelConfig(5), 64, 3)
//	fmt.Printf("%.0f samples/s\n", rate.SamplesPerSec)
package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/nn"
)

// Rate is a measured training rate.
type Rate struct {
	SamplesPerSec float64 `json:"samples_per_s"`
	Steps         int     `json:"steps"`
	Seconds       float64 `json:"seconds"`
}

// TrainingThroughput measures training samples per second of a model: two warm-up steps (the
// first compiles), then Adam steps of the Poisson loss on one random batch [batch, History, H, W]
// that stays on the device, for at least minSeconds and 3 steps. It is the model's cost alone,
// as PyTorch's compute mode measures it.
func TrainingThroughput(backend compute.Backend, mcfg nn.ModelConfig, batch int, minSeconds float64) (Rate, error) {
	if err := mcfg.Validate(); err != nil {
		return Rate{}, err
	}
	step, err := newStep(backend, mcfg, batch)
	if err != nil {
		return Rate{}, err
	}
	for i := range 2 {
		if err := step(); err != nil {
			return Rate{}, fmt.Errorf("warm-up step %d: %w", i+1, err)
		}
	}
	start := time.Now()
	steps := 0
	for steps < 3 || time.Since(start).Seconds() < minSeconds {
		if err := step(); err != nil {
			return Rate{}, err
		}
		steps++
	}
	secs := time.Since(start).Seconds()
	return Rate{SamplesPerSec: float64(batch*steps) / secs, Steps: steps, Seconds: secs}, nil
}

// newStep returns one training step of mcfg on a random batch that
// every call reuses; the first call compiles.
func newStep(backend compute.Backend, mcfg nn.ModelConfig, batch int) (func() error, error) {
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(1); err != nil {
		return nil, err
	}
	opt := optimizer.Adam().Done()
	// A plain model.Exec rather than GoMLX's train.Trainer, which (since GoMLX v0.28) frees its
	// input tensors after every step: x and y are reused by every step here.
	tr, err := model.NewExec(backend, store, func(scope *model.Scope, x, y *Node) *Node {
		g := x.Graph()
		store.SetTraining(g, true)
		loss := retina.PoissonLoss(nn.Forward(scope.At(retina.ModelScope), mcfg, x).Rates, y, 0)
		opt.UpdateGraph(scope, g, loss)
		train.ExecPerStepUpdateGraphFn(g)
		return loss
	})
	if err != nil {
		return nil, err
	}
	x, y := randomBatch(mcfg, batch)
	return func() error {
		out, err := tr.Call1(x, y)
		if err == nil {
			// Reading the loss waits for the device, so the clock measures finished work.
			err = out.ConstFlatData(func(any) {})
		}
		return err
	}, nil
}

// randomBatch is a standard-normal stimulus batch and Poisson-like counts in {0, 1, 2}.
func randomBatch(mcfg nn.ModelConfig, batch int) (x, y *tensors.Tensor) {
	rng := rand.New(rand.NewPCG(1, 2))
	hist, h, w := mcfg.ImgShape[0], mcfg.ImgShape[1], mcfg.ImgShape[2]
	xs := make([]float32, batch*hist*h*w)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	ys := make([]float32, batch*mcfg.NCells)
	for i := range ys {
		ys[i] = float32(rng.IntN(3))
	}
	return tensors.FromFlatDataAndDimensions(xs, batch, hist, h, w), tensors.FromFlatDataAndDimensions(ys, batch, mcfg.NCells)
}
