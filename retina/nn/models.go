package nn

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// Model types (ModelConfig.Type).
const (
	// ModelBNCNN is the McIntosh et al. 2016 three-layer CNN (torch-deep-retina BNCNN).
	ModelBNCNN = "bncnn"
	// ModelLinearStacked is the Neuron 2023 LinearStackedBNCNN: each big kernel is a stack of
	// 3×3 convolutions with no nonlinearity in between, and all batch norms are "Abs".
	ModelLinearStacked = "linearstacked"
	// ModelLN is the linear-nonlinear baseline: flatten → dense (with bias) → softplus.
	ModelLN = "ln"
)

// ModelConfig describes one of the reference models.
type ModelConfig struct {
	Type       string  // "bncnn" | "linearstacked" | "ln"
	NCells     int     // number of ganglion cells (outputs)
	ImgShape   [3]int  // [History, H, W], reference [40,50,50]
	Chans      []int   // channels of the two conv layers, reference [8,8]
	KSizes     []int   // kernel sizes of the two conv layers, reference [15,11]
	Noise      float64 // std of the Gaussian noise added in training (0.05); 0 disables it
	BNMomentum float64 // PyTorch convention (0.01): running = (1−m)·running + m·batch
	BNEps      float64 // 1e-3

	// Variants of the reference's hyper-parameters; the zero values are the reference defaults.
	DenseBias  bool    `json:",omitempty"` // gc_bias: the output dense layer has a bias (CNNs)
	NoConvBias bool    `json:",omitempty"` // bias=false: convolutions without bias (a stack's last one)
	ExpOutput  bool    `json:",omitempty"` // softplus=false: rates = exp(x) instead of softplus(x)
	DropP      float64 `json:",omitempty"` // drop_p: dropout between the 3×3 convolutions of a linear stack, training only

	// The readout (CNNs, readout.go): "" or "dense" is the reference's dense layer,
	// "factorised" a spatial mask × channel weights per cell. ReadoutScope, when set
	// ("readout/<recording>"), is where its variables live under ModelScope: a model of
	// several recordings shares the core and keeps one readout per recording; "" is the
	// reference's place ("dense", "bn_out").
	Readout      string `json:",omitempty"`
	ReadoutScope string `json:",omitempty"`

	// RecordingBNStats (with ReadoutScope) keeps the core's batch-norm running statistics
	// (running_mean, running_var, num_batches_tracked of bn1 and bn2) per recording, under
	// ReadoutScope ("readout/<recording>/bn1/…"), while their learned scale and shift stay in
	// the shared core ("bn1/…"). In training each batch holds one recording and is normalised
	// by its own statistics; shared running statistics would blend every recording's, so that
	// evaluation normalised recordings of different stimulus statistics unlike training did
	// (docs/multirecording.md). false (and every model written before it existed): one set of
	// running statistics in the core, shared by the recordings.
	RecordingBNStats bool `json:",omitempty"`

	// GainControl (CNNs) divides each channel of the first hidden layer, after its batch norm,
	// by 1 + softplus(a[c])·s, s the contrast of the input's recent frames (gaincontrol.go):
	// a divisive contrast gain-control stage with one learned strength per channel, variables
	// gain1/a [C1]. false (and every model written before it existed): no such stage. The
	// reference has no such module, so such a model has no PyTorch state dict.
	GainControl bool `json:",omitempty"`
}

// DefaultModelConfig returns the reference BNCNN configuration for nCells cells.
func DefaultModelConfig(nCells int) ModelConfig {
	return ModelConfig{
		Type:       ModelBNCNN,
		NCells:     nCells,
		ImgShape:   [3]int{40, 50, 50},
		Chans:      []int{8, 8},
		KSizes:     []int{15, 11},
		Noise:      0.05,
		BNMomentum: DefaultBNMomentum,
		BNEps:      DefaultBNEps,
	}
}

// IsCNN reports whether the model is one of the CNNs (BNCNN, LinearStacked), which have hidden layers.
func (c ModelConfig) IsCNN() bool { return c.Type == ModelBNCNN || c.Type == ModelLinearStacked }

