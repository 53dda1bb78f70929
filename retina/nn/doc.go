// Package nn holds the layers and the model definitions of deepretina, as PyTorch's torch.nn
// and openretina's modules hold theirs: layers that train on every GoMLX backend (conv.go: a
// gather-based convolution, faster on the pure-Go backend than its own; batchnorm.go: a
// PyTorch-semantics flat batch norm, which GoMLX's batchnorm package is not), and the models
// built from them (models.go: ModelConfig and Forward for BNCNN of McIntosh et al. 2016,
// LinearStackedBNCNN of Maheswaranathan et al. 2023 and the dense LN model; modelstacked.go:
// collapsing a linear stack of 3×3 convolutions into one kernel; outputinit.go: the output layer
// started at the rates' statistics; readout.go: a CNN as a core, its hidden layers
// (ForwardCore), and a readout onto its cells (ForwardReadout), dense as the reference's or
// factorised into a spatial mask × channel weights per cell, placed per recording for models of
// several recordings). On XLA's CPU engine the models compute each conv layer as one FFT
// convolution (fftconv.go) of the layer's composed kernel (compose.go); noise.go draws the
// training noise.
//
// structure.go and vars.go are the one description of the models' layer names, variable scopes
// and PyTorch state-dict names (Structure, Vars), which Forward, package retina's checkpoints
// and package torchio's state-dict import and export all read.
//
// Layering: layers (conv.go, batchnorm.go) → models (structure.go, vars.go, models.go,
// readout.go, modelstacked.go, outputinit.go). Package retina trains and uses these models and imports this
// package; this package imports only datasets and GoMLX.
//
// Forward builds a model's graph on x: [B, History, H, W] z-scored stimulus windows (oldest
// frame first) and returns firing rates [B, NCells] and the hidden layers:
//
//	cfg := nn.DefaultModelConfig(nCells)          // the reference BNCNN, 40×50×50 input
//	out := nn.Forward(ctx.At(nn.ModelScope), cfg, x) // out.Rates, out.Hidden["conv1"]
package nn
