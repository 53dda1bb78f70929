package phenomena

import (
	"math"
	"testing"
)

func TestFitSlope(t *testing.T) {
	if got := fitSlope([]float64{1, 2, 3, 4}, []float64{5, 3, math.NaN(), -1}); math.Abs(got-(-2)) > 1e-12 {
		t.Errorf("slope %g, want −2", got)
	}
	if got := fitSlope([]float64{1, 2, 3}, []float64{1, math.NaN(), 3}); !math.IsNaN(got) {
		t.Errorf("slope of 2 points %g, want NaN", got)
	}
}
