package nn

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// A CNN is a core (the hidden layers conv1 → bn1 → ReLU → conv2 → bn2 → ReLU) followed by a
// readout onto its cells (the output batch norm and nonlinearity included). The core is what a
// model of several recordings shares; each recording has its own readout, whose variables live
// under ModelConfig.ReadoutScope ("readout/<recording>"). Two readouts exist:
//
//   - dense (the reference's): a Linear layer from every unit of the last hidden layer,
//     C2·H2·W2 weights per cell;
//   - factorised: per cell n, a spatial mask m[s, n] over the H2·W2 positions times channel
//     weights w[c, n] over the C2 channels, rate_n = f(BN(Σ_{c,s} h[c, s]·m[s, n]·w[c, n])),
//     so H2·W2 + C2 weights per cell (686 instead of 5,408 at the reference shape). It is the
//     factorised readout of Klindt et al. 2017 ("Neural system identification for large
//     populations separating what and where", NeurIPS), which openretina's sessions use.
//
// Both end with the reference's output batch norm and softplus (or exp with ExpOutput), so the
// output initialisation (initOutputToRates) and the loss are the same for both.

// Readouts (ModelConfig.Readout; the config key readout).
const (
	ReadoutDense      = "dense"      // the reference's dense layer (also the zero value "")
	ReadoutFactorised = "factorised" // spatial mask × channel weights per cell
)

// ReadoutPrefix is the scope under ModelScope that holds the readouts of a model of several
// recordings: recording r's readout is at "readout/<r>".
const ReadoutPrefix = "readout"

// Variable scopes of the factorised readout, under its readout scope.
const (
	scopeFactorised = "factorised"
	factorisedMask  = "mask"     // [H2·W2, NCells]
	factorisedChans = "channels" // [C2, NCells]
)

// recordingNamePattern is what a recording's name may hold: it becomes a variable scope and
// part of file names (eval-<name>.json).
var recordingNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ReadoutScopeOf is the readout scope of the recording named name in a model of several
// recordings.
func ReadoutScopeOf(name string) string { return ReadoutPrefix + "/" + name }

// validateReadout checks Readout and ReadoutScope.
func (c ModelConfig) validateReadout() error {
	switch c.Readout {
	case "", ReadoutDense:
	case ReadoutFactorised:
		if !c.IsCNN() {
			return fmt.Errorf("ModelConfig.Readout %q needs a CNN (%q or %q), not %q", c.Readout, ModelBNCNN, ModelLinearStacked, c.Type)
		}
	default:
		return fmt.Errorf("ModelConfig.Readout: unknown readout %q (want %q or %q)", c.Readout, ReadoutDense, ReadoutFactorised)
	}
	if c.ReadoutScope == "" {
		return nil
	}
	if !c.IsCNN() {
		return fmt.Errorf("ModelConfig.ReadoutScope %q: model %q has no core to share", c.ReadoutScope, c.Type)
	}
	name, ok := strings.CutPrefix(c.ReadoutScope, ReadoutPrefix+"/")
	if !ok || !recordingNamePattern.MatchString(name) {
		return fmt.Errorf("ModelConfig.ReadoutScope %q: expected %s/<name>, the name of letters, digits, '.', '_' and '-'", c.ReadoutScope, ReadoutPrefix)
	}
	return nil
}

// readoutParts is the scope path of part (scopeDense, scopeOutputBN, scopeFactorised) of the
// readout, relative to the model's scope.
func (c ModelConfig) readoutParts(part string) []string {
	if c.ReadoutScope == "" {
		return []string{part}
	}
	return append(strings.Split(c.ReadoutScope, "/"), part)
}

// readoutScopePath is readoutParts joined, as Part.Scope and the store's paths write it.
func (c ModelConfig) readoutScopePath(part string) string {
	return strings.Join(c.readoutParts(part), model.ScopeSeparator)
}

// readoutSpecs lists the readout's variables (CNNs), output batch norm included, in the
// reference's state-dict order. features is C2·H2·W2.
func readoutSpecs(cfg ModelConfig) []varSpec {
	s2 := cfg.LayerShapes()[LayerConv2]
	var specs []varSpec
	if cfg.Readout == ReadoutFactorised {
		specs = factorisedSpecs(cfg.readoutParts(scopeFactorised), s2[0], s2[1]*s2[2], cfg.NCells)
	} else {
		specs = denseSpecs(cfg.readoutParts(scopeDense), torchPrefix(torchDenseIdx), s2[0]*s2[1]*s2[2], cfg.NCells, cfg.DenseBias)
	}
	bn := cfg.readoutParts(scopeOutputBN)
	return append(specs, batchNormSpecs(bn, bn, torchPrefix(torchBNOutIdx), cfg.NCells, cfg.Type == ModelLinearStacked)...)
}

// factorisedSpecs are the factorised readout's mask [positions, cells] and channel weights
// [channels, cells]. The channel weights are drawn as PyTorch draws a Linear layer's weights,
// U(−1/√fan_in, 1/√fan_in); the mask starts at 1 everywhere, each cell pooling the whole field
// evenly until training localises it. Drawn as small as the channel weights, the two factors
// sit near the saddle at zero of their product, where each one's gradient is proportional to
// the other. Measured on the tiny simulated retinas of retina's multi-recording tests (one
// recording, 4 epochs, seeds 1 and 2), test r after the first epoch: 0.08 and 0.10 with a drawn
// mask, 0.21 and 0.33 with a mask of ones (dense readout: 0.22 and 0.30); after the fourth:
// 0.29 and 0.33, 0.36 and 0.44 (dense: 0.33 and 0.33). They have no state-dict key: the
// reference has no factorised readout.
func factorisedSpecs(scope []string, channels, positions, cells int) []varSpec {
	return []varSpec{
		{scope: scope, name: factorisedMask, shape: []int{positions, cells}, trainable: true, init: initOnes},
		{scope: scope, name: factorisedChans, shape: []int{channels, cells}, trainable: true,
			init: initUniform, bound: 1 / math.Sqrt(float64(channels))},
	}
}

