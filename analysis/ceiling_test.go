package analysis

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepretina/deepretina/metrics"
)

// TestCeilingsMatchTheClosedForm plants a cell whose trials are a rate of variance S plus
// independent noise of variance σ²: a perfect model's r with the R-trial mean is
// √(S / (S + σ²/R)). Both corrected ceilings must recover it; the uncorrected split-half r is
// the reliability of an R/2-trial mean, S / (S + 2σ²/R), and must not.
func TestCeilingsMatchTheClosedForm(t *testing.T) {
	for _, tc := range []struct {
		trials        int
		signal, noise float64 // variances
	}{{10, 1, 4}, {10, 1, 1}, {4, 1, 9}, {20, 2, 30}} {
		rng := rand.New(rand.NewPCG(uint64(tc.trials), uint64(tc.noise)))
		const T = 40000
		rate := make([]float32, T)
		for i := range rate {
			rate[i] = float32(math.Sqrt(tc.signal) * rng.NormFloat64())
		}
		reps := make([][]float32, tc.trials)
		for k := range reps {
			reps[k] = make([]float32, T)
			for i := range reps[k] {
				reps[k][i] = rate[i] + float32(math.Sqrt(tc.noise)*rng.NormFloat64())
			}
		}
		R := float64(tc.trials)
		want := math.Sqrt(tc.signal / (tc.signal + tc.noise/R))
		sb, nc := SplitHalfCeiling(reps), NoiseCorrectedCeiling(reps)
		if math.Abs(sb-want) > 0.01 || math.Abs(nc-want) > 0.01 {
			t.Errorf("R=%d S=%g σ²=%g: Spearman–Brown ceiling %.4f, noise-corrected %.4f, want %.4f", tc.trials, tc.signal, tc.noise, sb, nc, want)
		}
		// The ceiling is what a perfect model reaches.
		mean := make([]float32, T)
		for _, r := range reps {
			for i, v := range r {
				mean[i] += v / float32(R)
			}
		}
		perfect, _ := metrics.Pearson(rate, mean)
		if math.Abs(perfect-sb) > 0.01 {
			t.Errorf("R=%d: a perfect model scores r %.4f, the ceiling says %.4f", tc.trials, perfect, sb)
		}
		half := tc.signal / (tc.signal + 2*tc.noise/R)
		if sh := metrics.SplitHalfReliability(reps); math.Abs(sh-half) > 0.01 || sh >= want-0.02 {
			t.Errorf("R=%d: split-half r %.4f, want the R/2-trial reliability %.4f, below the ceiling %.4f", tc.trials, sh, half, want)
		}
	}
}

func TestCeilingEdgeCases(t *testing.T) {
	one := [][]float32{{1, 2, 3}}
	if !math.IsNaN(SplitHalfCeiling(one)) || !math.IsNaN(NoiseCorrectedCeiling(one)) {
		t.Error("one trial: the ceilings must be unavailable (NaN)")
	}
	// Trials that do not correlate: no reliable signal, ceiling 0.
	anti := [][]float32{{1, -1, 1, -1}, {-1, 1, -1, 1}}
	if c := SplitHalfCeiling(anti); c != 0 {
		t.Errorf("anti-correlated halves: ceiling %v, want 0", c)
	}
	if got := SpearmanBrown(0.5, 2); math.Abs(got-2.0/3) > 1e-12 {
		t.Errorf("Spearman–Brown(0.5, 2) = %v, want 2/3", got)
	}
}
