package retina

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// StateDictShapes returns the keys of the reference PyTorch model's state_dict() with their
// shapes (in PyTorch's layout), e.g. "sequential.0.weight": [8, 40, 15, 15] for BNCNN, in the
// reference's newest module order (that of its current classes, so that their
// load_state_dict(strict=True) accepts ExportStateDict's output):
//
//   - BNCNN: nn.Sequential "sequential": 0 Conv2d, 1 Flatten, 2 BatchNorm1d, 3 Reshape,
//     4 GaussianNoise, 5 ReLU, 6 Conv2d, 7 Flatten, 8 BatchNorm1d, 9 Reshape, 10 GaussianNoise,
//     11 ReLU, 12 Flatten, 13 Linear (bias only with gc_bias), 14 BatchNorm1d, 15 Softplus.
//     Batch norms hold weight, bias, running_mean, running_var and num_batches_tracked; the
//     convolutions' biases exist unless bias=false.
//   - LinearStackedBNCNN: the same indices; 0 and 6 are LinearStackedConv2d with a "convs"
//     Sequential of 3×3 Conv2d (only the last with a bias; with drop_p > 0 a Dropout follows
//     every convolution but the last, so they are convs.0, convs.2, …); 2, 8, 14 are
//     AbsBatchNorm1d (scale, shift, running_mean, running_var).
//   - LN: 1 Linear (weight, bias).
//
// The CNNs' GaussianNoise modules (4 and 10) hold a non-trainable "sigma" [1], the noise std.
// Older versions of the reference put the noise before the reshape and had no flatten before
// the dense layer (noise 3 and 9, Linear 11, BatchNorm1d 12) or called the noise parameter
// "cuda_param"; ImportStateDict reads those too.
func StateDictShapes(cfg ModelConfig) (map[string][]int, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	out := make(map[string][]int)
	for _, s := range modelSpecs(cfg) {
		out[s.torchKey] = s.torchShape()
	}
	for _, k := range noiseSigmaKeys(cfg) {
		out[k] = []int{1}
	}
	return out, nil
}

// noiseSigmaKeys are the state-dict keys of the reference GaussianNoise modules: a
// non-trainable parameter "sigma" [1] holding the noise std (a hyper-parameter here:
// ModelConfig.Noise).
func noiseSigmaKeys(cfg ModelConfig) []string {
	if !cfg.isCNN() {
		return nil
	}
	return []string{torchPrefix(torchNoiseIdx[0]) + "sigma", torchPrefix(torchNoiseIdx[1]) + "sigma"}
}

// ExportStateDict returns the model's variables (trainable ones and running statistics) under
// the reference PyTorch state-dict names, in PyTorch's layouts (conv weights [Cout, Cin, kh, kw],
// linear weights [out, in], batch-norm vectors in the order of PyTorch's flatten of [C, H, W]), so
// that torch's load_state_dict accepts them after a plain conversion of each array. Float
// tensors keep the model's dtype; num_batches_tracked is an int64 scalar. The CNNs' noise
// modules' "sigma" entries are set to cfg.Noise. ctx must be the
// context given to Forward (or ImportStateDict), holding values for all the model's variables.
func ExportStateDict(ctx *model.Scope, cfg ModelConfig) (map[string]*tensors.Tensor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sd := make(map[string]*tensors.Tensor)
	for _, s := range modelSpecs(cfg) {
		scope := s.scopePath(ctx)
		v := ctx.Store().GetVariable(model.JoinPath(scope, s.name))
		if v == nil {
			return nil, fmt.Errorf("model variable %q (scope %q) for key %q does not exist: "+
				"build the model with Forward (and initialise it) or ImportStateDict first", s.name, scope, s.torchKey)
		}
		if !slices.Equal(v.Shape().Dimensions, s.shape) {
			return nil, fmt.Errorf("variable %s%s%s has shape %v, but model config %s needs %v (for key %q)",
				scope, model.ScopeSeparator, s.name, v.Shape().Dimensions, cfg.Type, s.shape, s.torchKey)
		}
		if !v.HasValue() {
			return nil, fmt.Errorf("variable %s%s%s has no value yet (not initialised)",
				scope, model.ScopeSeparator, s.name)
		}
		value, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("read variable %s%s%s: %w", scope, model.ScopeSeparator, s.name, err)
		}
		t, err := convertLayout(value, s.shape, s.perm, value.DType())
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", s.torchKey, err)
		}
		sd[s.torchKey] = t
	}
	for _, k := range noiseSigmaKeys(cfg) {
		sd[k] = float64sToTensor([]float64{cfg.Noise}, sd[modelSpecs(cfg)[0].torchKey].DType(), 1)
	}
	return sd, nil
}

