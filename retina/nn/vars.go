package nn

import (
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/ml/model"
)

// ModelScope is the context scope under which every variable of a model lives (Forward is
// called with ctx.At(ModelScope)).
const ModelScope = "model"

// Var is one variable of a model, as the state-dict import and export (package torchio), the
// checkpoint checks and the tests see it: where it lives under the model's scope, its shape in
// this package's channels-last layout, and its PyTorch state-dict key and layout.
type Var struct {
	Scope     []string // scope path relative to the model's context (ctx.At(ModelScope))
	Name      string   // the variable's name in that scope ("kernel", "running_mean", …)
	Shape     []int    // this package's layout
	Int64     bool     // an int64 counter (num_batches_tracked) instead of a float of the model's dtype
	Trainable bool     // false for running statistics and counters
	TorchKey  string   // the reference's state-dict key ("sequential.0.weight")
	Perm      []int    // the PyTorch layout: PyTorch axis i is Go axis Perm[i]; nil: the same layout
}

// Vars lists every variable of a model of configuration cfg (trainable or not), in the order
// of the reference PyTorch state dict. cfg must be valid.
func Vars(cfg ModelConfig) []Var {
	specs := modelSpecs(cfg)
	out := make([]Var, len(specs))
	for i, s := range specs {
		out[i] = s.toVar()
	}
	return out
}

// toVar is the spec as Vars lists it.
func (s varSpec) toVar() Var {
	return Var{Scope: slices.Clone(s.scope), Name: s.name, Shape: slices.Clone(s.shape), Int64: s.int64,
		Trainable: s.trainable, TorchKey: s.torchKey, Perm: slices.Clone(s.perm)}
}

// TorchShape is the variable's shape in the PyTorch state dict.
func (v Var) TorchShape() []int {
	if v.Perm == nil {
		return slices.Clone(v.Shape)
	}
	out := make([]int, len(v.Perm))
	for i, a := range v.Perm {
		out[i] = v.Shape[a]
	}
	return out
}

// ScopePath is the absolute scope of the variable, given the model's context.
func (v Var) ScopePath(ctx *model.Scope) string {
	c := ctx
	for _, part := range v.Scope {
		c = c.At("%s", part)
	}
	return c.Scope()
}

// Path is the variable's absolute path in ctx's store (ScopePath joined with Name).
func (v Var) Path(ctx *model.Scope) string { return model.JoinPath(v.ScopePath(ctx), v.Name) }

// DType is the dtype the variable has in a model of float dtype float.
func (v Var) DType(float dtypes.DType) dtypes.DType {
	if v.Int64 {
		return dtypes.Int64
	}
	return float
}

// NoiseSigmaKeys are the state-dict keys of the reference's GaussianNoise modules (CNNs
// only): a non-trainable parameter "sigma" [1] holding the noise std, a hyper-parameter here
// (ModelConfig.Noise), so no variable holds it.
func NoiseSigmaKeys(cfg ModelConfig) []string {
	if !cfg.IsCNN() {
		return nil
	}
	return []string{torchPrefix(torchNoiseIdx[0]) + "sigma", torchPrefix(torchNoiseIdx[1]) + "sigma"}
}
