package retina

import (
	"testing"
)

// TestPlateauThresholdIsRelative: as PyTorch's ReduceLROnPlateau (mode "max", threshold 1e-4,
// threshold_mode "rel"), a validation correlation improves on the best one when it exceeds
// best·(1 + 1e-4), not best + 1e-4.
func TestPlateauThresholdIsRelative(t *testing.T) {
	for _, c := range []struct {
		score, best float64
		want        bool
	}{
		{0.50006, 0.5, true},  // above 0.5·1.0001 = 0.50005; an absolute 1e-4 would say no
		{0.50004, 0.5, false}, // below it
		{0.900091, 0.9, true},
		{0.900089, 0.9, false},
		{-1.9999, noCorrelation, true}, // the first epoch always improves on "no correlation yet"
	} {
		if got := plateauImproved(c.score, c.best); got != c.want {
			t.Errorf("plateauImproved(%g, %g) = %v, want %v", c.score, c.best, got, c.want)
		}
	}
}