// ImportStateDict sets the model's variables from a state dict with the reference PyTorch names
// and layouts (see StateDictShapes and ExportStateDict), creating the variables if the model was
// not built yet. The reference's older module orders are recognised by the modules' parameter
// names and shapes (convolutions, batch norms, the dense layer, the noise's sigma or
// cuda_param) and mapped onto the newest names first. Then it is strict, as torch's
// load_state_dict(strict=True): a missing key, an unexpected key or a shape mismatch is an error
// naming the key and the expected vs actual shape, and nothing is changed in ctx. The CNNs'
// noise "sigma" keys are optional and ignored (the noise std is ModelConfig.Noise). Float values
// are converted to the model's dtype (that of its existing variables, else that of the state
// dict's first float tensor, float32 or float64).
func ImportStateDict(ctx *model.Scope, cfg ModelConfig, sd map[string]*tensors.Tensor) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	specs := modelSpecs(cfg)
	from := map[string]string{}
	lay, layoutErr := analyseSequential(sd)
	if layoutErr == nil {
		sd, from = lay.rename(cfg)
	}
	quote := func(k string) string {
		if orig := from[k]; orig != "" && orig != k {
			return fmt.Sprintf("%q (%s in the state dict)", k, orig)
		}
		return fmt.Sprintf("%q", k)
	}

	// Check keys and shapes before touching anything.
	if problems := stateDictProblems(cfg, specs, sd, quote); len(problems) > 0 {
		if layoutErr != nil {
			problems = append(problems, fmt.Sprintf("(its modules were not recognised, so no older module order was mapped: %v)", layoutErr))
		}
		return fmt.Errorf("state dict does not match model %q (ImgShape %v, Chans %v, KSizes %v, NCells %d%s): %s",
			cfg.Type, cfg.ImgShape, cfg.Chans, cfg.KSizes, cfg.NCells, cfg.variantString(), strings.Join(problems, "; "))
	}

	dtype := modelFloatDType(ctx, specs, sd)

	// Convert everything, and check existing variables, before setting any value.
	values := make([]*tensors.Tensor, len(specs))
	for i, s := range specs {
		want := shapes.Make(s.variableDType(dtype), s.shape...)
		if v := ctx.Store().GetVariable(model.JoinPath(s.scopePath(ctx), s.name)); v != nil && !v.Shape().Equal(want) {
			return fmt.Errorf("existing variable %s%s%s has shape %s, but key %q needs %s",
				s.scopePath(ctx), model.ScopeSeparator, s.name, v.Shape(), s.torchKey, want)
		}
		inv := invertPerm(s.perm)
		t, err := convertLayout(sd[s.torchKey], s.torchShape(), inv, want.DType)
		if err != nil {
			return fmt.Errorf("key %s: %w", quote(s.torchKey), err)
		}
		values[i] = t
	}
	for i, s := range specs {
		c := ctx
		for _, part := range s.scope {
			c = c.At("%s", part)
		}
		if v := c.Store().GetVariable(model.JoinPath(c.Scope(), s.name)); v != nil {
			if err := v.SetValue(values[i]); err != nil {
				return fmt.Errorf("set variable %s%s%s: %w", c.Scope(), model.ScopeSeparator, s.name, err)
			}
			if !s.trainable {
				v.SetTrainable(false)
			}
			continue
		}
		c.VariableWithValue(s.name, values[i]).SetTrainable(s.trainable)
	}
	return nil
}