// readoutParamCount is the number of trainable parameters of the readout, output batch norm
// included.
func (c ModelConfig) readoutParamCount() int {
	s2 := c.LayerShapes()[LayerConv2]
	n := c.NCells
	if c.Readout == ReadoutFactorised {
		return (s2[1]*s2[2]+s2[0])*n + 2*n
	}
	bias := 0
	if c.DenseBias {
		bias = n
	}
	return s2[0]*s2[1]*s2[2]*n + bias + 2*n
}

// ForwardReadout maps the core's features [B, C2·H2·W2] (PyTorch's flatten of the last hidden
// layer, ForwardCore's second result) to firing rates [B, NCells]: cfg's readout, the output
// batch norm, then softplus (exp with ExpOutput). Its variables live at cfg.ReadoutScope under
// ctx (the reference's "dense" and "bn_out" when it is empty). It panics on an invalid
// configuration or features of the wrong width (the graph-building convention).
func ForwardReadout(ctx *model.Scope, cfg ModelConfig, features *graph.Node) *graph.Node {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if !cfg.IsCNN() {
		panic(fmt.Errorf("readout: model %q has no core; use Forward", cfg.Type))
	}
	s2 := cfg.LayerShapes()[LayerConv2]
	width := s2[0] * s2[1] * s2[2]
	if features.Rank() != 2 || features.Shape().Dimensions[1] != width {
		panic(fmt.Errorf("readout: features must be [B, %d] (conv2's %v flattened), got shape %s", width, s2, features.Shape()))
	}
	var out *graph.Node
	if cfg.Readout == ReadoutFactorised {
		out = factorisedApply(ctx, features, readoutSpecs(cfg)[:2], s2)
	} else {
		out = denseApply(ctx, features, denseSpecs(cfg.readoutParts(scopeDense), torchPrefix(torchDenseIdx), width, cfg.NCells, cfg.DenseBias))
	}
	bnOpts := BatchNormOptions{Momentum: cfg.BNMomentum, Eps: cfg.BNEps, Abs: cfg.Type == ModelLinearStacked}
	bn := ctx
	for _, p := range cfg.readoutParts(scopeOutputBN) {
		bn = bn.At("%s", p)
	}
	out = FlatBatchNorm(bn, out, bnOpts)
	if cfg.ExpOutput {
		// The reference's Exponential output (softplus=false) is exp in evaluation and the
		// identity in training, where its loss takes log-rates (log_poisson); exp in both
		// modes gives the same Poisson loss on rates.
		return graph.Exp(out)
	}
	return graph.Softplus(out)
}

// factorisedApply is Σ_{c,s} h[b, c, s]·mask[s, n]·chans[c, n] for features [B, C·S]
// (channels-first) and the specs of mask [S, N] and chans [C, N]: [B, N].
func factorisedApply(ctx *model.Scope, features *graph.Node, specs []varSpec, s2 [3]int) *graph.Node {
	g := features.Graph()
	vars := materializeVars(ctx, specs, features.DType())
	mask, chans := vars[0].NodeValue(g), vars[1].NodeValue(g)
	b := features.Shape().Dimensions[0]
	h := graph.Reshape(features, b, s2[0], s2[1]*s2[2])                // [B, C, S]
	spatial := graph.DotGeneral(h, []int{2}, nil, mask, []int{0}, nil) // [B, C, N]
	return graph.ReduceSum(graph.Mul(spatial, graph.InsertAxes(chans, 0)), 1)
}

// TorchCompatible checks that the model has a PyTorch state dict: it is valid and its readout
// is the reference's dense one (torch-deep-retina has no factorised readout).
func (c ModelConfig) TorchCompatible() error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.Readout == ReadoutFactorised {
		return fmt.Errorf("the factorised readout has no PyTorch state dict: torch-deep-retina's models have only the dense one (readout %q)", ReadoutDense)
	}
	if c.GainControl {
		return fmt.Errorf("the divisive gain-control stage (config key \"gain_control\", ModelConfig.GainControl) has no PyTorch module: torch-deep-retina's models have none, so this model has no state dict in the reference's terms; train without \"gain_control\" to export")
	}
	return nil
}

// CoreVars lists the variables of a CNN's core, its hidden layers (the convolutions and their
// batch norms, running statistics included): what a model of several recordings shares (with
// RecordingBNStats, all but the running statistics, which are the recording's own and listed
// at cfg's recording) and a fine-tuned model takes from a trained one. cfg must be valid.
func CoreVars(cfg ModelConfig) []Var {
	specs := coreSpecs(cfg)
	out := make([]Var, len(specs))
	for i, s := range specs {
		out[i] = s.toVar()
	}
	return out
}

// ValidRecordingName reports whether name can name a recording of a model of several
// recordings: letters, digits, '.', '_' and '-', starting with a letter or digit (it becomes a
// variable scope and part of file names).
func ValidRecordingName(name string) bool { return recordingNamePattern.MatchString(name) }
