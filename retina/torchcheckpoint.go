package retina

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/nlpodyssey/gopickle/types"

	"github.com/deepretina/deepretina/datasets"
)

// TorchCheckpoint is a checkpoint of the reference torch-deep-retina, as its training loop writes
// it with torch.save: a dict holding "model_type" ("BNCNN", "LinearStackedBNCNN"),
// "model_state_dict", the hyper-parameters ("hyps" or "model_hyps", and usually copied to the
// top level as well), "norm_stats" ({mean, std} of the training stimulus), scores ("loss",
// "val_loss", "val_acc", "test_pearson", …), "epoch" and usually "optim_state_dict".
//
// LoadTorchCheckpoint reads PyTorch's zip format and the legacy one and works out the equivalent
// Go model (Model) from the state dict's shapes and the hyper-parameters; Import puts the
// weights into a model. ImportTorchRun turns a checkpoint into a run folder.
type TorchCheckpoint struct {
	Path   string // the file it was read from ("" when parsed from bytes)
	SHA256 string // of the file's bytes
	Format string // "zip" or "legacy"

	ModelType string             // the reference's model_type, e.g. "BNCNN"
	Model     ModelConfig        // the equivalent Go model
	NormStats datasets.NormStats // z-scoring of the stimulus the model was trained on
	Epoch     int                // the reference's epoch index (0-based; the number of epochs trained is Epoch+1); −1 if absent
	Scores    map[string]float64 // the finite scores among loss, val_loss, val_acc, exp_val_acc, test_pearson, test_acc
	LR        float64            // the optimizer's learning rate at the checkpoint (optim_state_dict), 0 if absent
	Hyps      map[string]any     // hyper-parameters as JSON values (float64, string, bool, nil, []any, map[string]any)

	ModuleOrder string // "newest", "older" or "other": the module indices of the state dict
	NoiseParam  string // the noise modules' parameter name: "sigma", "cuda_param" or "" (none)

	stateDict map[string]*tensors.Tensor // as in the file (PyTorch names and layouts)
	unread    map[string]string          // hyper-parameters that are no JSON value (a numpy array, an object): key → what they are
}

// Supported model types of the reference, and the Go model they become.
var torchModelTypes = map[string]string{"BNCNN": ModelBNCNN, "LinearStackedBNCNN": ModelLinearStacked, "LN": ModelLN}

