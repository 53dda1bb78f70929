package torchio

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/internal/tensorconv"
	"github.com/deepretina/deepretina/retina/nn"
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
func StateDictShapes(cfg nn.ModelConfig) (map[string][]int, error) {
	if err := cfg.TorchCompatible(); err != nil {
		return nil, err
	}
	out := make(map[string][]int)
	for _, s := range nn.Vars(cfg) {
		out[s.TorchKey] = s.TorchShape()
	}
	for _, k := range nn.NoiseSigmaKeys(cfg) {
		out[k] = []int{1}
	}
	return out, nil
}

// ExportStateDict returns the model's variables (trainable ones and running statistics) under
// the reference PyTorch state-dict names, in PyTorch's layouts (conv weights [Cout, Cin, kh, kw],
// linear weights [out, in], batch-norm vectors in the order of PyTorch's flatten of [C, H, W]), so
// that torch's load_state_dict accepts them after a plain conversion of each array. Float
// tensors keep the model's dtype; num_batches_tracked is an int64 scalar. The CNNs' noise
// modules' "sigma" entries are set to cfg.Noise. ctx must be the
// context given to Forward (or ImportStateDict), holding values for all the model's variables.
func ExportStateDict(ctx *model.Scope, cfg nn.ModelConfig) (map[string]*tensors.Tensor, error) {
	if err := cfg.TorchCompatible(); err != nil {
		return nil, err
	}
	sd := make(map[string]*tensors.Tensor)
	for _, s := range nn.Vars(cfg) {
		scope := s.ScopePath(ctx)
		v := ctx.Store().GetVariable(model.JoinPath(scope, s.Name))
		if v == nil {
			return nil, fmt.Errorf("model variable %q (scope %q) for key %q does not exist: "+
				"build the model with Forward (and initialise it) or ImportStateDict first", s.Name, scope, s.TorchKey)
		}
		if !slices.Equal(v.Shape().Dimensions, s.Shape) {
			return nil, fmt.Errorf("variable %s%s%s has shape %v, but model config %s needs %v (for key %q)",
				scope, model.ScopeSeparator, s.Name, v.Shape().Dimensions, cfg.Type, s.Shape, s.TorchKey)
		}
		if !v.HasValue() {
			return nil, fmt.Errorf("variable %s%s%s has no value yet (not initialised)",
				scope, model.ScopeSeparator, s.Name)
		}
		value, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("read variable %s%s%s: %w", scope, model.ScopeSeparator, s.Name, err)
		}
		t, err := tensorconv.Layout(value, s.Shape, s.Perm, value.DType())
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", s.TorchKey, err)
		}
		sd[s.TorchKey] = t
	}
	for _, k := range nn.NoiseSigmaKeys(cfg) {
		sd[k] = tensorconv.FromFloat64s([]float64{cfg.Noise}, sd[nn.Vars(cfg)[0].TorchKey].DType(), 1)
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
func ImportStateDict(ctx *model.Scope, cfg nn.ModelConfig, sd map[string]*tensors.Tensor) error {
	if err := cfg.TorchCompatible(); err != nil {
		return err
	}
	specs := nn.Vars(cfg)
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
			cfg.Type, cfg.ImgShape, cfg.Chans, cfg.KSizes, cfg.NCells, variantString(cfg), strings.Join(problems, "; "))
	}

	dtype := modelFloatDType(ctx, specs, sd)

	// Convert everything, and check existing variables, before setting any value.
	values := make([]*tensors.Tensor, len(specs))
	for i, s := range specs {
		want := shapes.Make(s.DType(dtype), s.Shape...)
		if v := ctx.Store().GetVariable(model.JoinPath(s.ScopePath(ctx), s.Name)); v != nil && !v.Shape().Equal(want) {
			return fmt.Errorf("existing variable %s%s%s has shape %s, but key %q needs %s",
				s.ScopePath(ctx), model.ScopeSeparator, s.Name, v.Shape(), s.TorchKey, want)
		}
		inv := tensorconv.InvertPerm(s.Perm)
		t, err := tensorconv.Layout(sd[s.TorchKey], s.TorchShape(), inv, want.DType)
		if err != nil {
			return fmt.Errorf("key %s: %w", quote(s.TorchKey), err)
		}
		values[i] = t
	}
	for i, s := range specs {
		c := ctx
		for _, part := range s.Scope {
			c = c.At("%s", part)
		}
		if v := c.Store().GetVariable(model.JoinPath(c.Scope(), s.Name)); v != nil {
			if err := v.SetValue(values[i]); err != nil {
				return fmt.Errorf("set variable %s%s%s: %w", c.Scope(), model.ScopeSeparator, s.Name, err)
			}
			if !s.Trainable {
				v.SetTrainable(false)
			}
			continue
		}
		c.VariableWithValue(s.Name, values[i]).SetTrainable(s.Trainable)
	}
	return nil
}

// stateDictProblems lists every missing key, unexpected key, wrong shape, wrong dtype and
// non-finite value of sd against the model's variables (quote names a key for messages).
func stateDictProblems(cfg nn.ModelConfig, specs []nn.Var, sd map[string]*tensors.Tensor, quote func(string) string) []string {
	known := make(map[string]bool, len(specs))
	var problems []string
	for _, s := range specs {
		known[s.TorchKey] = true
		t, ok := sd[s.TorchKey]
		if !ok || t == nil {
			problems = append(problems, fmt.Sprintf("missing key %s (expected shape %v)", quote(s.TorchKey), s.TorchShape()))
			continue
		}
		if got := t.Shape().Dimensions; !slices.Equal(got, s.TorchShape()) {
			problems = append(problems, fmt.Sprintf("key %s: expected shape %v, got %v", quote(s.TorchKey), s.TorchShape(), got))
			continue
		}
		if s.Int64 {
			if !t.DType().IsInt() {
				problems = append(problems, fmt.Sprintf("key %s: expected an integer tensor, got %s", quote(s.TorchKey), t.DType()))
			}
		} else if !t.DType().IsFloat() {
			problems = append(problems, fmt.Sprintf("key %s: expected a float tensor, got %s", quote(s.TorchKey), t.DType()))
		} else if msg := tensorconv.NonFinite(t); msg != "" {
			problems = append(problems, fmt.Sprintf("key %s: %s", quote(s.TorchKey), msg))
		}
	}
	for _, k := range nn.NoiseSigmaKeys(cfg) {
		known[k] = true
		if t, ok := sd[k]; ok && t != nil && !slices.Equal(t.Shape().Dimensions, []int{1}) {
			problems = append(problems, fmt.Sprintf("key %s: expected shape [1], got %v", quote(k), t.Shape().Dimensions))
		} else if ok && t != nil {
			if msg := tensorconv.NonFinite(t); msg != "" {
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
func modelFloatDType(ctx *model.Scope, specs []nn.Var, sd map[string]*tensors.Tensor) dtypes.DType {
	dtype := dtypes.InvalidDType
	for _, s := range specs {
		if v := ctx.Store().GetVariable(model.JoinPath(s.ScopePath(ctx), s.Name)); v != nil && !s.Int64 {
			dtype = v.DType()
			break
		}
	}
	if dtype == dtypes.InvalidDType {
		dtype = dtypes.Float32
		for _, s := range specs {
			if !s.Int64 {
				if dt := sd[s.TorchKey].DType(); dt == dtypes.Float64 {
					dtype = dt
				}
				break
			}
		}
	}
	return dtype
}

// variantString lists the non-default variants of a model (", DenseBias, …"), for messages.
func variantString(c nn.ModelConfig) string {
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
