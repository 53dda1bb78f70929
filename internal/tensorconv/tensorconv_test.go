package tensorconv

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestLayout checks transposes against values written out by hand (a [2,3] matrix and a
// [2,1,3] array moved to [3,2,1]), dtype conversion, and the round trip through InvertPerm.
func TestLayout(t *testing.T) {
	m := tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	for _, c := range []struct {
		name  string
		in    *tensors.Tensor
		perm  []int
		dtype dtypes.DType
		dims  []int
		want  []float64
	}{
		{"identity", m, nil, dtypes.Float64, []int{2, 3}, []float64{1, 2, 3, 4, 5, 6}},
		{"transpose", m, []int{1, 0}, dtypes.Float64, []int{3, 2}, []float64{1, 4, 2, 5, 3, 6}},
		{"rank 3", tensors.FromFlatDataAndDimensions([]float64{1, 2, 3, 4, 5, 6}, 2, 1, 3), []int{2, 0, 1}, dtypes.Float32,
			[]int{3, 2, 1}, []float64{1, 4, 2, 5, 3, 6}},
		{"int64", tensors.FromFlatDataAndDimensions([]int32{7, 8}, 2), nil, dtypes.Int64, []int{2}, []float64{7, 8}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := Layout(c.in, c.in.Shape().Dimensions, c.perm, c.dtype)
			if err != nil {
				t.Fatal(err)
			}
			if out.DType() != c.dtype || !slices.Equal(out.Shape().Dimensions, c.dims) {
				t.Fatalf("got %s, want %s %v", out.Shape(), c.dtype, c.dims)
			}
			var got []float64
			if c.dtype == dtypes.Int64 {
				for _, v := range tensors.MustCopyFlatData[int64](out) {
					got = append(got, float64(v))
				}
			} else if got, err = Float64s(out); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("values %v, want %v", got, c.want)
			}
			back, err := Layout(out, c.dims, InvertPerm(c.perm), c.dtype)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(back.Shape().Dimensions, c.in.Shape().Dimensions) {
				t.Errorf("round trip shape %v, want %v", back.Shape().Dimensions, c.in.Shape().Dimensions)
			}
		})
	}
	if _, err := Layout(m, []int{3, 2}, nil, dtypes.Float64); err == nil || !strings.Contains(err.Error(), "expected [3 2]") {
		t.Errorf("wrong dims: got %v", err)
	}
	if _, err := Layout(tensors.FromFlatDataAndDimensions([]int64{1}, 1), []int{1}, nil, dtypes.Float32); err == nil {
		t.Error("int64 to float32 should be refused")
	}
}

func TestNonFinite(t *testing.T) {
	for _, c := range []struct {
		data []float64
		want string // substring; "" for finite
	}{
		{[]float64{1, 2, 3}, ""},
		{[]float64{1, math.NaN(), 3}, "NaN at flat index 1 of 3"},
		{[]float64{math.Inf(-1)}, "-Inf at flat index 0 of 1"},
	} {
		got := NonFinite(FromFloat64s(c.data, dtypes.Float32, len(c.data)))
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("NonFinite(%v) = %q, want %q", c.data, got, c.want)
		}
	}
}
