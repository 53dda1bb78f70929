package metrics_test

import (
	"fmt"

	"github.com/deepretina/deepretina/metrics"
)

// Score a prediction of two cells against their recorded rates, and against the retina's own
// reliability. Responses are row-major [T, N] (time × cells); repeats [R][T].
func Example() {
	// Two cells, four frames: cell 0 is predicted up to a scale (r = 1), cell 1 backwards (r = −1).
	target := []float32{0, 4, 2, 3, 0, 2, 2, 1} // [T=4, N=2]
	pred := []float32{0, 1, 4, 2, 0, 3, 4, 4}
	r := metrics.PearsonPerCell(pred, target, 2)
	fmt.Printf("pearson per cell %.3f, mean %.3f\n", r, metrics.Mean(r))

	// One cell shown the same stimulus twice: both trials follow the signal 0, s, 0, s.
	repeats := [][]float32{{0, 2, 0, 2}, {0, 4, 0, 4}}
	fmt.Printf("split-half reliability %.3f\n", metrics.SplitHalfReliability(repeats))
	// Trial average 0, 3, 0, 3: variance 2.25, of which the noise leaves 0.5 (the variance
	// across trials, averaged over time, over the 2 trials): 1.75 is explainable.
	fmt.Printf("noise variance of the mean %.3f, explainable fraction %.4f\n",
		metrics.NoiseVarianceOfMean(repeats), metrics.ExplainableVarianceFraction(repeats))
	// A prediction whose error is the noise alone explains all of the explainable variance.
	fmt.Printf("FEV %.3f\n", metrics.FEV([]float32{1, 3, 1, 3}, repeats))

	// Bits per spike: 4 spikes in 10 ms bins; a prediction of the mean rate gains nothing over
	// the mean, one that puts the spikes where they are gains 1 bit per spike.
	counts := []float32{0, 2, 0, 2}
	fmt.Printf("bits/spike: mean rate %.3f, right bins %.3f\n",
		metrics.BitsPerSpike([]float32{100, 100, 100, 100}, counts, 0.01, 1),
		metrics.BitsPerSpike([]float32{0, 200, 0, 200}, counts, 0.01, 1))

	// Scores that need repeats are unavailable (NaN, never 0) with a single trial.
	fmt.Println(metrics.SplitHalfReliability(repeats[:1]))
	// Output:
	// pearson per cell [1.000 -1.000], mean 0.000
	// split-half reliability 1.000
	// noise variance of the mean 0.500, explainable fraction 0.7778
	// FEV 1.000
	// bits/spike: mean rate 0.000, right bins 1.000
	// NaN
}

// Inputs of different lengths are an error, not a score.
func ExamplePearson() {
	r, err := metrics.Pearson([]float32{1, 2, 3, 4}, []float32{2, 4, 6, 8})
	fmt.Printf("%.3f %v\n", r, err)
	_, err = metrics.Pearson([]float32{1, 2, 3}, []float32{1, 2})
	fmt.Println(err)
	// Output:
	// 1.000 <nil>
	// pearson: the first input has 3 values, the second 2 values
}