// Validate checks the configuration, returning an error naming the offending field.
func (c ModelConfig) Validate() error {
	switch c.Type {
	case ModelBNCNN, ModelLinearStacked, ModelLN:
	default:
		return fmt.Errorf("ModelConfig.Type: unknown model type %q (want %q, %q or %q)",
			c.Type, ModelBNCNN, ModelLinearStacked, ModelLN)
	}
	if c.NCells <= 0 {
		return fmt.Errorf("ModelConfig.NCells must be > 0, got %d", c.NCells)
	}
	for i, d := range c.ImgShape {
		if d <= 0 {
			return fmt.Errorf("ModelConfig.ImgShape[%d] must be > 0, got ImgShape=%v ([History, H, W])", i, c.ImgShape)
		}
	}
	if math.IsNaN(c.Noise) || math.IsInf(c.Noise, 0) || c.Noise < 0 {
		return fmt.Errorf("ModelConfig.Noise must be a finite value >= 0, got %g", c.Noise)
	}
	if !(c.DropP >= 0 && c.DropP < 1) {
		return fmt.Errorf("ModelConfig.DropP must be in [0, 1), got %g", c.DropP)
	}
	if err := c.validateReadout(); err != nil {
		return err
	}
	if c.RecordingBNStats && c.ReadoutScope == "" {
		return fmt.Errorf("ModelConfig.RecordingBNStats keeps the core's running statistics per recording: it needs a ReadoutScope (a model of several recordings)")
	}
	if c.GainControl && !c.IsCNN() {
		return fmt.Errorf("ModelConfig.GainControl divides a hidden layer: it needs a CNN, not model %q", c.Type)
	}
	if !c.IsCNN() {
		return nil
	}
	if len(c.Chans) != 2 {
		return fmt.Errorf("ModelConfig.Chans must have 2 entries (one per conv layer) for model %q, got %v", c.Type, c.Chans)
	}
	if len(c.KSizes) != 2 {
		return fmt.Errorf("ModelConfig.KSizes must have 2 entries (one per conv layer) for model %q, got %v", c.Type, c.KSizes)
	}
	for i, ch := range c.Chans {
		if ch <= 0 {
			return fmt.Errorf("ModelConfig.Chans[%d] must be > 0, got %v", i, c.Chans)
		}
	}
	h, w := c.ImgShape[1], c.ImgShape[2]
	for i, k := range c.KSizes {
		if k <= 0 {
			return fmt.Errorf("ModelConfig.KSizes[%d] must be > 0, got %v", i, c.KSizes)
		}
		if c.Type == ModelLinearStacked && (k < 3 || k%2 == 0) {
			return fmt.Errorf("ModelConfig.KSizes[%d]=%d: model %q stacks 3×3 convolutions, so kernel sizes must be odd and >= 3",
				i, k, c.Type)
		}
		if k > h || k > w {
			what := "the image (ImgShape H×W)"
			if i > 0 {
				what = fmt.Sprintf("the output of conv%d", i)
			}
			return fmt.Errorf("ModelConfig.KSizes[%d]=%d is larger than %s, %d×%d", i, k, what, h, w)
		}
		h, w = h-k+1, w-k+1
	}
	if math.IsNaN(c.BNMomentum) || c.BNMomentum < 0 || c.BNMomentum > 1 {
		return fmt.Errorf("ModelConfig.BNMomentum must be in [0, 1] (PyTorch convention), got %g", c.BNMomentum)
	}
	if math.IsNaN(c.BNEps) || math.IsInf(c.BNEps, 0) || c.BNEps <= 0 {
		return fmt.Errorf("ModelConfig.BNEps must be > 0, got %g", c.BNEps)
	}
	return nil
}

// LayerShapes returns the channels-first shapes [C, H, W] of the hidden layers ("conv1", "conv2")
// of a CNN model; empty for the LN model. The configuration must be valid.
func (c ModelConfig) LayerShapes() map[string][3]int {
	out := make(map[string][3]int)
	if !c.IsCNN() || len(c.Chans) < 2 || len(c.KSizes) < 2 {
		return out
	}
	h, w := c.ImgShape[1], c.ImgShape[2]
	for i, name := range []string{LayerConv1, LayerConv2} {
		h, w = h-c.KSizes[i]+1, w-c.KSizes[i]+1
		out[name] = [3]int{c.Chans[i], h, w}
	}
	return out
}

