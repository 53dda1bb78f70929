package torchio

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/deepretina/deepretina/internal/tensorconv"
	"github.com/deepretina/deepretina/retina/nn"
)

// InferTorchModel recognises the modules of a reference state dict (PyTorch names and layouts,
// in any of the reference's module orders) and works out the equivalent Go model of type goType
// (torchType is the reference's model_type, for messages). hyps are the checkpoint's
// hyper-parameters as JSON values. It returns the model, the module order ("newest", "older"
// or "other") and the noise modules' parameter name ("sigma", "cuda_param" or "").
func InferTorchModel(sd map[string]*tensors.Tensor, goType, torchType string, hyps map[string]any) (cfg nn.ModelConfig, moduleOrder, noiseParam string, err error) {
	lay, err := analyseSequential(sd)
	if err != nil {
		return nn.ModelConfig{}, "", "", err
	}
	cfg, err = inferModelConfig(goType, torchType, lay, hyps)
	return cfg, lay.order, lay.noiseParam(), err
}

// inferModelConfig works out the Go model from the recognised modules' shapes, using the
// hyper-parameters for what shapes cannot tell (image size of a non-square field, noise std,
// batch-norm momentum, output nonlinearity, dropout) and checking them against the shapes.
func inferModelConfig(goType, torchType string, lay *torchLayout, hyps map[string]any) (nn.ModelConfig, error) {
	cfg := nn.ModelConfig{Type: goType, Noise: 0.05, BNMomentum: nn.DefaultBNMomentum, BNEps: nn.DefaultBNEps}
	imgHyp, hasImg := hypInts(hyps, "img_shape")
	if hasImg && len(imgHyp) != 3 {
		return cfg, fmt.Errorf("hyper-parameter img_shape %v: expected [history, H, W]", imgHyp)
	}
	if goType == nn.ModelLN {
		return inferLNConfig(cfg, torchType, lay, imgHyp, hasImg)
	}
	if len(lay.convs) != 2 {
		return cfg, fmt.Errorf("model_type %s, but the state dict holds the LN model (one dense layer)", torchType)
	}

	if err := checkModuleKinds(goType, torchType, lay); err != nil {
		return cfg, err
	}

	// Convolutions: channels, kernel sizes, biases.
	if err := inferConvs(&cfg, lay); err != nil {
		return cfg, err
	}

	// Image size: from img_shape, else from the first batch norm's size (square field).
	f1 := dims(lay.bns[0].params["running_mean"])[0]
	if hasImg {
		if imgHyp[0] != cfg.ImgShape[0] {
			return cfg, fmt.Errorf("hyper-parameter img_shape %v has a history of %d, but the first convolution takes %d channels", imgHyp, imgHyp[0], cfg.ImgShape[0])
		}
		cfg.ImgShape[1], cfg.ImgShape[2] = imgHyp[1], imgHyp[2]
	} else {
		side := int(math.Round(math.Sqrt(float64(f1 / max(cfg.Chans[0], 1)))))
		cfg.ImgShape[1] = side + cfg.KSizes[0] - 1
		cfg.ImgShape[2] = cfg.ImgShape[1]
	}
	dense := dims(lay.dense.params["weight"])
	cfg.NCells = dense[0]
	_, cfg.DenseBias = lay.dense.params["bias"]
	if err := applyTorchHyps(&cfg, lay, hyps); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("the model the state dict describes is invalid: %w", err)
	}

	// Every size must agree with the model the shapes describe.
	return cfg, checkTorchSizes(cfg, lay, f1, imgHyp, hasImg)
}

