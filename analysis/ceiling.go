package analysis

import (
	"math"

	"github.com/deepretina/deepretina/metrics"
)

// The reliability ceiling of a cell: the Pearson r that a perfect model, one that predicts the
// cell's noiseless rate exactly, would reach against the trial average the models are scored
// against. Trial-to-trial noise caps it below 1.
//
// The papers report the split-half r: the correlation of the mean of the even trials with the
// mean of the odd ones. That is the reliability of a mean of R/2 trials, not of the R-trial mean
// the models are scored against, and a reliability is a squared correlation with the truth, not
// a correlation: with 10 trials a split-half r of 0.883 means a perfect model reaches about 0.97.
// Two corrections give the ceiling:
//
//   - Spearman–Brown (Spearman 1910; Brown 1910): the reliability of the R-trial mean is
//     ρ_R = 2ρ_h / (1 + ρ_h) for a split-half ρ_h, and a perfect model's r with that mean is
//     √ρ_R (for odd R the halves differ by one trial and the formula is approximate);
//   - noise-corrected: with σ²ₙ the noise variance left in the trial mean (metrics
//     .NoiseVarianceOfMean) the truth's share of the mean's variance is (Var[mean] − σ²ₙ) /
//     Var[mean] (metrics.ExplainableVarianceFraction), and the ceiling is its square root.
//
// For a cell whose trials are the rate plus independent noise both estimate √(S / (S + σ²/R)),
// S the rate's variance, σ² the noise variance of one trial.

// SpearmanBrown is the reliability of a measurement k times as long as one of reliability r:
// kr / (1 + (k − 1)r).
func SpearmanBrown(r, k float64) float64 { return k * r / (1 + (k-1)*r) }

// SplitHalfCeiling is the Spearman–Brown corrected ceiling of a cell: √ρ_R with ρ_R the
// split-half reliability of repeats ([R][T]) stepped up to R trials. NaN with fewer than 2
// trials; 0 when the halves do not correlate positively (no reliable signal).
func SplitHalfCeiling(repeats [][]float32) float64 {
	rh := metrics.SplitHalfReliability(repeats)
	if math.IsNaN(rh) {
		return math.NaN()
	}
	if rh <= 0 {
		return 0
	}
	return math.Sqrt(SpearmanBrown(rh, 2))
}

// NoiseCorrectedCeiling is √((Var[mean] − σ²ₙ) / Var[mean]) of repeats ([R][T]), clamped to
// [0, 1]; NaN with fewer than 2 trials or a constant mean.
func NoiseCorrectedCeiling(repeats [][]float32) float64 {
	f := metrics.ExplainableVarianceFraction(repeats)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return math.NaN()
	}
	return math.Sqrt(min(max(f, 0), 1))
}
