package nn

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// composeKernels is CollapseStack inside the graph: the one convolution equal to a linear stack
// of valid convolutions applied in order, kernels [kh_i, kw_i, Cin_i, Cout_i] (Cin_{i+1} =
// Cout_i) and biases [Cout_i] (nil entries, or a shorter list, for convolutions without
// bias). It returns the kernel [Σ(kh_i−1)+1, Σ(kw_i−1)+1, Cin_0, Cout_last] and its bias
// [Cout_last] (nil if no convolution has one). Gradients flow back to every kernel and bias of
// the stack, so a model can train the stack's own variables through the composed kernel.
//
// Each step is a small full convolution of the kernel so far with the next kernel:
// next[u,v,c,o] = Σ_{a,b,m} acc[u−a, v−b, c, m]·k[a,b,m,o], computed by Conv2D with acc's input
// channels as the batch, acc zero-padded by kh−1, kw−1 on each side and k reversed spatially.
// It costs about what one convolution of a 15×15 image does, whatever the batch.
func composeKernels(kernels, biases []*graph.Node) (kernel, bias *graph.Node) {
	if len(kernels) == 0 {
		panic(fmt.Errorf("composeKernels: no kernels"))
	}
	if len(biases) > len(kernels) {
		panic(fmt.Errorf("composeKernels: %d biases for %d kernels", len(biases), len(kernels)))
	}
	kernel = kernels[0]
	if len(biases) > 0 {
		bias = biases[0]
	}
	for i, k := range kernels[1:] {
		kd := k.Shape().Dimensions
		if k.Rank() != 4 || kd[2] != kernel.Shape().Dimensions[3] {
			panic(fmt.Errorf("composeKernels: kernel %d has shape %s, but kernel %d outputs %d channels", i+1, k.Shape(), i, kernel.Shape().Dimensions[3]))
		}
		kh, kw := kd[0], kd[1]
		acc := graph.TransposeAllAxes(kernel, 2, 0, 1, 3) // [Cin, KH, KW, m]: Cin as the batch
		zero := graph.ScalarZero(acc.Graph(), acc.DType())
		acc = graph.Pad(acc, zero, graph.PadAxis{}, graph.PadAxis{Start: kh - 1, End: kh - 1}, graph.PadAxis{Start: kw - 1, End: kw - 1}, graph.PadAxis{})
		next := Conv2D(acc, graph.Reverse(k, 0, 1), nil)  // [Cin, KH+kh−1, KW+kw−1, o]
		kernel = graph.TransposeAllAxes(next, 1, 2, 0, 3) // [KH', KW', Cin, o]
		if bias != nil {
			// The bias so far passes through k: Σ_{a,b,m} bias[m]·k[a,b,m,o].
			bias = graph.DotGeneral(bias, []int{0}, nil, graph.ReduceSum(k, 0, 1), []int{0}, nil)
		}
		if i+1 < len(biases) && biases[i+1] != nil {
			if bias == nil {
				bias = biases[i+1]
			} else {
				bias = graph.Add(bias, biases[i+1])
			}
		}
	}
	return kernel, bias
}

// composedConv returns the kernel and bias of a conv layer's convolution(s) (one for BNCNN, a
// linear stack for LinearStacked) composed into one (composeKernels), creating or reusing the
// variables in the order convApply does, so that a seed initialises them alike either way.
func composedConv(ctx *model.Scope, g *graph.Graph, subs []convSub, dtype dtypes.DType) (kernel, bias *graph.Node) {
	kernels := make([]*graph.Node, len(subs))
	biases := make([]*graph.Node, len(subs))
	for i, sub := range subs {
		kernels[i] = materializeVar(ctx, sub.kernel, dtype).NodeValue(g)
		if sub.bias != nil {
			biases[i] = materializeVar(ctx, *sub.bias, dtype).NodeValue(g)
		}
	}
	return composeKernels(kernels, biases)
}

// ParamDirectConvolution is a model-scope parameter (ctx.SetParam): true makes Forward compute
// the conv layers with Conv2D, one convolution at a time, even on an engine where it would use
// FFTConv2D (FFTConvolution): to compare the two, or to measure them.
const ParamDirectConvolution = "nn_direct_convolution"

// convLayerCF applies a conv layer (one convolution or a linear stack) to channels-first h
// [B, C, H, W] and returns channels-first [B, O, H', W']. With fft (FFTConvolution) and no
// dropout between a stack's convolutions, it is one FFTConv2D with the layer's composed kernel;
// otherwise Conv2D, one convolution at a time, in channels-last layout (convApply).
func convLayerCF(ctx *model.Scope, h *graph.Node, subs []convSub, drop func(*model.Scope, *graph.Node) *graph.Node, fft bool) *graph.Node {
	if fft && drop == nil {
		kernel, bias := composedConv(ctx, h.Graph(), subs, h.DType())
		return FFTConv2D(h, kernel, bias)
	}
	return graph.TransposeAllAxes(convApply(ctx, graph.TransposeAllAxes(h, 0, 2, 3, 1), subs, drop), 0, 3, 1, 2)
}
