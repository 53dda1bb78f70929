package nn

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/internal/tensorconv"
)

// CollapseStack combines a linear stack of valid convolutions, applied in order with no
// nonlinearity in between, into one equivalent convolution:
// Conv2D(…Conv2D(Conv2D(x, k0, b0), k1, b1)…) == Conv2D(x, kernel, bias).
//
// Kernels are in this package's channels-last layout [kh_i, kw_i, Cin_i, Cout_i], with
// Cin_{i+1} == Cout_i; the result is [Σ(kh_i−1)+1, Σ(kw_i−1)+1, Cin_0, Cout_last] — e.g. seven
// 3×3 kernels give one 15×15. biases may be nil, shorter than kernels, or hold nil entries for
// convolutions without bias; the returned bias [Cout_last] is always set (zeros if no bias at
// all). Computation is in float64; results have the dtype of kernels[0] (float32 or float64).
func CollapseStack(kernels []*tensors.Tensor, biases []*tensors.Tensor) (kernel, bias *tensors.Tensor, err error) {
	if len(kernels) == 0 {
		return nil, nil, fmt.Errorf("no kernels to collapse")
	}
	if len(biases) > len(kernels) {
		return nil, nil, fmt.Errorf("%d biases for %d kernels", len(biases), len(kernels))
	}
	dtype := kernels[0].DType()
	if dtype != dtypes.Float32 && dtype != dtypes.Float64 {
		return nil, nil, fmt.Errorf("kernels: expected float32 or float64, got %s", dtype)
	}
	var acc []float64 // accumulated kernel [kh, kw, cin, cout]
	var accBias []float64
	var kh, kw, cin, cout int
	for i, kt := range kernels {
		if kt == nil || kt.Rank() != 4 {
			return nil, nil, fmt.Errorf("kernel %d: expected [kh,kw,Cin,Cout], got %v", i, shapeOf(kt))
		}
		d := kt.Shape().Dimensions
		k, err := tensorconv.Float64s(kt)
		if err != nil {
			return nil, nil, fmt.Errorf("kernel %d: %w", i, err)
		}
		var b []float64
		if i < len(biases) && biases[i] != nil {
			if biases[i].Rank() != 1 || biases[i].Shape().Dimensions[0] != d[3] {
				return nil, nil, fmt.Errorf("bias %d: expected [%d], got %v", i, d[3], biases[i].Shape().Dimensions)
			}
			if b, err = tensorconv.Float64s(biases[i]); err != nil {
				return nil, nil, fmt.Errorf("bias %d: %w", i, err)
			}
		}
		if i == 0 {
			acc, kh, kw, cin, cout = k, d[0], d[1], d[2], d[3]
			accBias = make([]float64, cout)
			copy(accBias, b)
			continue
		}
		if d[2] != cout {
			return nil, nil, fmt.Errorf("kernel %d has %d input channels, but kernel %d outputs %d", i, d[2], i-1, cout)
		}
		bh, bw, bout := d[0], d[1], d[3]
		next := composeHostKernels(acc, kh, kw, cin, cout, k, bh, bw, bout)
		nextBias := composeBias(accBias, b, k, bh*bw, cout, bout)
		nh, nw := kh+bh-1, kw+bw-1
		acc, accBias, kh, kw, cout = next, nextBias, nh, nw, bout
	}
	return tensorconv.FromFloat64s(acc, dtype, kh, kw, cin, cout), tensorconv.FromFloat64s(accBias, dtype, cout), nil
}

// composeHostKernels returns the kernel [kh+bh−1, kw+bw−1, cin, bout] of acc [kh, kw, cin, cout]
// followed by k [bh, bw, cout, bout]:
// next[u,v,c,o] = Σ_{a,b,m} acc[u−a, v−b, c, m] · k[a, b, m, o].
func composeHostKernels(acc []float64, kh, kw, cin, cout int, k []float64, bh, bw, bout int) []float64 {
	nw := kw + bw - 1
	next := make([]float64, (kh+bh-1)*nw*cin*bout)
	for p := range kh {
		for q := range kw {
			for c := range cin {
				accRow := acc[((p*kw+q)*cin+c)*cout:]
				for a := range bh {
					for bb := range bw {
						out := next[(((p+a)*nw+(q+bb))*cin+c)*bout:]
						kRow := k[(a*bw+bb)*cout*bout:]
						for m := range cout {
							am := accRow[m]
							if am == 0 {
								continue
							}
							km := kRow[m*bout : (m+1)*bout]
							for o, kv := range km {
								out[o] += am * kv
							}
						}
					}
				}
			}
		}
	}
	return next
}

// composeBias returns the bias [bout] of a convolution with bias accBias [cout] followed by k
// (taps kernel positions, [taps, cout, bout] flat) with bias b (nil: none): the accumulated bias
// passes through k, b + Σ_{a,b,m} accBias[m] · k[a,b,m,o].
func composeBias(accBias, b, k []float64, taps, cout, bout int) []float64 {
	next := make([]float64, bout)
	copy(next, b)
	for ab := range taps {
		for m := range cout {
			for o := range bout {
				next[o] += accBias[m] * k[(ab*cout+m)*bout+o]
			}
		}
	}
	return next
}

// CollapsedKernel returns the effective kernel [k, k, Cin, Cout] (channels-last, see
// ConvKernelToTorch) and bias [Cout] of a conv layer ("conv1" or "conv2") of a model held in ctx:
// for LinearStacked, its stack of 3×3 kernels collapsed with CollapseStack; for BNCNN, copies of
// the layer's kernel and bias.
func CollapsedKernel(ctx *model.Scope, cfg ModelConfig, layer string) (kernel, bias *tensors.Tensor, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if !cfg.IsCNN() {
		return nil, nil, fmt.Errorf("model %q has no conv layers", cfg.Type)
	}
	var subs []convSub
	for _, l := range cnnLayers(cfg) {
		if l.name == layer {
			subs = l.convs
		}
	}
	if subs == nil {
		return nil, nil, fmt.Errorf("unknown layer %q (want %q or %q)", layer, LayerConv1, LayerConv2)
	}
	read := func(s varSpec) (*tensors.Tensor, error) {
		scope := s.scopePath(ctx)
		v := ctx.Store().GetVariable(model.JoinPath(scope, s.name))
		if v == nil || !v.HasValue() {
			return nil, fmt.Errorf("variable %s%s%s missing or not initialised", scope, model.ScopeSeparator, s.name)
		}
		return v.Value()
	}
	kernels := make([]*tensors.Tensor, len(subs))
	biases := make([]*tensors.Tensor, len(subs))
	for i, sub := range subs {
		if kernels[i], err = read(sub.kernel); err != nil {
			return nil, nil, err
		}
		if sub.bias != nil {
			if biases[i], err = read(*sub.bias); err != nil {
				return nil, nil, err
			}
		}
	}
	return CollapseStack(kernels, biases)
}

// ConvKernelToTorch converts a channels-last kernel [kh, kw, Cin, Cout] to PyTorch's
// [Cout, Cin, kh, kw] (same dtype).
func ConvKernelToTorch(kernel *tensors.Tensor) (*tensors.Tensor, error) {
	if kernel == nil || kernel.Rank() != 4 {
		return nil, fmt.Errorf("kernel: expected [kh,kw,Cin,Cout], got %v", shapeOf(kernel))
	}
	return tensorconv.Layout(kernel, kernel.Shape().Dimensions, []int{3, 2, 0, 1}, kernel.DType())
}

func shapeOf(t *tensors.Tensor) any {
	if t == nil {
		return "nil"
	}
	return t.Shape()
}
