package nn

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
)

// FFTConvolution reports whether the models compute their convolution layers by FFT on backend
// (FFTConv2D): on XLA's CPU engine. There a training step of the reference BNCNN spends most of
// its time in the 15×15 kernel's gradient, which XLA computes as a convolution with a 36×36
// window (single core, batch 64: 2.1–2.4 s of 2.4 s); by FFT the layer's forward pass and both
// gradients take 0.18–0.21 s (docs/benchmarks.md). On a GPU the models keep cuDNN's
// convolutions, and on the pure-Go backend Conv2D's gather formulation.
func FFTConvolution(backend compute.Backend) bool {
	if backend == nil || backend.Name() != "xla" {
		return false
	}
	desc := strings.ToLower(backend.Description())
	return strings.Contains(desc, "cpu") && !strings.Contains(desc, "cuda")
}

// FFTConv2D is Conv2D's "valid" cross-correlation (stride 1, no padding) in channels-first
// layout, computed by the 2-D FFT:
//
//   - x: [B, C, H, W]
//   - kernel: [kh, kw, C, O] (Conv2D's layout)
//   - bias: [O] or nil.
//
// It returns [B, O, H−kh+1, W−kw+1], out[b,o,i,j] = Σ x[b,c,i+dy,j+dx]·kernel[dy,dx,c,o] + bias[o].
//
// The image and the zero-padded kernel are transformed at the image's size H×W, multiplied
// (x̂·conj(k̂), summed over C) and transformed back: the circular correlation equals the valid
// one at the Ho×Wo outputs kept, since i+dy < H there. The cost no longer grows with the kernel's
// area (a 15×15 kernel costs what a 3×3 one does), which is what makes it pay: the reference
// models' kernels are 15×15 and 11×11, and a linear stack of 3×3 kernels collapses to one of
// those (ComposeKernels).
//
// The gradients are computed in the frequency domain too, from the spectra of the forward pass
// and of the incoming gradient g (padded to H×W): the kernel's is the correlation of x with g,
// Σ_b x̂·conj(ĝ), cropped to kh×kw; the input's is the full convolution of g with the kernel,
// Σ_o ĝ·k̂ (exact, since g is zero beyond Ho×Wo). GoMLX's own gradients of its FFT ops are not
// used (they give wrong values for a 2-D real FFT).
//
// It panics (graph-building convention) on inconsistent shapes.
func FFTConv2D(x, kernel, bias *graph.Node) *graph.Node {
	checkFFTConv2DShapes(x, kernel, bias)
	h, w := x.Shape().Dimensions[2], x.Shape().Dimensions[3]
	kh, kw, o := kernel.Shape().Dimensions[0], kernel.Shape().Dimensions[1], kernel.Shape().Dimensions[3]
	ho, wo := h-kh+1, w-kw+1
	nf := h * (w/2 + 1) // frequencies of a real 2-D FFT of H×W
	// spectrum transforms [N, M, H', W'] (H' ≤ H, W' ≤ W) at size H×W into [N, M, nf].
	spectrum := func(v *graph.Node) *graph.Node {
		d := v.Shape().Dimensions
		if d[2] < h || d[3] < w {
			zero := graph.ScalarZero(v.Graph(), v.DType())
			v = graph.Pad(v, zero, graph.PadAxis{}, graph.PadAxis{}, graph.PadAxis{End: h - d[2]}, graph.PadAxis{End: w - d[3]})
		}
		return graph.Reshape(graph.RealFFT(v, h, w), d[0], d[1], nf)
	}
	// image transforms a spectrum [N, M, nf] back to [N, M, H, W] and keeps [:rows, :cols].
	image := func(s *graph.Node, rows, cols int) *graph.Node {
		d := s.Shape().Dimensions
		v := graph.InverseRealFFT(graph.Reshape(s, d[0], d[1], h, w/2+1), h, w)
		return graph.Slice(v, graph.AxisRange(), graph.AxisRange(), graph.AxisRange(0, rows), graph.AxisRange(0, cols))
	}

	kcf := graph.TransposeAllAxes(kernel, 3, 2, 0, 1)    // [O, C, kh, kw]
	xPairs := realPairs(spectrum(graph.StopGradient(x))) // [nf, B, 2C]
	kSpec := spectrum(graph.StopGradient(kcf))           // [O, C, nf]
	// out = Σ_c x̂·conj(k̂): [Re x̂, Im x̂]·[[Re k̂ᵀ, −Im k̂ᵀ], [Im k̂ᵀ, Re k̂ᵀ]] = [Re, Im] per frequency.
	kr, ki := freqMajor(graph.Real(kSpec), 2, 1, 0), freqMajor(graph.Imag(kSpec), 2, 1, 0) // [nf, C, O]
	out := image(fromRealPairs(graph.DotGeneral(xPairs, []int{2}, []int{0}, blocks(kr, graph.Neg(ki), ki, kr), []int{1}, []int{0})), ho, wo)

	// The gradients, by the rule of FFTConv2D's comment. GoMLX's reverse pass visits a node after
	// every node built later from it; gOut (built last) is therefore visited first, and records
	// the incoming gradient for xGrad and kGrad (built first), which read it.
	var g, gSpec, gSpecOf *graph.Node
	specOfG := func() *graph.Node { // [B, O, nf]
		if g == nil {
			panic(fmt.Errorf("FFTConv2D: the reverse pass reached an input before the output"))
		}
		if gSpecOf != g { // once per reverse pass (graph.Gradient call)
			gSpec, gSpecOf = spectrum(g), g
		}
		return gSpec
	}
	xGrad := graph.IdentityWithCustomGradient(x, func(_, _ *graph.Node) *graph.Node {
		// Σ_o ĝ·k̂: [Re ĝ, Im ĝ]·[[Re k̂, Im k̂], [−Im k̂, Re k̂]] → [B, C, H, W].
		kr, ki := freqMajor(graph.Real(kSpec), 2, 0, 1), freqMajor(graph.Imag(kSpec), 2, 0, 1) // [nf, O, C]
		prod := graph.DotGeneral(realPairs(specOfG()), []int{2}, []int{0}, blocks(kr, ki, graph.Neg(ki), kr), []int{1}, []int{0})
		return image(fromRealPairs(prod), h, w)
	})
	kGrad := graph.IdentityWithCustomGradient(kcf, func(_, _ *graph.Node) *graph.Node {
		// Σ_b conj(ĝ)·x̂ (the transpose of Σ_b x̂·conj(ĝ)) from P = [Re ĝ, Im ĝ]ᵀ·[Re x̂, Im x̂]
		// (x̂'s pairs as laid out for the forward product): Re = P_rr + P_ii, Im = P_ri − P_ir
		// → [O, C, kh, kw]. ĝ's pairs are laid out [nf, 2O, B] for it (realPairsT), so that the
		// product contracts the last axis of its first operand: XLA's CPU compiler then gives it
		// to YNNPACK, where [nf, B, 2O] contracted on B stays an Eigen dot (layer 1 of
		// LinearStackedBNCNN alone, batch 64, under load: 1.5–2 ms less wall time for about the
		// same CPU time, docs/benchmarks.md). A layer whose input gradient is needed too
		// transposes ĝ's pairs both ways (layer 2, batch 64: 2.8 MB).
		p := graph.DotGeneral(realPairsT(specOfG()), []int{2}, []int{0}, xPairs, []int{1}, []int{0}) // [nf, 2O, 2C]
		o2, c2 := p.Shape().Dimensions[1], p.Shape().Dimensions[2]
		quarter := func(r, c int) *graph.Node {
			return graph.Slice(p, graph.AxisRange(), graph.AxisRange(r*o2/2, (r+1)*o2/2), graph.AxisRange(c*c2/2, (c+1)*c2/2))
		}
		re, im := graph.Add(quarter(0, 0), quarter(1, 1)), graph.Sub(quarter(0, 1), quarter(1, 0))
		return image(graph.TransposeAllAxes(graph.Complex(re, im), 1, 2, 0), kh, kw)
	})
	// A path for the reverse pass from out to xGrad and kGrad that leaves out's value exactly
	// as it is: a selection whose condition is the constant true.
	first := func(v *graph.Node) *graph.Node {
		return graph.Reshape(graph.Slice(v, graph.AxisElem(0), graph.AxisElem(0), graph.AxisElem(0), graph.AxisElem(0)))
	}
	other := graph.BroadcastToShape(graph.Add(first(xGrad), first(kGrad)), out.Shape())
	out = graph.Where(graph.Const(out.Graph(), true), out, other)
	out = graph.IdentityWithCustomGradient(out, func(_, v *graph.Node) *graph.Node {
		g = v
		return v
	})
	if bias != nil {
		out = graph.Add(out, graph.Reshape(bias, 1, o, 1, 1))
	}
	return out
}

