package nn

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Conv2D is a "valid" 2-D convolution (stride 1, no padding, no dilation) in channels-last layout:
//
//   - x: [B, H, W, C]
//   - kernel: [kh, kw, C, Cout]
//   - bias: [Cout] or nil.
//
// It returns [B, H−kh+1, W−kw+1, Cout], out[b,i,j,o] = Σ x[b,i+dy,j+dx,c]·kernel[dy,dx,c,o] + bias[o]
// (a cross-correlation, as PyTorch's Conv2d).
//
// The formulation follows the engine that runs the graph: on XLA (cuDNN on GPUs, XLA's CPU
// kernels) GoMLX's ConvGeneral; on the pure-Go backend the gather formulation of conv2DGather,
// which trains faster there than that backend's own convolution (see NativeConvolution). Both
// compute the same function and gradients.
//
// It panics (graph-building convention) on inconsistent shapes.
func Conv2D(x, kernel, bias *graph.Node) *graph.Node {
	checkConv2DShapes(x, kernel, bias)
	var out *graph.Node
	if NativeConvolution(x.Graph().Backend()) {
		out = conv2DNative(x, kernel)
	} else {
		out = conv2DGather(x, kernel)
	}
	if bias != nil {
		out = graph.Add(out, graph.Reshape(bias, 1, 1, 1, bias.Shape().Dimensions[0]))
	}
	return out
}

// NativeConvolution reports whether Conv2D uses the backend's own convolution on backend: true
// where the backend has ConvGeneral and the Reverse op that GoMLX's convolution gradient needs,
// except on the pure-Go backend. That backend has both since GoMLX v0.28 (gomlx/compute), but
// a training step of two convolutions (batch 32, 20×20×40 input, kernels 9 and 7) took 1.9 s
// with its ConvGeneral against 1.0 s with the gather formulation, measured on 2 cores
// (GoMLX v0.28.8, compute v0.1.6).
func NativeConvolution(backend compute.Backend) bool {
	if backend.String() == gobackend.BackendName {
		return false
	}
	ops := backend.Capabilities().Operations
	return ops[compute.OpTypeConvGeneral] && ops[compute.OpTypeReverse]
}

// conv2DNative is GoMLX's convolution, which XLA lowers to cuDNN on GPUs.
//
// GoMLX's gradient of a convolution with respect to its input (v0.26.0, and still v0.28.8)
// is wrong for even kernel sizes: TestStockConvolveEvenKernelInputGradient measures it, and
// fails once GoMLX fixes it, when this padding should go. An even kernel size is therefore
// made odd with a zero row (column) at its end, and the input gets a zero row (column) at its
// end so that the output, and every gradient, are unchanged.
func conv2DNative(x, kernel *graph.Node) *graph.Node {
	if kernel.Shape().Dimensions[0]%2 == 0 {
		x, kernel = appendZeros(x, 1), appendZeros(kernel, 0)
	}
	if kernel.Shape().Dimensions[1]%2 == 0 {
		x, kernel = appendZeros(x, 2), appendZeros(kernel, 1)
	}
	return graph.Convolve(x, kernel).Strides(1).NoPadding().Done()
}

// appendZeros appends one slice of zeros along axis.
func appendZeros(x *graph.Node, axis int) *graph.Node {
	dims := x.Shape().Clone().Dimensions
	dims[axis] = 1
	return graph.Concatenate([]*graph.Node{x, graph.Zeros(x.Graph(), shapes.Make(x.DType(), dims...))}, axis)
}

