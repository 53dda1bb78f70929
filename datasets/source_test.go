package datasets

import (
	"math"
	"math/rand/v2"
	"testing"
)

// poisson draws a Poisson count of mean m (Knuth's method; m is small here).
func poisson(m float64, rng *rand.Rand) float32 {
	l, k, p := math.Exp(-m), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return float32(k)
		}
		k++
	}
}

// A file that does not say how many trials its test counts sum gets the number inferred from
// the rates: Poisson counts of one repeat give 1, counts summed over R repeats give R, and counts
// that fit neither give 0 (unknown).
func TestInferCountTrials(t *testing.T) {
	const T, n, R, frameRate = 2000, 4, 5, 100.0
	rng := rand.New(rand.NewPCG(3, 4))
	sp := Split{Rates: NewMatrix(T, n), Counts: NewMatrix(T, n), Repeats: make([][][]float32, n)}
	for c := range sp.Repeats {
		sp.Repeats[c] = make([][]float32, R)
	}
	for i := range sp.Rates.Data {
		sp.Rates.Data[i] = float32(5 + 30*rng.Float64()) // Hz
	}
	summed := NewMatrix(T, n)
	for i, r := range sp.Rates.Data {
		for range R {
			summed.Data[i] += poisson(float64(r)/frameRate, rng)
		}
		sp.Counts.Data[i] = poisson(float64(r)/frameRate, rng)
	}
	if got := inferCountTrials(&sp, frameRate); got != 1 {
		t.Errorf("counts of one repeat: inferred %d trials, want 1", got)
	}
	one := sp.Counts
	sp.Counts = summed
	if got := inferCountTrials(&sp, frameRate); got != R {
		t.Errorf("counts summed over %d repeats: inferred %d trials", R, got)
	}
	sp.Counts = NewMatrix(T, n)
	for i := range sp.Counts.Data {
		sp.Counts.Data[i] = 3 * one.Data[i] // between 1 and R = 5 by more than a factor of 1.5
	}
	if got := inferCountTrials(&sp, frameRate); got != 0 {
		t.Errorf("counts 3 times one repeat's: inferred %d trials, want 0 (unknown)", got)
	}
	sp.Repeats = nil // without repeats only one trial is a candidate
	sp.Counts = summed
	if got := inferCountTrials(&sp, frameRate); got != 0 {
		t.Errorf("summed counts without repeats: inferred %d trials, want 0", got)
	}
}