// The products of spectra, frequency by frequency, are real matrix products: a complex
// [N, M] matrix z per frequency is held as the real [N, 2M] matrix [Re z, Im z] with the
// frequency first (realPairs), and a complex product becomes one real product with a 2×2 block
// matrix of real and imaginary parts (blocks). XLA's CPU code multiplies real matrices about
// three times as fast as complex ones (a batched product of this size: 6 ms against 17–19 ms,
// single core).

// realPairs turns a spectrum [N, M, nf] into [nf, N, 2M]: real parts, then imaginary parts.
func realPairs(s *graph.Node) *graph.Node {
	// Concatenated in the spectrum's own layout, [N, 2M, nf], then transposed as a whole: XLA's
	// CPU code then reads each frequency row once, where concatenating two transposes read the
	// spectrum in strides of nf for each output value.
	return graph.TransposeAllAxes(graph.Concatenate([]*graph.Node{graph.Real(s), graph.Imag(s)}, 1), 2, 0, 1)
}

// realPairsT turns a spectrum [N, M, nf] into [nf, 2M, N]: real parts, then imaginary parts.
func realPairsT(s *graph.Node) *graph.Node {
	return graph.TransposeAllAxes(graph.Concatenate([]*graph.Node{graph.Real(s), graph.Imag(s)}, 1), 2, 1, 0)
}

