package main

import (
	"math"
	"testing"

	"github.com/deepretina/deepretina/datasets/simretina"
	"github.com/deepretina/deepretina/phenomena/stimuli"
)

// TestContrastSeriesIsLinearInContrast: the contrast signal is a linear filter's RMS from rest,
// so the same flicker at 0.7 and at 0.2 gives c in the ratio 3.5 at every frame and site, and
// grey gives 0.
func TestContrastSeriesIsLinearInContrast(t *testing.T) {
	circ := simretina.DefaultCircuit()
	hi := contrastSeries(stimuli.WhiteNoise(20, 20, 300, 0.7, 20, false, 5), circ, 100)
	lo := contrastSeries(stimuli.WhiteNoise(20, 20, 300, 0.2, 20, false, 5), circ, 100)
	grey := contrastSeries(stimuli.Grey(300, 20, 20), circ, 100)
	if len(hi) == 0 || len(hi) != len(lo) {
		t.Fatalf("%d and %d sites", len(hi), len(lo))
	}
	for l := range hi {
		for k := 50; k < 300; k++ {
			if r := hi[l][k] / lo[l][k]; math.Abs(r-3.5) > 1e-6 {
				t.Fatalf("site %d frame %d: c ratio %v, want 3.5", l, k, r)
			}
			if grey[l][k] != 0 {
				t.Fatalf("site %d frame %d: c %v on grey", l, k, grey[l][k])
			}
		}
	}
}

// TestSummariseContrastCountsChanges: a series that steps by 4× is counted as changed by ≥ 2×
// and ≥ 3.5× exactly in the frames whose lag reaches back across the step.
func TestSummariseContrastCountsChanges(t *testing.T) {
	s := make([]float64, 40)
	for k := range s {
		s[k] = 1
		if k >= 20 {
			s[k] = 4
		}
	}
	st, err := summariseContrast([][]float64{s}, 0, 5, []float64{2, 3.5, 5})
	if err != nil {
		t.Fatal(err)
	}
	// Frames 5…39 have a lag partner; frames 20…24 reach back across the step: 5 of 35.
	if want := 5.0 / 35; math.Abs(st.FracChangedBy[2]-want) > 1e-12 || math.Abs(st.FracChangedBy[3.5]-want) > 1e-12 || st.FracChangedBy[5] != 0 {
		t.Errorf("fractions %v; want %v for 2× and 3.5×, 0 for 5×", st.FracChangedBy, want)
	}
	if st.P5 != 1 || st.P95 != 4 {
		t.Errorf("percentiles %v, %v; want 1 and 4", st.P5, st.P95)
	}
	if _, err := summariseContrast([][]float64{s[:3]}, 0, 5, nil); err == nil {
		t.Error("a series shorter than the lag was summarised")
	}
}
