// Package tensorconv copies GoMLX tensors between layouts and dtypes on the host: the
// transposes between this project's channels-last variables and PyTorch's layouts, float64
// views of float tensors, and the check for non-finite weights. It is a low-level leaf, used by
// retina/nn (collapsing linear stacks), retina (checkpoints) and torchio (state dicts).
package tensorconv

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

// Layout returns a new tensor with t's values (of shape dims) transposed by perm (output
// axis i is input axis perm[i]; nil: no transpose) and converted to dtype (float32, float64 or
// int64; floats convert to floats, integers to int64).
func Layout(t *tensors.Tensor, dims []int, perm []int, dtype dtypes.DType) (*tensors.Tensor, error) {
	if !slices.Equal(t.Shape().Dimensions, dims) {
		return nil, fmt.Errorf("shape %v, expected %v", t.Shape().Dimensions, dims)
	}
	var src []float64
	var srcInt []int64
	var convErr error
	err := t.ConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			src = make([]float64, len(f))
			for i, v := range f {
				src[i] = float64(v)
			}
		case []float64:
			src = slices.Clone(f)
		case []int64:
			srcInt = slices.Clone(f)
		case []int32:
			srcInt = make([]int64, len(f))
			for i, v := range f {
				srcInt[i] = int64(v)
			}
		case []int:
			srcInt = make([]int64, len(f))
			for i, v := range f {
				srcInt[i] = int64(v)
			}
		default:
			convErr = fmt.Errorf("unsupported tensor dtype %s", t.DType())
		}
	})
	if err != nil {
		return nil, err
	}
	if convErr != nil {
		return nil, convErr
	}
	outDims := slices.Clone(dims)
	for i, a := range perm {
		outDims[i] = dims[a]
	}
	switch dtype {
	case dtypes.Float32:
		if src == nil {
			return nil, fmt.Errorf("cannot convert %s to %s", t.DType(), dtype)
		}
		p := permuteFlat(src, dims, perm)
		out := make([]float32, len(p))
		for i, v := range p {
			out[i] = float32(v)
		}
		return tensors.FromFlatDataAndDimensions(out, outDims...), nil
	case dtypes.Float64:
		if src == nil {
			return nil, fmt.Errorf("cannot convert %s to %s", t.DType(), dtype)
		}
		return tensors.FromFlatDataAndDimensions(permuteFlat(src, dims, perm), outDims...), nil
	case dtypes.Int64:
		if srcInt == nil {
			return nil, fmt.Errorf("cannot convert %s to %s", t.DType(), dtype)
		}
		return tensors.FromFlatDataAndDimensions(permuteFlat(srcInt, dims, perm), outDims...), nil
	}
	return nil, fmt.Errorf("unsupported target dtype %s", dtype)
}

// InvertPerm returns the permutation that undoes perm (nil for nil).
func InvertPerm(perm []int) []int {
	if perm == nil {
		return nil
	}
	inv := make([]int, len(perm))
	for i, a := range perm {
		inv[a] = i
	}
	return inv
}

// permuteFlat transposes row-major data of shape dims: output axis i is input axis perm[i].
func permuteFlat[T any](src []T, dims []int, perm []int) []T {
	if perm == nil || isIdentityPerm(perm) {
		return slices.Clone(src)
	}
	rank := len(dims)
	inStrides := make([]int, rank)
	stride := 1
	for a := rank - 1; a >= 0; a-- {
		inStrides[a] = stride
		stride *= dims[a]
	}
	outDims := make([]int, rank)
	for i, a := range perm {
		outDims[i] = dims[a]
	}
	out := make([]T, len(src))
	idx := make([]int, rank) // multi-index over the output
	for o := range out {
		in := 0
		for i := range rank {
			in += idx[i] * inStrides[perm[i]]
		}
		out[o] = src[in]
		for i := rank - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < outDims[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// isIdentityPerm reports whether the permutation p leaves every axis in place.
func isIdentityPerm(p []int) bool {
	for i, a := range p {
		if i != a {
			return false
		}
	}
	return true
}

// Float64s copies a float tensor's values as float64, in row-major order.
func Float64s(t *tensors.Tensor) ([]float64, error) {
	out, err := Layout(t, t.Shape().Dimensions, nil, dtypes.Float64)
	if err != nil {
		return nil, err
	}
	return tensors.CopyFlatData[float64](out)
}

// FromFloat64s makes a tensor of shape dims from row-major data: float64 when dtype is
// Float64, float32 otherwise.
func FromFloat64s(data []float64, dtype dtypes.DType, dims ...int) *tensors.Tensor {
	if dtype == dtypes.Float64 {
		return tensors.FromFlatDataAndDimensions(data, dims...)
	}
	f := make([]float32, len(data))
	for i, v := range data {
		f[i] = float32(v)
	}
	return tensors.FromFlatDataAndDimensions(f, dims...)
}

// NonFinite describes the first NaN or ±Inf of a float tensor ("" when every value is finite,
// or the tensor is not a float one): weights that are not finite make every prediction NaN.
func NonFinite(t *tensors.Tensor) string {
	if t == nil || !t.DType().IsFloat() {
		return ""
	}
	v, err := Float64s(t)
	if err != nil {
		return ""
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprintf("value %v at flat index %d of %d: expected finite weights", x, i, len(v))
		}
	}
	return ""
}