func supportedTorchModelTypes() string {
	names := make([]string, 0, len(torchModelTypes))
	for k := range torchModelTypes {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// LoadTorchCheckpoint reads a reference checkpoint file. Errors name the file and the field.
func LoadTorchCheckpoint(path string) (*TorchCheckpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("PyTorch checkpoint %s: %w", path, err)
	}
	c, err := ParseTorchCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("PyTorch checkpoint %s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// ParseTorchCheckpoint decodes the bytes of a reference checkpoint file (see LoadTorchCheckpoint).
func ParseTorchCheckpoint(data []byte) (*TorchCheckpoint, error) {
	obj, format, err := decodeTorchSave(data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	c := &TorchCheckpoint{SHA256: hex.EncodeToString(sum[:]), Format: format, Epoch: -1,
		Scores: map[string]float64{}, Hyps: map[string]any{}, unread: map[string]string{}}
	top, ok := pyDict(obj)
	if !ok {
		return nil, fmt.Errorf("expected the reference's checkpoint dict (model_type, model_state_dict, norm_stats, …), found %s", describePy(obj))
	}
	keys := func() string {
		names := make([]string, 0, len(top))
		for k := range top {
			names = append(names, k)
		}
		sort.Strings(names)
		if len(names) > 20 {
			names = append(names[:20], "…")
		}
		return strings.Join(names, ", ")
	}

	// Hyper-parameters: the "hyps"/"model_hyps" dict, completed by the top-level copies.
	for _, name := range []string{"hyps", "model_hyps"} {
		if v, ok := top[name]; ok {
			d, ok := pyDict(v)
			if !ok {
				return nil, fmt.Errorf("field %q: expected a dict of hyper-parameters, found %s", name, describePy(v))
			}
			for k, hv := range d {
				if j, ok := pyJSON(hv, 4); ok {
					if _, seen := c.Hyps[k]; !seen {
						c.Hyps[k] = j
					}
				} else if _, seen := c.unread[k]; !seen {
					c.unread[k] = describePy(hv)
				}
			}
		}
	}
	skip := map[string]bool{"model_state_dict": true, "optim_state_dict": true, "hyps": true, "model_hyps": true,
		"norm_stats": true, "y_stats": true, "state_dict": true}
	for k, v := range top {
		if _, seen := c.Hyps[k]; seen || skip[k] || c.unread[k] != "" {
			continue // the hyper-parameters dict's value comes first, even one that cannot be read
		}
		if j, ok := pyJSON(v, 4); ok {
			c.Hyps[k] = j
		} else if _, seen := c.unread[k]; !seen {
			c.unread[k] = describePy(v)
		}
	}

	// Model type.
	mt, ok := top["model_type"]
	if !ok {
		if h, ok := c.Hyps["model_type"].(string); ok {
			mt = h
		} else {
			return nil, fmt.Errorf("field \"model_type\" is missing (found %s); supported model types: %s", keys(), supportedTorchModelTypes())
		}
	}
	c.ModelType, ok = mt.(string)
	if !ok {
		return nil, fmt.Errorf("field \"model_type\": expected a string, found %s", describePy(mt))
	}
	goType, ok := torchModelTypes[c.ModelType]
	if !ok {
		return nil, fmt.Errorf("field \"model_type\": %q is not supported; supported: %s", c.ModelType, supportedTorchModelTypes())
	}

	// State dict.
	rawSD, ok := top["model_state_dict"]
	if !ok {
		if rawSD, ok = top["state_dict"]; !ok {
			return nil, fmt.Errorf("field \"model_state_dict\" is missing (found %s)", keys())
		}
	}
	sdDict, ok := pyDict(rawSD)
	if !ok {
		return nil, fmt.Errorf("field \"model_state_dict\": expected a dict of tensors, found %s", describePy(rawSD))
	}
	c.stateDict = map[string]*tensors.Tensor{}
	for k, v := range sdDict {
		t, ok := v.(*torchTensor)
		if !ok {
			return nil, fmt.Errorf("field \"model_state_dict\", entry %q: expected a tensor, found %s", k, describePy(v))
		}
		c.stateDict[strings.TrimPrefix(k, "module.")] = t.toGoMLX()
	}
	lay, err := analyseSequential(c.stateDict)
	if err != nil {
		return nil, fmt.Errorf("field \"model_state_dict\": %w", err)
	}
	c.ModuleOrder, c.NoiseParam = lay.order, lay.noiseParam()
	if c.Model, err = inferModelConfig(goType, c.ModelType, lay, c.Hyps); err != nil {
		return nil, fmt.Errorf("field \"model_state_dict\": %w", err)
	}

	// Normalisation of the stimulus.
	ns, ok := top["norm_stats"]
	if !ok {
		return nil, fmt.Errorf("field \"norm_stats\" is missing (found %s): the training stimulus' mean and std are needed to feed the model raw stimulus", keys())
	}
	if c.NormStats, err = parseNormStats(ns); err != nil {
		return nil, fmt.Errorf("field \"norm_stats\": %w", err)
	}

	// Epoch, scores, learning rate.
	if v, ok := top["epoch"]; ok && v != nil {
		e, ok := pyNumber(v)
		if !ok || e < 0 || e != math.Trunc(e) || e > 1e9 {
			return nil, fmt.Errorf("field \"epoch\": expected a non-negative integer, found %s", describePy(v))
		}
		c.Epoch = int(e)
	}
	for _, k := range []string{"loss", "val_loss", "val_acc", "exp_val_acc", "test_pearson", "test_acc"} {
		if x, ok := pyNumber(top[k]); ok && !math.IsNaN(x) && !math.IsInf(x, 0) {
			c.Scores[k] = x
		}
	}
	c.LR = optimizerLR(top["optim_state_dict"])
	return c, nil
}

// StateDict returns the model's weights as in the file: PyTorch names (of the file's module
// order) and layouts.
func (c *TorchCheckpoint) StateDict() map[string]*tensors.Tensor { return c.stateDict }

// Import sets the model's variables in ctx (as ImportStateDict does for c.Model).
func (c *TorchCheckpoint) Import(ctx *model.Scope) error {
	return ImportStateDict(ctx, c.Model, c.stateDict)
}

// inferModelConfig works out the Go model from the recognised modules' shapes, using the
// hyper-parameters for what shapes cannot tell (image size of a non-square field, noise std,
// batch-norm momentum, output nonlinearity, dropout) and checking them against the shapes.
func inferModelConfig(goType, torchType string, lay *torchLayout, hyps map[string]any) (ModelConfig, error) {
	cfg := ModelConfig{Type: goType, Noise: 0.05, BNMomentum: DefaultBNMomentum, BNEps: DefaultBNEps}
	imgHyp, hasImg := hypInts(hyps, "img_shape")
	if hasImg && len(imgHyp) != 3 {
		return cfg, fmt.Errorf("hyper-parameter img_shape %v: expected [history, H, W]", imgHyp)
	}
	if goType == ModelLN {
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
	if len(lay.convs) != 2 {
		return cfg, fmt.Errorf("model_type %s, but the state dict holds the LN model (one dense layer)", torchType)
	}

	wantConv, wantBN := modConv, modBatchNorm
	if goType == ModelLinearStacked {
		wantConv, wantBN = modStack, modAbsBatchNorm
	}
	for _, m := range lay.convs {
		if m.kind != wantConv {
			return cfg, fmt.Errorf("model_type %s expects %s layers, but %s is a %s", torchType, wantConv, m.describe(), m.kind)
		}
	}
	for _, m := range lay.bns {
		if m.kind != wantBN {
			return cfg, fmt.Errorf("model_type %s expects %s layers, but %s is a %s", torchType, wantBN, m.describe(), m.kind)
		}
	}

	// Convolutions: channels, kernel sizes, biases.
	var convBias []bool
	cin := -1
	for i, m := range lay.convs {
		var in, out, k int
		if m.kind == modConv {
			w := dims(m.params["weight"])
			if w[2] != w[3] {
				return cfg, fmt.Errorf("%s: kernel %d×%d is not square", m.describe(), w[2], w[3])
			}
			in, out, k = w[1], w[0], w[2]
			_, b := m.params["bias"]
			convBias = append(convBias, b)
		} else {
			for n, j := range m.subs {
				w := dims(m.params[fmt.Sprintf("convs.%d.weight", j)])
				if w[2] != 3 || w[3] != 3 {
					return cfg, fmt.Errorf("%s: convs.%d is %d×%d; a linear stack holds 3×3 convolutions", m.describe(), j, w[2], w[3])
				}
				if n == 0 {
					in, out = w[1], w[0]
				} else if w[1] != out || w[0] != out {
					return cfg, fmt.Errorf("%s: convs.%d maps %d to %d channels; expected %d to %d", m.describe(), j, w[1], w[0], out, out)
				}
				_, b := m.params[fmt.Sprintf("convs.%d.bias", j)]
				if b && n != len(m.subs)-1 {
					return cfg, fmt.Errorf("%s: convs.%d has a bias; deepretina's linear stacks have one only on their last convolution", m.describe(), j)
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
			return cfg, fmt.Errorf("%s: %d input channels, but the first convolution outputs %d", m.describe(), in, cin)
		}
		cfg.Chans = append(cfg.Chans, out)
		cfg.KSizes = append(cfg.KSizes, k)
		cin = out
	}
	if convBias[0] != convBias[1] {
		return cfg, fmt.Errorf("one convolution has a bias and the other has none: not supported (the reference's bias option sets both)")
	}
	cfg.NoConvBias = !convBias[0]

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
		return cfg, fmt.Errorf("hyper-parameter inference_exp: true (an extra exp of the output in evaluation) is not supported")
	}
	if v, ok := hyps["drop_p"].(float64); ok && goType == ModelLinearStacked && v > 0 && v < 1 {
		cfg.DropP = v
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("the model the state dict describes is invalid: %w", err)
	}

	// Every size must agree with the model the shapes describe.
	ls := cfg.LayerShapes()
	s1, s2 := ls[LayerConv1], ls[LayerConv2]
	if f1 == cfg.Chans[0] && s1[1]*s1[2] > 1 {
		return cfg, fmt.Errorf("%s: a per-channel batch norm (BatchNorm2d, the reference's bnorm_d=2) is not supported: deepretina's models normalise every unit (bnorm_d=1, BatchNorm1d over C·H·W)",
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
			return cfg, fmt.Errorf("%s: size %d, but the model (input %v from %s, kernels %v, channels %v) needs %s = %d",
				ch.m.describe(), ch.got, cfg.ImgShape, src, cfg.KSizes, cfg.Chans, ch.what, ch.exp)
		}
	}
	return cfg, nil
}

// toGoMLX converts a decoded tensor: float types to float32 (float64 stays float64), integer
// and bool types to int64.
func (t *torchTensor) toGoMLX() *tensors.Tensor {
	shape := slices.Clone(t.shape)
	switch {
	case t.dtype == "float64":
		return tensors.FromFlatDataAndDimensions(slices.Clone(t.f), shape...)
	case t.f != nil:
		f := make([]float32, len(t.f))
		for i, v := range t.f {
			f[i] = float32(v)
		}
		return tensors.FromFlatDataAndDimensions(f, shape...)
	}
	return tensors.FromFlatDataAndDimensions(slices.Clone(t.i), shape...)
}

func tensorScalar(t *tensors.Tensor) float64 {
	v, err := tensorFloat64s(t)
	if err != nil || len(v) == 0 {
		return math.NaN()
	}
	return v[0]
}

// pyDict returns a Python dict or OrderedDict with string keys as a Go map.
func pyDict(v any) (map[string]any, bool) {
	out := map[string]any{}
	switch d := v.(type) {
	case *types.Dict:
		for _, e := range *d {
			if k, ok := e.Key.(string); ok {
				out[k] = e.Value
			}
		}
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			if k, ok := entry.Key.(string); ok {
				out[k] = entry.Value
			}
		}
	default:
		return nil, false
	}
	return out, true
}

// pyNumber returns a Python number, numpy scalar or one-element tensor/array as float64.
func pyNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case *torchTensor:
		return x.scalar()
	case *npArray:
		if len(x.values) == 1 {
			return x.values[0], true
		}
	}
	return 0, false
}

// pyJSON converts a decoded hyper-parameter value to a JSON value, up to depth levels of lists
// and dicts; other objects are not converted.
func pyJSON(v any, depth int) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case string:
		return x, true
	case bool:
		return x, true
	}
	if f, ok := pyNumber(v); ok {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false
		}
		return f, true
	}
	if depth <= 0 {
		return nil, false
	}
	var items []any
	switch x := v.(type) {
	case *types.List:
		items = *x
	case *types.Tuple:
		items = *x
	default:
		if d, ok := pyDict(v); ok {
			out := map[string]any{}
			for k, dv := range d {
				if j, ok := pyJSON(dv, depth-1); ok {
					out[k] = j
				}
			}
			return out, true
		}
		return nil, false
	}
	if len(items) > 1024 {
		return nil, false
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		j, ok := pyJSON(it, depth-1)
		if !ok {
			return nil, false
		}
		out = append(out, j)
	}
	return out, true
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

// parseNormStats reads {mean, std} (or [mean, std]) as numbers, numpy scalars or tensors.
func parseNormStats(v any) (datasets.NormStats, error) {
	var mean, std any
	if d, ok := pyDict(v); ok {
		var okM, okS bool
		mean, okM = d["mean"]
		std, okS = d["std"]
		if !okM || !okS {
			return datasets.NormStats{}, fmt.Errorf("expected keys mean and std, found %s", describePy(v))
		}
	} else {
		var items []any
		switch x := v.(type) {
		case *types.List:
			items = *x
		case *types.Tuple:
			items = *x
		}
		if len(items) != 2 {
			return datasets.NormStats{}, fmt.Errorf("expected {mean, std} or [mean, std], found %s", describePy(v))
		}
		mean, std = items[0], items[1]
	}
	m, ok := pyNumber(mean)
	if !ok || math.IsNaN(m) || math.IsInf(m, 0) {
		return datasets.NormStats{}, fmt.Errorf("mean: expected a finite number, found %s", describePy(mean))
	}
	s, ok := pyNumber(std)
	if !ok || !(s > 0) || math.IsInf(s, 0) {
		return datasets.NormStats{}, fmt.Errorf("std: expected a positive number, found %s", describePy(std))
	}
	return datasets.NormStats{Mean: m, Std: s}, nil
}

// optimizerLR reads param_groups[0]["lr"] of an optimizer state dict (0 if absent).
func optimizerLR(v any) float64 {
	d, ok := pyDict(v)
	if !ok {
		return 0
	}
	groups, ok := d["param_groups"].(*types.List)
	if !ok || groups.Len() == 0 {
		return 0
	}
	g, ok := pyDict(groups.Get(0))
	if !ok {
		return 0
	}
	lr, ok := pyNumber(g["lr"])
	if !ok || !(lr > 0) || math.IsInf(lr, 0) {
		return 0
	}
	return lr
}