// ParamCount is the analytic number of trainable parameters (running statistics excluded), as
// PyTorch's sum(p.numel() for p in model.parameters()) would count them.
// BNCNN: 111,312 + 5,410·n_cells at the reference shape; LinearStacked: 40,784 + 5,410·n_cells.
// It returns 0 for an invalid configuration.
func (c ModelConfig) ParamCount() int {
	if c.Validate() != nil {
		return 0
	}
	hist, h, w := c.ImgShape[0], c.ImgShape[1], c.ImgShape[2]
	n := c.NCells
	switch c.Type {
	case ModelLN:
		return hist*h*w*n + n
	case ModelBNCNN, ModelLinearStacked:
		ls := c.LayerShapes()
		s1, s2 := ls[LayerConv1], ls[LayerConv2]
		f1, f2 := s1[0]*s1[1]*s1[2], s2[0]*s2[1]*s2[2]
		bias := 1
		if c.NoConvBias {
			bias = 0
		}
		convCount := func(cin, cout, k int) int {
			if c.Type == ModelBNCNN {
				return cin*cout*k*k + bias*cout
			}
			nConvs := (k - 1) / 2
			return cin*cout*9 + (nConvs-1)*cout*cout*9 + bias*cout
		}
		gain := 0
		if c.GainControl {
			gain = c.Chans[0]
		}
		return convCount(hist, c.Chans[0], c.KSizes[0]) + 2*f1 + gain +
			convCount(c.Chans[0], c.Chans[1], c.KSizes[1]) + 2*f2 + c.readoutParamCount()
	}
	return 0
}

// Outputs of Forward.
type Outputs struct {
	Rates  *graph.Node            // [B, NCells] firing rate (softplus output; exp with ExpOutput)
	Hidden map[string]*graph.Node // named hidden activations, channels-first [B,C,H,W]: "conv1", "conv2" (post-ReLU)
	// PreActivation holds the same layers before their nonlinearity: the batch norm's output
	// (plus the noise, in training), [B,C,H,W]. Hidden and PreActivation nodes lie on the path
	// from the input to Rates, so graph.Gradient of the rates with respect to them is the
	// attribution to that layer.
	PreActivation map[string]*graph.Node
}

// Forward builds the model's graph for x: [B, History, H, W] (z-scored stimulus windows, oldest
// frame first, channels-first as in PyTorch). It creates (or reuses) the model's variables in
// ctx's current scope; variables take x's dtype. Training-only behaviour (batch statistics,
// running-stat updates, noise) follows ctx.IsTraining(g).
//
// Variables, relative to ctx (layouts are channels-last; ExportStateDict converts to PyTorch's):
//
//   - BNCNN: conv1/{kernel [k1,k1,History,C1], bias [C1]}; bn1/{weight, bias, running_mean,
//     running_var [C1·H1·W1], num_batches_tracked (int64 scalar)}; conv2/{kernel, bias};
//     bn2/{…}; dense/{kernel [C2·H2·W2, NCells]}; bn_out/{… [NCells]}. With GainControl
//     (either CNN) also gain1/{a [C1]}, the gain-control stage after bn1 (gaincontrol.go).
//   - LinearStacked: conv1/stack_0 … conv1/stack_{n−1}/kernel [3,3,Cin,C] (only the last stack
//     scope also has bias); conv2/stack_i/…; bn1, bn2, bn_out/{scale, shift, running_mean,
//     running_var}; dense/{kernel}.
//   - LN: dense/{kernel [History·H·W, NCells], bias [NCells]}.
//
// A CNN's readout (dense and bn_out) moves under cfg.ReadoutScope when that is set; the
// factorised readout has factorised/{mask [H2·W2, NCells], channels [C2, NCells]} in place of
// dense (readout.go). Forward is ForwardReadout(ForwardCore(x)).
//
// Batch-norm vectors and the dense kernel's rows follow PyTorch's flatten of [C, H, W]
// (channels-first). Running statistics and counters are non-trainable.
//
// Variables are created with ctx, so Forward can be called for several graphs
// (training and evaluation, several batch sizes) and after ImportStateDict.
// It panics (graph-building convention) on an invalid configuration or input shape.
func Forward(ctx *model.Scope, cfg ModelConfig, x *graph.Node) Outputs {
	checkForwardInput(cfg, x)
	if cfg.Type == ModelLN {
		return lnForward(ctx, cfg, x)
	}
	return cnnForward(ctx, cfg, x)
}

