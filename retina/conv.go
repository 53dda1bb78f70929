package retina

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Conv2D is a "valid" 2-D convolution (stride 1, no padding, no dilation) in channels-last layout,
// written from ops the pure-Go backend has and can differentiate (Gather, DotGeneral, broadcast),
// so that it trains there — with gradients wrt both the kernel and the input.
//
//   - x: [B, H, W, C]
//   - kernel: [kh, kw, C, Cout]
//   - bias: [Cout] or nil.
//
// It returns [B, H−kh+1, W−kw+1, Cout], out[b,i,j,o] = Σ x[b,i+dy,j+dx,c]·kernel[dy,dx,c,o] + bias[o]
// (a cross-correlation, as PyTorch's Conv2d).
//
// Formulation: one Gather with a constant int32 index tensor of shape [B·Ho·Wo·kh·kw, 3], rows
// (b, i+dy, j+dx), reshaped to the patches [B, Ho·Wo, kh·kw·C]; the kernel is broadcast to a
// leading batch axis, [B, kh·kw·C, Cout]; one batched DotGeneral. Gather's gradient is a ScatterSum;
// DotGeneral's gradient is this package's replacement rule (see RegisterGradients), which Conv2D
// installs.
//
// It panics (graph-building convention) on inconsistent shapes.
func Conv2D(x, kernel, bias *graph.Node) *graph.Node {
	RegisterGradients()
	if x.Rank() != 4 {
		panic(fmt.Errorf("Conv2D: x must be [B,H,W,C], got shape %s", x.Shape()))
	}
	if kernel.Rank() != 4 {
		panic(fmt.Errorf("Conv2D: kernel must be [kh,kw,C,Cout], got shape %s", kernel.Shape()))
	}
	b, h, w, c := x.Shape().Dimensions[0], x.Shape().Dimensions[1], x.Shape().Dimensions[2], x.Shape().Dimensions[3]
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
	ho, wo := h-kh+1, w-kw+1
	g := x.Graph()

	idx := graph.Const(g, convPatchIndices(b, h, w, kh, kw))
	patches := graph.Gather(x, idx)                                             // [B·Ho·Wo·kh·kw, C]
	patches = graph.Reshape(patches, b, ho*wo, kh*kw*c)                         // [B, P, K]
	k := graph.Reshape(kernel, kh*kw*c, cout)                                   // [K, Cout]
	k = graph.BroadcastPrefix(k, b)                                             // [B, K, Cout]
	out := graph.DotGeneral(patches, []int{2}, []int{0}, k, []int{1}, []int{0}) // [B, P, Cout]
	out = graph.Reshape(out, b, ho, wo, cout)
	if bias != nil {
		if bias.Rank() != 1 || bias.Shape().Dimensions[0] != cout {
			panic(fmt.Errorf("Conv2D: bias must be [%d], got shape %s", cout, bias.Shape()))
		}
		out = graph.Add(out, graph.Reshape(bias, 1, 1, 1, cout))
	}
	return out
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
