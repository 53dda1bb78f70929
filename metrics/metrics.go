// Package metrics holds the scoring functions shared by every layer of deepretina: Pearson
// correlation per cell (the validation metric of training and the headline test metric), the
// retinal reliability ceiling from repeated trials, the fraction of explainable variance explained
// and the log-likelihood improvement in bits per spike.
//
// It sits below datasets, retina and analysis so that each of them can score without importing
// upward. Responses are passed as row-major [T, N] float32 slices (time × cells), the layout of
// datasets.Matrix.Data.
//
//	r := metrics.PearsonPerCell(pred, target, nCells) // []float64, one per cell
//	fmt.Println(metrics.Mean(r))
//	ceiling := metrics.SplitHalfReliability(repeats)   // repeats [R][T] of one cell
//	fev := metrics.FEV(predOfCell, repeats)             // 1: all of the explainable variance
//	bits := metrics.BitsPerSpike(predHz, counts, 0.01, countTrials)
//
// Statistics of repeated trials need at least two trials; with fewer they are unavailable and
// returned as NaN (never 0, which would read as a real score).
package metrics

import (
	"fmt"
	"math"
)

// Pearson returns the Pearson correlation of a and b. Inputs of different lengths are an error
// that names both lengths. A constant input has no defined correlation; it scores 0, so a dead
// model never looks good.
func Pearson(a, b []float32) (float64, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("pearson: the first input has %d values, the second %d values", len(a), len(b))
	}
	return pearson(a, b), nil
}

// pearson is Pearson for inputs of equal length.
func pearson(a, b []float32) float64 {
	n := len(a)
	if n < 2 {
		return 0
	}
	var ma, mb float64
	for i := range a {
		ma += float64(a[i])
		mb += float64(b[i])
	}
	ma /= float64(n)
	mb /= float64(n)
	var sab, saa, sbb float64
	for i := range a {
		da, db := float64(a[i])-ma, float64(b[i])-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return 0
	}
	return sab / math.Sqrt(saa*sbb)
}

// Column extracts column c of a row-major [T, n] matrix.
func Column(m []float32, n, c int) []float32 {
	t := len(m) / n
	out := make([]float32, t)
	for i := range out {
		out[i] = m[i*n+c]
	}
	return out
}

// PearsonPerCell correlates each column of pred and target, both row-major [T, n]. Like
// gonum's floats package it panics, naming both sizes, when they are not two [T, n] matrices of
// the same T: callers that take shapes from users check them first (analysis.Evaluate does).
func PearsonPerCell(pred, target []float32, n int) []float64 {
	if n <= 0 || len(pred) != len(target) || len(pred)%n != 0 {
		panic(fmt.Sprintf("metrics.PearsonPerCell: pred has %d values and target has %d; both must be [T, %d]", len(pred), len(target), n))
	}
	out := make([]float64, n)
	for c := range out {
		out[c] = pearson(Column(pred, n, c), Column(target, n, c))
	}
	return out
}

// Mean of xs, NaN-free inputs assumed; 0 for an empty slice.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// meanOfTrials averages a set of trials [R][T] into [T].
func meanOfTrials(trials [][]float32) []float32 {
	if len(trials) == 0 {
		return nil
	}
	out := make([]float32, len(trials[0]))
	for _, tr := range trials {
		for t, v := range tr {
			out[t] += v
		}
	}
	inv := 1 / float32(len(trials))
	for t := range out {
		out[t] *= inv
	}
	return out
}

// SplitHalfReliability is the retinal reliability ceiling of the deep-retina papers: the
// correlation between the mean of the even-numbered trials and the mean of the odd-numbered
// trials. repeats: [R][T], all of one length; NaN (unavailable) when R < 2.
func SplitHalfReliability(repeats [][]float32) float64 {
	if len(repeats) < 2 {
		return math.NaN()
	}
	var even, odd [][]float32
	for i, tr := range repeats {
		if i%2 == 0 {
			even = append(even, tr)
		} else {
			odd = append(odd, tr)
		}
	}
	return pearson(meanOfTrials(even), meanOfTrials(odd))
}

// TrialToTrialReliability is the mean Pearson correlation over all pairs of single trials.
// repeats: [R][T], all of one length; NaN (unavailable) when R < 2.
func TrialToTrialReliability(repeats [][]float32) float64 {
	if len(repeats) < 2 {
		return math.NaN()
	}
	var s float64
	var k int
	for i := range repeats {
		for j := i + 1; j < len(repeats); j++ {
			s += pearson(repeats[i], repeats[j])
			k++
		}
	}
	return s / float64(k)
}