// checkForwardInput panics on an invalid configuration or an input that is not [B, History,
// H, W] floats.
func checkForwardInput(cfg ModelConfig, x *graph.Node) {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	want := []int{x.Shape().Dimensions[0], cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2]}
	if x.Rank() != 4 || !slices.Equal(x.Shape().Dimensions, want) {
		panic(fmt.Errorf("nn.Forward: x must be [B, %d, %d, %d] (ModelConfig.ImgShape), got shape %s",
			cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2], x.Shape()))
	}
	if !x.DType().IsFloat() {
		panic(fmt.Errorf("nn.Forward: x must be a float tensor, got %s", x.DType()))
	}
}

func lnForward(ctx *model.Scope, cfg ModelConfig, x *graph.Node) Outputs {
	b := x.Shape().Dimensions[0]
	hist, h, w := cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2]
	flat := graph.Reshape(x, b, hist*h*w) // PyTorch's flatten of [History, H, W]
	out := denseApply(ctx, flat, denseSpecs([]string{scopeDense}, torchPrefix(torchLNDense), hist*h*w, cfg.NCells, true))
	return Outputs{Rates: graph.Softplus(out), Hidden: map[string]*graph.Node{}, PreActivation: map[string]*graph.Node{}}
}

func cnnForward(ctx *model.Scope, cfg ModelConfig, x *graph.Node) Outputs {
	out, features := coreForward(ctx, cfg, x)
	out.Rates = ForwardReadout(ctx, cfg, features)
	return out
}

// ForwardCore builds a CNN's core, its hidden layers, for x [B, History, H, W] (as Forward):
// Outputs without Rates, and the features [B, C2·H2·W2] its readout reads (PyTorch's flatten
// of conv2 after its ReLU). Forward is ForwardReadout(ForwardCore(x)); a graph that trains a
// readout on a frozen core builds the core alone in evaluation mode. It panics on an invalid
// configuration, an LN model or a wrong input shape.
func ForwardCore(ctx *model.Scope, cfg ModelConfig, x *graph.Node) (Outputs, *graph.Node) {
	checkForwardInput(cfg, x)
	if !cfg.IsCNN() {
		panic(fmt.Errorf("nn.ForwardCore: model %q has no core", cfg.Type))
	}
	return coreForward(ctx, cfg, x)
}

func coreForward(ctx *model.Scope, cfg ModelConfig, x *graph.Node) (Outputs, *graph.Node) {
	g := x.Graph()
	b := x.Shape().Dimensions[0]
	stacked := cfg.Type == ModelLinearStacked
	layerShapes := cfg.LayerShapes()
	bnOpts := BatchNormOptions{Momentum: cfg.BNMomentum, Eps: cfg.BNEps, Abs: stacked}
	training := ctx.IsTraining(g)
	layers := cnnLayers(cfg)

	hidden := make(map[string]*graph.Node, 2)
	pre := make(map[string]*graph.Node, 2)
	fft := FFTConvolution(g.Backend()) && !model.GetParamOr(ctx, ParamDirectConvolution, false)
	h := x // channels-first [B, History, H, W]
	var flat *graph.Node
	for i, layer := range layers {
		if i > 0 {
			h = hidden[layers[i-1].name]
		}
		h = convLayerCF(ctx, h, layer.convs, dropout(training, cfg), fft)
		s := layerShapes[layer.name]
		// PyTorch's Flatten of [C, H, W].
		flat = graph.Reshape(h, b, s[0]*s[1]*s[2])
		opts := bnOpts
		if cfg.RecordingBNStats {
			opts.Stats = scopeAt(ctx, cfg.coreStatsParts(layer.bnScope))
		}
		flat = FlatBatchNorm(ctx.At("%s", layer.bnScope), flat, opts)
		if i == 0 && cfg.GainControl {
			flat = gainControlApply(ctx, cfg, x, flat)
		}
		if training && cfg.Noise > 0 {
			flat = graph.Add(flat, graph.MulScalar(randomNormal(ctx, g, flat.Shape()), cfg.Noise))
		}
		// The nodes Outputs exposes lie on the path to the rates (the ReLU reads pre, the next
		// layer reads hidden), so that gradients with respect to them are the model's own.
		pre[layer.name] = graph.Reshape(flat, b, s[0], s[1], s[2])
		hidden[layer.name] = graph.Max(pre[layer.name], graph.ScalarZero(g, flat.DType())) // ReLU
		flat = graph.Reshape(hidden[layer.name], b, s[0]*s[1]*s[2])
	}
	return Outputs{Hidden: hidden, PreActivation: pre}, flat
}

