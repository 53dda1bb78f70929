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
// Each step is a small full convolution of the kernel composed so far with the next kernel of
// the stack, computed by Conv2D with the composed kernel's outer channels as the batch, the
// composed kernel zero-padded by kh−1, kw−1 on each side, and the next kernel reversed
// spatially. The steps run from whichever end of the stack has fewer channels, since those
// channels are the batch of every step: for LinearStackedBNCNN's first stack (40 → 8 → … → 8)
// from the last kernel, so that each step's batch is 8 output channels instead of 40 input
// ones (its forward pass and gradients 6.3 → 2.2 ms of CPU, single core, loaded machine). Either order
// gives the same kernel, as a full convolution is associative.
func composeKernels(kernels, biases []*graph.Node) (kernel, bias *graph.Node) {
	if len(kernels) == 0 {
		panic(fmt.Errorf("composeKernels: no kernels"))
	}
	if len(biases) > len(kernels) {
		panic(fmt.Errorf("composeKernels: %d biases for %d kernels", len(biases), len(kernels)))
	}
	for i, k := range kernels[1:] {
		if k.Rank() != 4 || k.Shape().Dimensions[2] != kernels[i].Shape().Dimensions[3] {
			panic(fmt.Errorf("composeKernels: kernel %d has shape %s, but kernel %d outputs %d channels", i+1, k.Shape(), i, kernels[i].Shape().Dimensions[3]))
		}
	}
	if len(biases) > 0 {
		bias = biases[0]
	}
	for i, k := range kernels[1:] {
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
	cin, cout := kernels[0].Shape().Dimensions[2], kernels[len(kernels)-1].Shape().Dimensions[3]
	if cout < cin {
		kernel = kernels[len(kernels)-1]
		for i := len(kernels) - 2; i >= 0; i-- {
			kernel = prependKernel(kernels[i], kernel)
		}
		return kernel, bias
	}
	kernel = kernels[0]
	for _, k := range kernels[1:] {
		kernel = appendKernel(kernel, k)
	}
	return kernel, bias
}

// appendKernel composes acc [KH, KW, Cin, m] followed by k [kh, kw, m, o] into
// [KH+kh−1, KW+kw−1, Cin, o]: next[u,v,c,o] = Σ_{a,b,m} acc[u−a, v−b, c, m]·k[a,b,m,o], with
// Cin as the batch of the convolution.
func appendKernel(acc, k *graph.Node) *graph.Node {
	kh, kw := k.Shape().Dimensions[0], k.Shape().Dimensions[1]
	t := graph.TransposeAllAxes(acc, 2, 0, 1, 3) // [Cin, KH, KW, m]: Cin as the batch
	zero := graph.ScalarZero(t.Graph(), t.DType())
	t = graph.Pad(t, zero, graph.PadAxis{}, graph.PadAxis{Start: kh - 1, End: kh - 1}, graph.PadAxis{Start: kw - 1, End: kw - 1}, graph.PadAxis{})
	next := Conv2D(t, graph.Reverse(k, 0, 1), nil) // [Cin, KH+kh−1, KW+kw−1, o]
	return graph.TransposeAllAxes(next, 1, 2, 0, 3)
}

// prependKernel composes k [kh, kw, c, m] followed by acc [KH, KW, m, O] into
// [KH+kh−1, KW+kw−1, c, O]: next[u,v,c,o] = Σ_{a,b,m} k[a,b,c,m]·acc[u−a, v−b, m, o], with O as
// the batch of the convolution.
func prependKernel(k, acc *graph.Node) *graph.Node {
	kh, kw := k.Shape().Dimensions[0], k.Shape().Dimensions[1]
	t := graph.TransposeAllAxes(acc, 3, 0, 1, 2) // [O, KH, KW, m]: O as the batch
	zero := graph.ScalarZero(t.Graph(), t.DType())
	t = graph.Pad(t, zero, graph.PadAxis{}, graph.PadAxis{Start: kh - 1, End: kh - 1}, graph.PadAxis{Start: kw - 1, End: kw - 1}, graph.PadAxis{})
	// The kernel of the convolution maps m to c: k reversed spatially, its channel axes swapped.
	next := Conv2D(t, graph.TransposeAllAxes(graph.Reverse(k, 0, 1), 0, 1, 3, 2), nil) // [O, KH+kh−1, KW+kw−1, c]
	return graph.TransposeAllAxes(next, 1, 2, 3, 0)
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