// inferLNConfig is inferModelConfig for the LN model: one dense layer over img_shape's pixels.
func inferLNConfig(cfg nn.ModelConfig, torchType string, lay *torchLayout, imgHyp []int, hasImg bool) (nn.ModelConfig, error) {
	if len(lay.convs) != 0 {
		return cfg, fmt.Errorf("model_type %s, but the state dict holds a CNN (%d convolutions)", torchType, len(lay.convs))
	}
	w := dims(lay.dense.params["weight"])
	if !hasImg {
		return cfg, fmt.Errorf("the LN model's input shape needs the hyper-parameter img_shape, which the checkpoint lacks")
	}
	cfg.ImgShape = [3]int{imgHyp[0], imgHyp[1], imgHyp[2]}
	cfg.NCells = w[0]
	if w[1] != imgHyp[0]*imgHyp[1]*imgHyp[2] {
		return cfg, fmt.Errorf("%s: %d inputs, but img_shape %v has %d values", lay.dense.describe(), w[1], imgHyp, imgHyp[0]*imgHyp[1]*imgHyp[2])
	}
	if _, ok := lay.dense.params["bias"]; !ok {
		return cfg, fmt.Errorf("%s: the LN model's dense layer has a bias", lay.dense.describe())
	}
	return cfg, cfg.Validate()
}

// checkModuleKinds checks that the recognised modules are those of the model type: plain
// convolutions and batch norms (BNCNN), or linear stacks and abs batch norms (LinearStackedBNCNN).
func checkModuleKinds(goType, torchType string, lay *torchLayout) error {
	wantConv, wantBN := modConv, modBatchNorm
	if goType == nn.ModelLinearStacked {
		wantConv, wantBN = modStack, modAbsBatchNorm
	}
	for _, m := range lay.convs {
		if m.kind != wantConv {
			return fmt.Errorf("model_type %s expects %s layers, but %s is a %s", torchType, wantConv, m.describe(), m.kind)
		}
	}
	for _, m := range lay.bns {
		if m.kind != wantBN {
			return fmt.Errorf("model_type %s expects %s layers, but %s is a %s", torchType, wantBN, m.describe(), m.kind)
		}
	}
	return nil
}

// inferConvs sets the model's channels, kernel sizes, input history and conv bias from the
// convolutions' weights.
func inferConvs(cfg *nn.ModelConfig, lay *torchLayout) error {
	var convBias []bool
	cin := -1
	for i, m := range lay.convs {
		var in, out, k int
		if m.kind == modConv {
			w := dims(m.params["weight"])
			if w[2] != w[3] {
				return fmt.Errorf("%s: kernel %d×%d is not square", m.describe(), w[2], w[3])
			}
			in, out, k = w[1], w[0], w[2]
			_, b := m.params["bias"]
			convBias = append(convBias, b)
		} else {
			for n, j := range m.subs {
				w := dims(m.params[fmt.Sprintf("convs.%d.weight", j)])
				if w[2] != 3 || w[3] != 3 {
					return fmt.Errorf("%s: convs.%d is %d×%d; a linear stack holds 3×3 convolutions", m.describe(), j, w[2], w[3])
				}
				if n == 0 {
					in, out = w[1], w[0]
				} else if w[1] != out || w[0] != out {
					return fmt.Errorf("%s: convs.%d maps %d to %d channels; expected %d to %d", m.describe(), j, w[1], w[0], out, out)
				}
				_, b := m.params[fmt.Sprintf("convs.%d.bias", j)]
				if b && n != len(m.subs)-1 {
					return fmt.Errorf("%s: convs.%d has a bias; deepretina's linear stacks have one only on their last convolution", m.describe(), j)
				}
				if n == len(m.subs)-1 {
					convBias = append(convBias, b)
				}
			}
			k = 2*len(m.subs) + 1
		}
		if i == 0 {
			cfg.ImgShape[0] = in
		} else if in != cin {
			return fmt.Errorf("%s: %d input channels, but the first convolution outputs %d", m.describe(), in, cin)
		}
		cfg.Chans = append(cfg.Chans, out)
		cfg.KSizes = append(cfg.KSizes, k)
		cin = out
	}
	if convBias[0] != convBias[1] {
		return fmt.Errorf("one convolution has a bias and the other has none: not supported (the reference's bias option sets both)")
	}
	cfg.NoConvBias = !convBias[0]
	return nil
}