// dropout returns the dropout applied between a linear stack's convolutions (nil: none).
func dropout(training bool, cfg ModelConfig) func(ctx *model.Scope, x *graph.Node) *graph.Node {
	if !training || cfg.DropP <= 0 || cfg.Type != ModelLinearStacked {
		return nil
	}
	keep := 1 - cfg.DropP
	return func(ctx *model.Scope, x *graph.Node) *graph.Node {
		// PyTorch's nn.Dropout: zero each value with probability p, scale the others by 1/(1−p).
		u := ctx.RandomUniform(x.Graph(), x.Shape())
		mask := graph.LessThan(u, graph.MulScalar(graph.OnesLike(u), keep))
		return graph.Where(mask, graph.DivScalar(x, keep), graph.ZerosLike(x))
	}
}

// coreStatsParts is the scope path, relative to the model's scope, of the running statistics
// of the core's batch norm bnScope: bnScope itself (shared by every recording), or under the
// recording's readout scope with RecordingBNStats.
func (c ModelConfig) coreStatsParts(bnScope string) []string {
	if !c.RecordingBNStats {
		return []string{bnScope}
	}
	return c.readoutParts(bnScope)
}

// scopeAt is ctx.At of each part of a scope path in turn.
func scopeAt(ctx *model.Scope, parts []string) *model.Scope {
	for _, p := range parts {
		ctx = ctx.At("%s", p)
	}
	return ctx
}

// cnnLayer describes one conv → flat BN block of a CNN model.
type cnnLayer struct {
	name    string    // "conv1" / "conv2": also the variable scope of the convolution(s)
	bnScope string    // "bn1" / "bn2"
	convs   []convSub // one for BNCNN, (k−1)/2 for LinearStacked
	bn      []varSpec
}

func cnnLayers(cfg ModelConfig) []cnnLayer {
	stacked := cfg.Type == ModelLinearStacked
	ls := cfg.LayerShapes()
	cin := cfg.ImgShape[0]
	var layers []cnnLayer
	for i, name := range hiddenLayers {
		s := ls[name]
		bnScope := scopeBN[i]
		layers = append(layers, cnnLayer{
			name:    name,
			bnScope: bnScope,
			convs:   convLayerSubs(name, torchConvIdx[i], cin, cfg.Chans[i], cfg.KSizes[i], stacked, !cfg.NoConvBias, cfg.DropP > 0),
			bn:      batchNormSpecs([]string{bnScope}, cfg.coreStatsParts(bnScope), torchPrefix(torchBNIdx[i]), s[0]*s[1]*s[2], stacked),
		})
		cin = cfg.Chans[i]
	}
	return layers
}

// modelSpecs lists every variable of the model (trainable or not), in the order of the
// reference PyTorch state dict.
func modelSpecs(cfg ModelConfig) []varSpec {
	if cfg.Type == ModelLN {
		hist, h, w := cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2]
		return denseSpecs([]string{scopeDense}, torchPrefix(torchLNDense), hist*h*w, cfg.NCells, true)
	}
	return append(coreSpecs(cfg), readoutSpecs(cfg)...)
}