// fromRealPairs is realPairs' inverse: [nf, N, 2M] to the spectrum [N, M, nf].
func fromRealPairs(p *graph.Node) *graph.Node {
	// Transposed as a whole before the split, as in realPairs.
	m := p.Shape().Dimensions[2] / 2
	t := graph.TransposeAllAxes(p, 1, 2, 0) // [N, 2M, nf]
	re := graph.Slice(t, graph.AxisRange(), graph.AxisRange(0, m), graph.AxisRange())
	im := graph.Slice(t, graph.AxisRange(), graph.AxisRange(m, 2*m), graph.AxisRange())
	return graph.Complex(re, im)
}

// freqMajor transposes a real [A, B, nf] part of a spectrum by perm (nf's position first).
func freqMajor(v *graph.Node, perm ...int) *graph.Node { return graph.TransposeAllAxes(v, perm...) }

// blocks assembles [nf, 2R, 2C] from four [nf, R, C] blocks: [[tl, tr], [bl, br]].
func blocks(tl, tr, bl, br *graph.Node) *graph.Node {
	return graph.Concatenate([]*graph.Node{
		graph.Concatenate([]*graph.Node{tl, tr}, 2),
		graph.Concatenate([]*graph.Node{bl, br}, 2),
	}, 1)
}

// checkFFTConv2DShapes panics with a message naming the shapes when FFTConv2D's operands disagree.
func checkFFTConv2DShapes(x, kernel, bias *graph.Node) {
	if x.Rank() != 4 {
		panic(fmt.Errorf("FFTConv2D: x must be [B,C,H,W], got shape %s", x.Shape()))
	}
	if kernel.Rank() != 4 {
		panic(fmt.Errorf("FFTConv2D: kernel must be [kh,kw,C,O], got shape %s", kernel.Shape()))
	}
	c, h, w := x.Shape().Dimensions[1], x.Shape().Dimensions[2], x.Shape().Dimensions[3]
	kh, kw, kc, o := kernel.Shape().Dimensions[0], kernel.Shape().Dimensions[1], kernel.Shape().Dimensions[2], kernel.Shape().Dimensions[3]
	switch {
	case kc != c:
		panic(fmt.Errorf("FFTConv2D: kernel input channels %d (shape %s) != x channels %d (shape %s)", kc, kernel.Shape(), c, x.Shape()))
	case kh > h || kw > w:
		panic(fmt.Errorf("FFTConv2D: kernel %dx%d larger than the image %dx%d", kh, kw, h, w))
	case x.DType() != kernel.DType():
		panic(fmt.Errorf("FFTConv2D: x dtype %s != kernel dtype %s", x.DType(), kernel.DType()))
	case bias != nil && (bias.Rank() != 1 || bias.Shape().Dimensions[0] != o):
		panic(fmt.Errorf("FFTConv2D: bias must be [%d], got shape %s", o, bias.Shape()))
	}
}