// applyTorchHyps takes from the hyper-parameters (else the noise modules) what shapes cannot
// tell: noise std, batch-norm momentum, output nonlinearity, dropout.
func applyTorchHyps(cfg *nn.ModelConfig, lay *torchLayout, hyps map[string]any) error {
	if v, ok := hyps["noise"].(float64); ok && v >= 0 && !math.IsInf(v, 0) {
		cfg.Noise = v
	} else if len(lay.noises) > 0 {
		for _, t := range lay.noises[0].params {
			if s := tensorScalar(t); s >= 0 && !math.IsInf(s, 0) {
				cfg.Noise = s
			}
		}
	}
	if v, ok := hyps["bn_moment"].(float64); ok && v > 0 && v <= 1 {
		cfg.BNMomentum = v
	}
	if v, ok := hyps["softplus"].(bool); ok && !v {
		cfg.ExpOutput = true
	}
	if v, ok := hyps["inference_exp"].(bool); ok && v {
		return fmt.Errorf("hyper-parameter inference_exp: true (an extra exp of the output in evaluation) is not supported")
	}
	if v, ok := hyps["drop_p"].(float64); ok && cfg.Type == nn.ModelLinearStacked && v > 0 && v < 1 {
		cfg.DropP = v
	}
	return nil
}

// checkTorchSizes checks every batch norm's and the dense layer's size against the model cfg
// describes; f1 is the first batch norm's size.
func checkTorchSizes(cfg nn.ModelConfig, lay *torchLayout, f1 int, imgHyp []int, hasImg bool) error {
	dense := dims(lay.dense.params["weight"])
	ls := cfg.LayerShapes()
	s1, s2 := ls[nn.LayerConv1], ls[nn.LayerConv2]
	if f1 == cfg.Chans[0] && s1[1]*s1[2] > 1 {
		return fmt.Errorf("%s: a per-channel batch norm (BatchNorm2d, the reference's bnorm_d=2) is not supported: deepretina's models normalise every unit (bnorm_d=1, BatchNorm1d over C·H·W)",
			lay.bns[0].describe())
	}
	checks := []struct {
		m        *seqModule
		got, exp int
		what     string
	}{
		{lay.bns[0], f1, s1[0] * s1[1] * s1[2], fmt.Sprintf("%d×%d×%d (conv1's output)", s1[0], s1[1], s1[2])},
		{lay.bns[1], dims(lay.bns[1].params["running_mean"])[0], s2[0] * s2[1] * s2[2], fmt.Sprintf("%d×%d×%d (conv2's output)", s2[0], s2[1], s2[2])},
		{lay.dense, dense[1], s2[0] * s2[1] * s2[2], fmt.Sprintf("%d×%d×%d (conv2's output)", s2[0], s2[1], s2[2])},
		{lay.bns[2], dims(lay.bns[2].params["running_mean"])[0], cfg.NCells, fmt.Sprintf("the %d cells of the dense layer", cfg.NCells)},
	}
	for _, ch := range checks {
		if ch.got != ch.exp {
			src := "the first batch norm's size"
			if hasImg {
				src = fmt.Sprintf("img_shape %v", imgHyp)
			}
			return fmt.Errorf("%s: size %d, but the model (input %v from %s, kernels %v, channels %v) needs %s = %d",
				ch.m.describe(), ch.got, cfg.ImgShape, src, cfg.KSizes, cfg.Chans, ch.what, ch.exp)
		}
	}
	return nil
}

// hypInts reads a hyper-parameter holding a list of integers.
func hypInts(hyps map[string]any, key string) ([]int, bool) {
	l, ok := hyps[key].([]any)
	if !ok {
		return nil, false
	}
	out := make([]int, len(l))
	for i, v := range l {
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) || f < 1 || f > 1e6 {
			return nil, false
		}
		out[i] = int(f)
	}
	return out, true
}

func tensorScalar(t *tensors.Tensor) float64 {
	v, err := tensorconv.Float64s(t)
	if err != nil || len(v) == 0 {
		return math.NaN()
	}
	return v[0]
}