// NoiseVarianceOfMean estimates the variance that trial-to-trial noise leaves in the trial
// average: the mean over time of the unbiased across-trial variance, divided by R.
// repeats: [R][T]; NaN (unavailable) when R < 2.
func NoiseVarianceOfMean(repeats [][]float32) float64 {
	r := len(repeats)
	if r < 2 {
		return math.NaN()
	}
	t := len(repeats[0])
	var total float64
	for i := 0; i < t; i++ {
		var m float64
		for _, tr := range repeats {
			m += float64(tr[i])
		}
		m /= float64(r)
		var v float64
		for _, tr := range repeats {
			d := float64(tr[i]) - m
			v += d * d
		}
		total += v / float64(r-1)
	}
	return total / float64(t) / float64(r)
}

func variance(x []float32) float64 {
	var m float64
	for _, v := range x {
		m += float64(v)
	}
	m /= float64(len(x))
	var s float64
	for _, v := range x {
		d := float64(v) - m
		s += d * d
	}
	return s / float64(len(x))
}

// FEV is the fraction of explainable variance explained (FEVE) by a prediction of the trial
// average: 1 − (MSE − σ²ₙ) / (Var[mean] − σ²ₙ), where σ²ₙ is NoiseVarianceOfMean. 1 is a
// perfect model, 0 is no better than the mean; it is NaN when the data hold no explainable
// variance, when there are fewer than 2 trials to estimate the noise from, or when pred and the
// trials differ in length. pred: [T]; repeats: [R][T].
func FEV(pred []float32, repeats [][]float32) float64 {
	if len(repeats) < 2 {
		return math.NaN()
	}
	mean := meanOfTrials(repeats)
	if len(mean) != len(pred) || len(mean) == 0 {
		return math.NaN()
	}
	noise := NoiseVarianceOfMean(repeats)
	explainable := variance(mean) - noise
	if explainable <= 0 {
		return math.NaN()
	}
	var mse float64
	for i := range pred {
		d := float64(pred[i]) - float64(mean[i])
		mse += d * d
	}
	mse /= float64(len(pred))
	return 1 - (mse-noise)/explainable
}

// ExplainableVarianceFraction is the share of the trial average's variance that is not noise:
// (Var[mean] − σ²ₙ) / Var[mean]. repeats: [R][T]; NaN (unavailable) when R < 2.
func ExplainableVarianceFraction(repeats [][]float32) float64 {
	if len(repeats) < 2 {
		return math.NaN()
	}
	mean := meanOfTrials(repeats)
	v := variance(mean)
	if v == 0 {
		return 0
	}
	return (v - NoiseVarianceOfMean(repeats)) / v
}

// BitsPerSpike is the Poisson log-likelihood improvement of a predicted rate over a constant
// rate equal to the observed mean, in bits per observed spike.
//
//	predHz: [T] predicted rate in Hz (per trial); counts: [T] observed spike counts summed over
//	`trials` trials of bin width dt seconds (trials = 1 for the counts of a single trial).
//
// The predicted count of a bin is predHz·dt·trials: trials must say how many trials the counts
// hold, or the prediction is scaled wrongly (datasets.Split.CountTrials records it for a
// recording). NaN when the lengths differ, trials < 1 or there is no spike.
func BitsPerSpike(predHz, counts []float32, dt float64, trials int) float64 {
	if len(predHz) != len(counts) || len(counts) == 0 || trials < 1 {
		return math.NaN()
	}
	var spikes float64
	for _, k := range counts {
		spikes += float64(k)
	}
	if spikes == 0 {
		return math.NaN()
	}
	mu0 := spikes / float64(len(counts)) // expected count per bin of the null model
	const floor = 1e-8
	var ll float64
	for i, k := range counts {
		mu := math.Max(float64(predHz[i])*dt*float64(trials), floor)
		ll += float64(k)*math.Log(mu/mu0) - (mu - mu0)
	}
	return ll / spikes / math.Ln2
}

// PearsonFloat64 is Pearson's r of two float64 series of the same length (0 when either is
// constant).
func PearsonFloat64(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(max(len(a), 1))
	mb /= float64(max(len(b), 1))
	var ab, aa, bb float64
	for i := range a {
		da, db := a[i]-ma, b[i]-mb
		ab += da * db
		aa += da * da
		bb += db * db
	}
	den := math.Sqrt(aa * bb)
	if !(den > 0) {
		return 0
	}
	return ab / den
}