// coreSpecs lists the variables of a CNN's core: each hidden layer's convolution(s) and batch
// norm, and after bn1 the gain-control stage's (with ModelConfig.GainControl).
func coreSpecs(cfg ModelConfig) []varSpec {
	var specs []varSpec
	for i, layer := range cnnLayers(cfg) {
		for _, sub := range layer.convs {
			specs = append(specs, sub.specs()...)
		}
		specs = append(specs, layer.bn...)
		if i == 0 {
			specs = append(specs, gainSpecs(cfg)...)
		}
	}
	return specs
}

// ---------------------------------------------------------------------------------------------
// Variable specifications, shared by Forward, ImportStateDict and ExportStateDict.

type initKind int

const (
	initZeros initKind = iota
	initOnes
	initUniform  // U(−bound, bound): PyTorch's default for Conv2d/Linear weights and biases.
	initConstant // every element is value
)

// varSpec describes one model variable: where it lives in the context, its shape in this
// package's layout, and its PyTorch state-dict key and layout.
type varSpec struct {
	scope     []string // scope path relative to the model's context
	name      string
	shape     []int // Go layout
	int64     bool  // an int64 counter (num_batches_tracked) instead of a float of the model's dtype
	trainable bool
	init      initKind
	bound     float64 // for initUniform
	value     float64 // for initConstant

	torchKey string
	// perm converts the Go layout to PyTorch's: PyTorch axis i is Go axis perm[i]. nil: same layout.
	perm []int
}

// scopePath is the absolute scope of the variable, given the model's model.
func (s varSpec) scopePath(ctx *model.Scope) string {
	c := ctx
	for _, part := range s.scope {
		c = c.At("%s", part)
	}
	return c.Scope()
}

func (s varSpec) String() string {
	return strings.Join(append(slices.Clone(s.scope), s.name), model.ScopeSeparator)
}

// convSub is one convolution of a conv layer: kernel [k,k,Cin,Cout] and an optional bias.
type convSub struct {
	kernel varSpec
	bias   *varSpec
}

func (c convSub) specs() []varSpec {
	if c.bias == nil {
		return []varSpec{c.kernel}
	}
	return []varSpec{c.kernel, *c.bias}
}

// convSpecs builds the variables of one Conv2d(cin → cout, k×k) at scope, with PyTorch keys
// torchPrefix+"weight" ([Cout, Cin, k, k]) and torchPrefix+"bias".
func convSpecs(scope []string, torchPrefix string, cin, cout, k int, bias bool) convSub {
	bound := 1 / math.Sqrt(float64(cin*k*k))
	sub := convSub{kernel: varSpec{
		scope: scope, name: "kernel", shape: []int{k, k, cin, cout}, trainable: true,
		init: initUniform, bound: bound, torchKey: torchPrefix + "weight", perm: []int{3, 2, 0, 1},
	}}
	if bias {
		sub.bias = &varSpec{
			scope: scope, name: "bias", shape: []int{cout}, trainable: true,
			init: initUniform, bound: bound, torchKey: torchPrefix + "bias",
		}
	}
	return sub
}

// convLayerSubs returns the convolution(s) of a conv layer: a single k×k convolution, or for a
// linear stack (k−1)/2 3×3 convolutions (scopes "<layer>/stack_<i>") of which only the last can
// have a bias, named as the reference LinearStackedConv2d's "convs" Sequential (which holds a
// Dropout after every convolution but the last when drop_p > 0, hence the indices 0, 2, 4, …).
func convLayerSubs(layer string, seqIdx, cin, cout, k int, stacked, bias, withDropout bool) []convSub {
	if !stacked {
		return []convSub{convSpecs([]string{layer}, torchPrefix(seqIdx), cin, cout, k, bias)}
	}
	n := (k - 1) / 2
	step := 1
	if withDropout && n > 1 {
		step = 2
	}
	subs := make([]convSub, n)
	for i := range n {
		c := cout
		if i == 0 {
			c = cin
		}
		subs[i] = convSpecs([]string{layer, fmt.Sprintf("stack_%d", i)},
			fmt.Sprintf("sequential.%d.convs.%d.", seqIdx, step*i), c, cout, 3, bias && i == n-1)
	}
	return subs
}

