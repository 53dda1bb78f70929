package nn

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// Default batch-norm hyper-parameters of the reference models (PyTorch conventions).
const (
	DefaultBNMomentum = 0.01
	DefaultBNEps      = 1e-3
)

// BatchNormOptions configures FlatBatchNorm.
type BatchNormOptions struct {
	// Momentum in PyTorch's convention: running = (1−Momentum)·running + Momentum·batch.
	Momentum float64
	// Eps is added to the variance before the square root.
	Eps float64
	// Abs selects the reference's AbsBatchNorm1d: the scale used is |scale|, so the sign of a
	// feature cannot flip; its variables are named "scale"/"shift" and it has no
	// num_batches_tracked counter. Otherwise the variables follow torch.nn.BatchNorm1d:
	// "weight", "bias", "running_mean", "running_var", "num_batches_tracked".
	Abs bool
	// Stats, when set, is the scope of the running statistics (running_mean, running_var,
	// num_batches_tracked) instead of the batch norm's own: a core shared by several
	// recordings keeps them per recording (ModelConfig.RecordingBNStats) and its learned
	// scale and shift in common. nil: the batch norm's scope, as PyTorch's module has them.
	Stats *model.Scope
}

// Names of the batch-norm variables, equal to the PyTorch state-dict leaf names.
const (
	bnWeight      = "weight"
	bnBias        = "bias"
	bnAbsScale    = "scale"
	bnAbsShift    = "shift"
	bnRunningMean = "running_mean"
	bnRunningVar  = "running_var"
	bnNumBatches  = "num_batches_tracked"
)

// batchNormSpecs lists the variables of a flat batch norm over nFeatures features, in the given
// scope (relative to the model's context; its running statistics and counter in statsScope),
// with PyTorch keys prefixed by torchPrefix. The learned scale and shift come first.
func batchNormSpecs(scope, statsScope []string, torchPrefix string, nFeatures int, abs bool) []varSpec {
	scaleName, shiftName := bnWeight, bnBias
	if abs {
		scaleName, shiftName = bnAbsScale, bnAbsShift
	}
	vec := []int{nFeatures}
	specs := []varSpec{
		{scope: scope, name: scaleName, shape: vec, trainable: true, init: initOnes, torchKey: torchPrefix + scaleName},
		{scope: scope, name: shiftName, shape: vec, trainable: true, init: initZeros, torchKey: torchPrefix + shiftName},
		{scope: statsScope, name: bnRunningMean, shape: vec, init: initZeros, torchKey: torchPrefix + bnRunningMean},
		{scope: statsScope, name: bnRunningVar, shape: vec, init: initOnes, torchKey: torchPrefix + bnRunningVar},
	}
	if !abs {
		specs = append(specs, varSpec{scope: statsScope, name: bnNumBatches, shape: []int{}, int64: true, init: initZeros,
			torchKey: torchPrefix + bnNumBatches})
	}
	return specs
}

// FlatBatchNorm is a batch normalisation over the batch axis of x [B, F] with PyTorch's
// semantics (torch.nn.BatchNorm1d on 2-D input), written from plain ops so that it trains on the
// pure-Go backend:
//
//   - training (ctx.IsTraining(g)): y = (x − mean_b x) / sqrt(var_b x + eps) · γ + β, with the BIASED
//     batch variance; the gradient flows through the batch statistics. The running statistics
//     (non-trainable variables) are updated inside the graph with SetValueGraph:
//     running = (1−m)·running + m·batch, using the UNBIASED batch variance, and
//     num_batches_tracked is incremented. Training needs B ≥ 2 (as PyTorch).
//   - evaluation: y = (x − running_mean) / sqrt(running_var + eps) · γ + β.
//
// With opts.Abs, γ is replaced by |γ| (the reference's AbsBatchNorm1d). Variables live in ctx's
// current scope (the running statistics in opts.Stats when set) and take x's dtype; see
// batchNormSpecs for their names. Feature order is whatever x's is: the models pass PyTorch's
// flatten of [C,H,W].
func FlatBatchNorm(ctx *model.Scope, x *graph.Node, opts BatchNormOptions) *graph.Node {
	if x.Rank() != 2 {
		panic(fmt.Errorf("flat batch norm input: shape %s; expected [B, F]", x.Shape()))
	}
	if !x.DType().IsFloat() {
		panic(fmt.Errorf("flat batch norm input: dtype %s; expected a float tensor", x.DType()))
	}
	g := x.Graph()
	dtype := x.DType()
	batch, nFeatures := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
	specs := batchNormSpecs(nil, nil, "", nFeatures, opts.Abs)
	vars := materializeVars(ctx, specs[:2], dtype)
	statsCtx := ctx
	if opts.Stats != nil {
		statsCtx = opts.Stats
	}
	vars = append(vars, materializeVars(statsCtx, specs[2:], dtype)...)
	scaleVar, shiftVar, meanVar, varVar := vars[0], vars[1], vars[2], vars[3]

	scale := scaleVar.NodeValue(g)
	if opts.Abs {
		scale = graph.Abs(scale)
	}
	shift := shiftVar.NodeValue(g)
	eps := graph.Scalar(g, dtype, opts.Eps)

	var mean, variance *graph.Node
	if ctx.IsTraining(g) {
		if batch < 2 {
			panic(fmt.Errorf("flat batch norm: training needs more than 1 value per feature, got batch size %d", batch))
		}
		mean = graph.ReduceMean(x, 0) // [F]
		centred := graph.Sub(x, graph.InsertAxes(mean, 0))
		variance = graph.ReduceMean(graph.Square(centred), 0) // biased
		normed := graph.Mul(centred, graph.InsertAxes(graph.Reciprocal(graph.Sqrt(graph.Add(variance, eps))), 0))
		y := graph.Add(graph.Mul(normed, graph.InsertAxes(scale, 0)), graph.InsertAxes(shift, 0))

		// Running statistics (PyTorch convention, unbiased variance).
		m := opts.Momentum
		unbiased := graph.MulScalar(graph.StopGradient(variance), float64(batch)/float64(batch-1))
		newMean := graph.Add(graph.MulScalar(meanVar.NodeValue(g), 1-m), graph.MulScalar(graph.StopGradient(mean), m))
		newVar := graph.Add(graph.MulScalar(varVar.NodeValue(g), 1-m), graph.MulScalar(unbiased, m))
		meanVar.SetNodeValue(newMean)
		varVar.SetNodeValue(newVar)
		if len(vars) > 4 {
			counter := vars[4]
			counter.SetNodeValue(graph.AddScalar(counter.NodeValue(g), 1))
		}
		return y
	}
	mean = meanVar.NodeValue(g)
	variance = varVar.NodeValue(g)
	factor := graph.Mul(graph.Rsqrt(graph.Add(variance, eps)), scale) // [F]
	centred := graph.Sub(x, graph.InsertAxes(mean, 0))
	return graph.Add(graph.Mul(centred, graph.InsertAxes(factor, 0)), graph.InsertAxes(shift, 0))
}
