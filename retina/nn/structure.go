package nn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/ml/model"
)

// The structure of the models, written once: the names of the hidden layers, the variable
// scopes of each part, and where each part sits in the reference's nn.Sequential (its
// state-dict names). Forward, the state-dict import and export, the output initialisation,
// the hidden-unit read-out and the analyses all read it from here.

// Names of the hidden layers (Outputs.Hidden, Model.Hidden, ModelConfig.LayerShapes).
const (
	LayerConv1 = "conv1" // first convolution → batch norm → ReLU: read as bipolar cells
	LayerConv2 = "conv2" // second: read as amacrine cells
)

// hiddenLayers are a CNN's hidden layers from the input up.
var hiddenLayers = [2]string{LayerConv1, LayerConv2}

// Variable scopes under ModelScope. A hidden layer's convolution lives in the scope named after
// the layer ("conv1"; a linear stack's 3×3 convolutions in "conv1/stack_<i>").
var scopeBN = [2]string{"bn1", "bn2"} // the hidden layers' flat batch norms

const (
	scopeDense    = "dense"  // the output dense layer (and the LN model's only layer)
	scopeOutputBN = "bn_out" // the output batch norm, whose shift and scale start at the rates' statistics
)

// Indices of the modules in the reference's nn.Sequential, in its newest module order:
// 0 conv1, 1 flatten, 2 batch norm, 3 reshape, 4 noise, 5 ReLU, 6 conv2, 7 flatten, 8 batch
// norm, 9 reshape, 10 noise, 11 ReLU, 12 flatten, 13 dense, 14 batch norm, 15 softplus.
// ExportStateDict writes these names; ImportStateDict also reads older orders (torchlayout.go).
var (
	torchConvIdx  = [2]int{0, 6}
	torchBNIdx    = [2]int{2, 8}
	torchNoiseIdx = [2]int{4, 10}
)

const (
	torchDenseIdx = 13
	torchBNOutIdx = 14
	torchLNDense  = 1 // LN: 0 flatten, 1 dense, 2 softplus
)

func torchPrefix(idx int) string { return fmt.Sprintf("sequential.%d.", idx) }

// TorchIndices are the indices of the modules in the reference's nn.Sequential, in the newest
// module order (the one ExportStateDict writes); package torchio maps older orders onto them.
type TorchIndices struct {
	Conv    [2]int // the two convolutions
	BN      [2]int // their batch norms
	Noise   [2]int // their Gaussian-noise modules
	Dense   int    // the output dense layer
	BNOut   int    // the output batch norm
	LNDense int    // LN's dense layer (0 flatten, 1 dense, 2 softplus)
}

// TorchModuleIndices returns the newest module order's indices.
func TorchModuleIndices() TorchIndices {
	return TorchIndices{Conv: torchConvIdx, BN: torchBNIdx, Noise: torchNoiseIdx,
		Dense: torchDenseIdx, BNOut: torchBNOutIdx, LNDense: torchLNDense}
}

// TorchPrefix is the state-dict prefix of the module at index idx ("sequential.13.").
func TorchPrefix(idx int) string { return torchPrefix(idx) }

// HiddenLayerNames lists a model's hidden layers from the input up (none for LN).
func HiddenLayerNames(cfg ModelConfig) []string {
	if cfg.Type == ModelLN {
		return nil
	}
	return hiddenLayers[:]
}

// Part is one part of a model as Structure describes it.
type Part struct {
	Role  string // "conv", "batchnorm", "gain-control", "dense", "factorised-readout" or "output-batchnorm"
	Layer string // the hidden layer it belongs to ("conv1", "conv2"); "" for the output parts
	Scope string // the scope of its variables under ModelScope ("conv1", "bn1", "dense", "bn_out", "readout/<name>/dense")
	// Torch is its module in the reference's nn.Sequential ("sequential.0."), whose state-dict
	// entries are Torch+"weight", Torch+"running_mean", …; "" for the factorised readout and
	// the gain-control stage, which the reference does not have.
	Torch string
	// Variables are its variables' names in Scope, and Keys their state-dict names, in order.
	Variables, Keys []string
}

// Structure lists the parts of a model of configuration cfg from the input up, with their
// variable scopes and their names in the reference's state dict.
func Structure(cfg ModelConfig) ([]Part, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var parts []Part
	add := func(role, layer, scope, torch string, specs []varSpec) {
		p := Part{Role: role, Layer: layer, Scope: scope, Torch: torch}
		for _, s := range specs {
			p.Variables = append(p.Variables, s.String())
			p.Keys = append(p.Keys, s.torchKey)
		}
		parts = append(parts, p)
	}
	if cfg.Type == ModelLN {
		add("dense", "", scopeDense, torchPrefix(torchLNDense), modelSpecs(cfg))
		return parts, nil
	}
	for i, layer := range cnnLayers(cfg) {
		var convs []varSpec
		for _, sub := range layer.convs {
			convs = append(convs, sub.specs()...)
		}
		add("conv", layer.name, layer.name, torchPrefix(torchConvIdx[i]), convs)
		add("batchnorm", layer.name, layer.bnScope, torchPrefix(torchBNIdx[i]), layer.bn)
		if gain := gainSpecs(cfg); i == 0 && len(gain) > 0 {
			add("gain-control", layer.name, scopeGain, "", gain)
		}
	}
	specs := readoutSpecs(cfg)
	inScope := func(part string) []varSpec {
		scope := cfg.readoutScopePath(part)
		return slices.DeleteFunc(slices.Clone(specs), func(s varSpec) bool {
			return strings.Join(s.scope, model.ScopeSeparator) != scope
		})
	}
	if cfg.Readout == ReadoutFactorised {
		add("factorised-readout", "", cfg.readoutScopePath(scopeFactorised), "", inScope(scopeFactorised))
	} else {
		add("dense", "", cfg.readoutScopePath(scopeDense), torchPrefix(torchDenseIdx), inScope(scopeDense))
	}
	add("output-batchnorm", "", cfg.readoutScopePath(scopeOutputBN), torchPrefix(torchBNOutIdx), inScope(scopeOutputBN))
	return parts, nil
}