// checkConv2DShapes panics with a message naming both shapes when Conv2D's operands disagree.
func checkConv2DShapes(x, kernel, bias *graph.Node) {
	if x.Rank() != 4 {
		panic(fmt.Errorf("Conv2D: x must be [B,H,W,C], got shape %s", x.Shape()))
	}
	if kernel.Rank() != 4 {
		panic(fmt.Errorf("Conv2D: kernel must be [kh,kw,C,Cout], got shape %s", kernel.Shape()))
	}
	h, w, c := x.Shape().Dimensions[1], x.Shape().Dimensions[2], x.Shape().Dimensions[3]
	kh, kw, kc, cout := kernel.Shape().Dimensions[0], kernel.Shape().Dimensions[1], kernel.Shape().Dimensions[2], kernel.Shape().Dimensions[3]
	if kc != c {
		panic(fmt.Errorf("Conv2D: kernel input channels %d (shape %s) != x channels %d (shape %s)", kc, kernel.Shape(), c, x.Shape()))
	}
	if kh > h || kw > w {
		panic(fmt.Errorf("Conv2D: kernel %dx%d larger than the image %dx%d", kh, kw, h, w))
	}
	if x.DType() != kernel.DType() {
		panic(fmt.Errorf("Conv2D: x dtype %s != kernel dtype %s", x.DType(), kernel.DType()))
	}
	if bias != nil && (bias.Rank() != 1 || bias.Shape().Dimensions[0] != cout) {
		panic(fmt.Errorf("Conv2D: bias must be [%d], got shape %s", cout, bias.Shape()))
	}
}

// conv2DGather is Conv2D written from ops the pure-Go backend has and can differentiate
// (Gather, DotGeneral, broadcast), so that it trains there — with gradients wrt both the
// kernel and the input.
//
// Formulation: one Gather with a constant int32 index tensor of shape [B·Ho·Wo·kh·kw, 3], rows
// (b, i+dy, j+dx), reshaped to the patches [B, Ho·Wo, kh·kw·C]; the kernel is broadcast to a
// leading batch axis, [B, kh·kw·C, Cout]; one batched DotGeneral. Gather's gradient is a ScatterSum;
// DotGeneral's is GoMLX's own (since v0.28 it is one DotGeneral per operand; v0.26's
// materialised the broadcast product, which this package used to replace).
func conv2DGather(x, kernel *graph.Node) *graph.Node {
	b, h, w, c := x.Shape().Dimensions[0], x.Shape().Dimensions[1], x.Shape().Dimensions[2], x.Shape().Dimensions[3]
	kh, kw, cout := kernel.Shape().Dimensions[0], kernel.Shape().Dimensions[1], kernel.Shape().Dimensions[3]
	ho, wo := h-kh+1, w-kw+1
	g := x.Graph()

	idx := graph.Const(g, convPatchIndices(b, h, w, kh, kw))
	patches := graph.Gather(x, idx)                                             // [B·Ho·Wo·kh·kw, C]
	patches = graph.Reshape(patches, b, ho*wo, kh*kw*c)                         // [B, P, K]
	k := graph.Reshape(kernel, kh*kw*c, cout)                                   // [K, Cout]
	k = graph.BroadcastPrefix(k, b)                                             // [B, K, Cout]
	out := graph.DotGeneral(patches, []int{2}, []int{0}, k, []int{1}, []int{0}) // [B, P, Cout]
	return graph.Reshape(out, b, ho, wo, cout)
}

// convPatchIndices builds the constant Gather index tensor [B·Ho·Wo·kh·kw, 3] of Conv2D: rows
// (b, i+dy, j+dx) in the order b, i, j, dy, dx. Rows are not globally sorted (they are
// non-decreasing only within each patch, so the Gather is not marked as sorted).
func convPatchIndices(b, h, w, kh, kw int) *tensors.Tensor {
	ho, wo := h-kh+1, w-kw+1
	n := b * ho * wo * kh * kw
	flat := make([]int32, 0, 3*n)
	for bi := range b {
		for i := range ho {
			for j := range wo {
				for dy := range kh {
					for dx := range kw {
						flat = append(flat, int32(bi), int32(i+dy), int32(j+dx))
					}
				}
			}
		}
	}
	return tensors.FromFlatDataAndDimensions(flat, n, 3)
}