// denseSpecs builds the variables of a Linear(in → out): kernel [in, out] (PyTorch weight
// [out, in]) and an optional bias.
func denseSpecs(scope []string, torchPrefix string, in, out int, bias bool) []varSpec {
	bound := 1 / math.Sqrt(float64(in))
	specs := []varSpec{{
		scope: scope, name: "kernel", shape: []int{in, out}, trainable: true,
		init: initUniform, bound: bound, torchKey: torchPrefix + "weight", perm: []int{1, 0},
	}}
	if bias {
		specs = append(specs, varSpec{
			scope: scope, name: "bias", shape: []int{out}, trainable: true,
			init: initUniform, bound: bound, torchKey: torchPrefix + "bias",
		})
	}
	return specs
}

// variableDType is the dtype a spec's variable has in a model of the given float dtype.
func (s varSpec) variableDType(dtype dtypes.DType) dtypes.DType {
	if s.int64 {
		return dtypes.Int64
	}
	return dtype
}

// initializer returns the variable initializer of the spec. Random values come from the
// context's random number generator, so they are deterministic given its seed.
func (s varSpec) initializer(ctx *model.Scope) model.VariableInitializer {
	return func(g *graph.Graph, shape shapes.Shape) *graph.Node {
		switch s.init {
		case initOnes:
			return graph.Ones(g, shape)
		case initConstant:
			return graph.AddScalar(graph.Zeros(g, shape), s.value)
		case initUniform:
			u := ctx.RandomUniform(g, shape)
			return graph.AddScalar(graph.MulScalar(u, 2*s.bound), -s.bound)
		default:
			return graph.Zeros(g, shape)
		}
	}
}

// materializeVar creates (or returns the existing) variable of the spec, relative to ctx.
func materializeVar(ctx *model.Scope, s varSpec, dtype dtypes.DType) *model.Variable {
	c := ctx
	for _, part := range s.scope {
		c = c.At("%s", part)
	}
	existing := c.Store().GetVariable(model.JoinPath(c.Scope(), s.name))
	v := c.WithInitializer(s.initializer(ctx)).VariableWithShape(s.name, shapes.Make(s.variableDType(dtype), s.shape...))
	if existing == nil || !s.trainable {
		// New variables get the spec's status; statistics are never trainable, even when
		// loaded from a checkpoint (where variables default to trainable).
		v.SetTrainable(s.trainable)
	}
	return v
}

func materializeVars(ctx *model.Scope, specs []varSpec, dtype dtypes.DType) []*model.Variable {
	vars := make([]*model.Variable, len(specs))
	for i, s := range specs {
		vars[i] = materializeVar(ctx, s, dtype)
	}
	return vars
}

// convApply applies a conv layer (one convolution or a linear stack) to channels-last h;
// drop (nil: none) follows every convolution of a stack but the last.
func convApply(ctx *model.Scope, h *graph.Node, subs []convSub, drop func(*model.Scope, *graph.Node) *graph.Node) *graph.Node {
	g := h.Graph()
	for i, sub := range subs {
		if i > 0 && drop != nil {
			h = drop(ctx, h)
		}
		kernel := materializeVar(ctx, sub.kernel, h.DType()).NodeValue(g)
		var bias *graph.Node
		if sub.bias != nil {
			bias = materializeVar(ctx, *sub.bias, h.DType()).NodeValue(g)
		}
		h = Conv2D(h, kernel, bias)
	}
	return h
}

// denseApply applies a Linear layer to x [B, in].
func denseApply(ctx *model.Scope, x *graph.Node, specs []varSpec) *graph.Node {
	g := x.Graph()
	vars := materializeVars(ctx, specs, x.DType())
	out := graph.DotGeneral(x, []int{1}, nil, vars[0].NodeValue(g), []int{0}, nil)
	if len(vars) > 1 {
		out = graph.Add(out, graph.InsertAxes(vars[1].NodeValue(g), 0))
	}
	return out
}
