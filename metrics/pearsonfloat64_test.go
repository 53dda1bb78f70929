package metrics

import (
	"math"
	"testing"
)

// TestPearsonFloat64 checks closed forms (±1 for affine relations, 0 for a constant series) and
// agreement with the float32 Pearson on a generic pair.
func TestPearsonFloat64(t *testing.T) {
	a := []float64{1, 2, 3, 4, 5}
	cases := []struct {
		name string
		b    []float64
		want float64
	}{
		{"affine", []float64{3, 5, 7, 9, 11}, 1},
		{"negated", []float64{-1, -2, -3, -4, -5}, -1},
		{"constant", []float64{2, 2, 2, 2, 2}, 0},
	}
	for _, tc := range cases {
		if got := PearsonFloat64(a, tc.b); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: r %v, want %v", tc.name, got, tc.want)
		}
	}
	x := []float64{0.3, -1.2, 2.5, 0.7, -0.4, 1.9}
	y := []float64{1.1, -0.2, 1.7, 0.1, 0.4, 2.6}
	x32, y32 := make([]float32, len(x)), make([]float32, len(y))
	for i := range x {
		x32[i], y32[i] = float32(x[i]), float32(y[i])
	}
	want, err := Pearson(x32, y32)
	if err != nil {
		t.Fatal(err)
	}
	if got := PearsonFloat64(x, y); math.Abs(got-want) > 1e-6 {
		t.Errorf("generic pair: r %v, float32 Pearson %v", got, want)
	}
}