// stateDictProblems lists every missing key, unexpected key, wrong shape, wrong dtype and
// non-finite value of sd against the model's variables (quote names a key for messages).
func stateDictProblems(cfg ModelConfig, specs []varSpec, sd map[string]*tensors.Tensor, quote func(string) string) []string {
	known := make(map[string]bool, len(specs))
	var problems []string
	for _, s := range specs {
		known[s.torchKey] = true
		t, ok := sd[s.torchKey]
		if !ok || t == nil {
			problems = append(problems, fmt.Sprintf("missing key %s (expected shape %v)", quote(s.torchKey), s.torchShape()))
			continue
		}
		if got := t.Shape().Dimensions; !slices.Equal(got, s.torchShape()) {
			problems = append(problems, fmt.Sprintf("key %s: expected shape %v, got %v", quote(s.torchKey), s.torchShape(), got))
			continue
		}
		if s.int64 {
			if !t.DType().IsInt() {
				problems = append(problems, fmt.Sprintf("key %s: expected an integer tensor, got %s", quote(s.torchKey), t.DType()))
			}
		} else if !t.DType().IsFloat() {
			problems = append(problems, fmt.Sprintf("key %s: expected a float tensor, got %s", quote(s.torchKey), t.DType()))
		} else if msg := nonFinite(t); msg != "" {
			problems = append(problems, fmt.Sprintf("key %s: %s", quote(s.torchKey), msg))
		}
	}
	for _, k := range noiseSigmaKeys(cfg) {
		known[k] = true
		if t, ok := sd[k]; ok && t != nil && !slices.Equal(t.Shape().Dimensions, []int{1}) {
			problems = append(problems, fmt.Sprintf("key %s: expected shape [1], got %v", quote(k), t.Shape().Dimensions))
		} else if ok && t != nil {
			if msg := nonFinite(t); msg != "" {
				problems = append(problems, fmt.Sprintf("key %s: %s", quote(k), msg))
			}
		}
	}
	var unexpected []string
	for k := range sd {
		if !known[k] {
			unexpected = append(unexpected, k)
		}
	}
	sort.Strings(unexpected)
	for _, k := range unexpected {
		var got []int
		if sd[k] != nil {
			got = sd[k].Shape().Dimensions
		}
		problems = append(problems, fmt.Sprintf("unexpected key %s (shape %v)", quote(k), got))
	}
	return problems
}

// modelFloatDType is the model's float dtype: that of its existing variables, else that of the
// state dict's first float tensor (float32 or float64).
func modelFloatDType(ctx *model.Scope, specs []varSpec, sd map[string]*tensors.Tensor) dtypes.DType {
	dtype := dtypes.InvalidDType
	for _, s := range specs {
		if v := ctx.Store().GetVariable(model.JoinPath(s.scopePath(ctx), s.name)); v != nil && !s.int64 {
			dtype = v.DType()
			break
		}
	}
	if dtype == dtypes.InvalidDType {
		dtype = dtypes.Float32
		for _, s := range specs {
			if !s.int64 {
				if dt := sd[s.torchKey].DType(); dt == dtypes.Float64 {
					dtype = dt
				}
				break
			}
		}
	}
	return dtype
}

func invertPerm(perm []int) []int {
	if perm == nil {
		return nil
	}
	inv := make([]int, len(perm))
	for i, a := range perm {
		inv[a] = i
	}
	return inv
}

