package retina

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
)

func randomTensor64(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

func mustFloat64s(t *testing.T, x *tensors.Tensor) []float64 {
	t.Helper()
	v, err := tensorFloat64s(x)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// maxRelErr returns max|got−want| / max(max|want|, floor).
func maxRelErr(got, want []float64, floor float64) float64 {
	var maxDiff, maxWant float64
	for i := range want {
		maxDiff = math.Max(maxDiff, math.Abs(got[i]-want[i]))
		maxWant = math.Max(maxWant, math.Abs(want[i]))
	}
	return maxDiff / math.Max(maxWant, floor)
}