// convertLayout returns a new tensor with t's values (of shape dims) transposed by perm (output
// axis i is input axis perm[i]; nil: no transpose) and converted to dtype.
func convertLayout(t *tensors.Tensor, dims []int, perm []int, dtype dtypes.DType) (*tensors.Tensor, error) {
	if !slices.Equal(t.Shape().Dimensions, dims) {
		return nil, fmt.Errorf("shape %v, expected %v", t.Shape().Dimensions, dims)
	}
	var src []float64
	var srcInt []int64
	var convErr error
	err := t.ConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			src = make([]float64, len(f))
			for i, v := range f {
				src[i] = float64(v)
			}
		case []float64:
			src = slices.Clone(f)
		case []int64:
			srcInt = slices.Clone(f)
		case []int32:
			srcInt = make([]int64, len(f))
			for i, v := range f {
				srcInt[i] = int64(v)
			}
		case []int:
			srcInt = make([]int64, len(f))
			for i, v := range f {
				srcInt[i] = int64(v)
			}
		default:
			convErr = fmt.Errorf("unsupported tensor dtype %s", t.DType())
		}
	})
	if err != nil {
		return nil, err
	}
	if convErr != nil {
		return nil, convErr
	}
	outDims := slices.Clone(dims)
	for i, a := range perm {
		outDims[i] = dims[a]
	}
	switch dtype {
	case dtypes.Float32:
		if src == nil {
			return nil, fmt.Errorf("cannot convert %s to %s", t.DType(), dtype)
		}
		p := permuteFlat(src, dims, perm)
		out := make([]float32, len(p))
		for i, v := range p {
			out[i] = float32(v)
		}
		return tensors.FromFlatDataAndDimensions(out, outDims...), nil
	case dtypes.Float64:
		if src == nil {
			return nil, fmt.Errorf("cannot convert %s to %s", t.DType(), dtype)
		}
		return tensors.FromFlatDataAndDimensions(permuteFlat(src, dims, perm), outDims...), nil
	case dtypes.Int64:
		if srcInt == nil {
			return nil, fmt.Errorf("cannot convert %s to %s", t.DType(), dtype)
		}
		return tensors.FromFlatDataAndDimensions(permuteFlat(srcInt, dims, perm), outDims...), nil
	}
	return nil, fmt.Errorf("unsupported target dtype %s", dtype)
}

// permuteFlat transposes row-major data of shape dims: output axis i is input axis perm[i].
func permuteFlat[T any](src []T, dims []int, perm []int) []T {
	if perm == nil || isIdentityPerm(perm) {
		return slices.Clone(src)
	}
	rank := len(dims)
	inStrides := make([]int, rank)
	stride := 1
	for a := rank - 1; a >= 0; a-- {
		inStrides[a] = stride
		stride *= dims[a]
	}
	outDims := make([]int, rank)
	for i, a := range perm {
		outDims[i] = dims[a]
	}
	out := make([]T, len(src))
	idx := make([]int, rank) // multi-index over the output
	for o := range out {
		in := 0
		for i := range rank {
			in += idx[i] * inStrides[perm[i]]
		}
		out[o] = src[in]
		for i := rank - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < outDims[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// variantString lists the non-default variants of a model (", DenseBias, …"), for messages.
func (c ModelConfig) variantString() string {
	var v []string
	if c.DenseBias {
		v = append(v, "DenseBias")
	}
	if c.NoConvBias {
		v = append(v, "NoConvBias")
	}
	if c.ExpOutput {
		v = append(v, "ExpOutput")
	}
	if c.DropP > 0 {
		v = append(v, fmt.Sprintf("DropP %g", c.DropP))
	}
	if len(v) == 0 {
		return ""
	}
	return ", " + strings.Join(v, ", ")
}

// nonFinite describes the first NaN or ±Inf of a float tensor ("" when every value is finite,
// or the tensor is not a float one): weights that are not finite make every prediction NaN.
func nonFinite(t *tensors.Tensor) string {
	if t == nil || !t.DType().IsFloat() {
		return ""
	}
	v, err := tensorFloat64s(t)
	if err != nil {
		return ""
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprintf("value %v at flat index %d of %d: expected finite weights", x, i, len(v))
		}
	}
	return ""
}

// isIdentityPerm reports whether the permutation p leaves every axis in place.
func isIdentityPerm(p []int) bool {
	for i, a := range p {
		if i != a {
			return false
		}
	}
	return true
}
