package metrics

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestPearsonClosedForms(t *testing.T) {
	cases := []struct {
		name string
		a, b []float32
		want float64
	}{
		{"identical", []float32{1, 2, 3, 4}, []float32{1, 2, 3, 4}, 1},
		{"affine", []float32{1, 2, 3, 4}, []float32{-3, -1, 1, 3}, 1},
		{"negated", []float32{1, 2, 3, 4}, []float32{4, 3, 2, 1}, -1},
		// a = (1,0,-1,0), b = (1,1,-1,-1) after centring: r = 2 / sqrt(2*4).
		{"partial", []float32{1, 0, -1, 0}, []float32{1, 1, -1, -1}, 2 / math.Sqrt(8)},
		{"orthogonal", []float32{1, -1, 1, -1}, []float32{1, 1, -1, -1}, 0},
		{"constant scores zero", []float32{2, 2, 2}, []float32{1, 2, 3}, 0},
	}
	for _, c := range cases {
		got, err := Pearson(c.a, c.b)
		if err != nil || !near(got, c.want, 1e-12) {
			t.Errorf("%s: Pearson = %v (%v), want %v", c.name, got, err, c.want)
		}
	}
}

// Inputs of different lengths have no correlation: an error naming both lengths, never a score.
func TestPearsonLengthMismatchIsAnError(t *testing.T) {
	r, err := Pearson([]float32{1, 2}, []float32{1, 2, 3})
	if err == nil || !strings.Contains(err.Error(), "2 values") || !strings.Contains(err.Error(), "3 values") {
		t.Fatalf("Pearson of lengths 2 and 3 = %v, %v; want an error naming both lengths", r, err)
	}
	defer func() {
		msg := fmt.Sprint(recover())
		if !strings.Contains(msg, "pred has 6 values") || !strings.Contains(msg, "target has 4") {
			t.Fatalf("PearsonPerCell of mismatched matrices: %q, want a panic naming both sizes", msg)
		}
	}()
	PearsonPerCell(make([]float32, 6), make([]float32, 4), 2)
}

func TestPearsonPerCellUsesColumns(t *testing.T) {
	// [T=4, N=2]: column 0 perfectly correlated, column 1 anti-correlated.
	pred := []float32{1, 4, 2, 3, 3, 2, 4, 1}
	target := []float32{10, 1, 20, 2, 30, 3, 40, 4}
	got := PearsonPerCell(pred, target, 2)
	if !near(got[0], 1, 1e-12) || !near(got[1], -1, 1e-12) {
		t.Fatalf("PearsonPerCell = %v, want [1 -1]", got)
	}
	if m := Mean(got); !near(m, 0, 1e-12) {
		t.Fatalf("Mean = %v, want 0", m)
	}
}

func TestReliabilityClosedForms(t *testing.T) {
	signal := []float32{0, 1, 0, -1, 2, 0}
	same := [][]float32{signal, signal, signal, signal}
	if r := SplitHalfReliability(same); !near(r, 1, 1e-12) {
		t.Errorf("identical trials: split-half = %v, want 1", r)
	}
	if r := TrialToTrialReliability(same); !near(r, 1, 1e-12) {
		t.Errorf("identical trials: trial-to-trial = %v, want 1", r)
	}
	// Even trials carry +x, odd trials carry -x: halves are perfectly anti-correlated.
	neg := make([]float32, len(signal))
	for i, v := range signal {
		neg[i] = -v
	}
	if r := SplitHalfReliability([][]float32{signal, neg, signal, neg}); !near(r, -1, 1e-12) {
		t.Errorf("anti trials: split-half = %v, want -1", r)
	}
}

// With fewer than two trials there is no reliability and no noise estimate: every statistic
// built on them is unavailable (NaN), never a number that reads as a real score.
func TestFewerThanTwoRepeatsAreUnavailable(t *testing.T) {
	one := [][]float32{{0, 1, 0, -1, 2, 0}}
	for _, reps := range [][][]float32{one, nil} {
		for name, v := range map[string]float64{
			"SplitHalfReliability":        SplitHalfReliability(reps),
			"TrialToTrialReliability":     TrialToTrialReliability(reps),
			"NoiseVarianceOfMean":         NoiseVarianceOfMean(reps),
			"ExplainableVarianceFraction": ExplainableVarianceFraction(reps),
			"FEV":                         FEV([]float32{0, 1, 0, -1, 2, 0}, reps),
		} {
			if !math.IsNaN(v) {
				t.Errorf("%d trials: %s = %v, want NaN (unavailable)", len(reps), name, v)
			}
		}
	}
}

func TestNoiseVarianceAndFEV(t *testing.T) {
	// Two trials differing by ±1 around the mean m = (0, 2, 4, 6): per-bin unbiased variance is
	// 2, so the noise variance of the mean is 2/2 = 1. Var(m) = 5.
	m := []float32{0, 2, 4, 6}
	up := []float32{1, 3, 5, 7}
	down := []float32{-1, 1, 3, 5}
	reps := [][]float32{up, down}
	if v := NoiseVarianceOfMean(reps); !near(v, 1, 1e-12) {
		t.Fatalf("NoiseVarianceOfMean = %v, want 1", v)
	}
	if f := ExplainableVarianceFraction(reps); !near(f, 4.0/5.0, 1e-12) {
		t.Fatalf("ExplainableVarianceFraction = %v, want 0.8", f)
	}
	// Perfect prediction of the mean: MSE = 0 → FEV = 1 − (0 − 1)/(5 − 1) = 1.25 (the noise
	// correction can exceed 1 for a prediction that also fits the noise).
	if f := FEV(m, reps); !near(f, 1.25, 1e-12) {
		t.Fatalf("FEV(perfect) = %v, want 1.25", f)
	}
	// Constant prediction at the mean level: MSE = Var(m) = 5 → FEV = 1 − 4/4 = 0.
	flat := []float32{3, 3, 3, 3}
	if f := FEV(flat, reps); !near(f, 0, 1e-12) {
		t.Fatalf("FEV(flat) = %v, want 0", f)
	}
}

func TestBitsPerSpike(t *testing.T) {
	counts := []float32{0, 2, 0, 2}
	dt := 0.01
	// The null model itself scores 0 bits/spike.
	mean := []float32{100, 100, 100, 100} // 1 spike per bin expected at dt=0.01
	if b := BitsPerSpike(mean, counts, dt, 1); !near(b, 0, 1e-12) {
		t.Fatalf("null model: %v bits/spike, want 0", b)
	}
	// A rate matching the counts exactly: LL gain = Σ k·ln(k/1) − (k − 1) over bins, with the
	// empty bins clamped at a tiny rate: 2·(2 ln 2 − 1) + 2·(0 − (1e-8·... ≈ 0 − 1)·(−1)).
	exact := []float32{0, 200, 0, 200}
	want := (2*(2*math.Log(2)-1) + 2*1) / 4 / math.Ln2
	if b := BitsPerSpike(exact, counts, dt, 1); !near(b, want, 1e-6) {
		t.Fatalf("exact model: %v bits/spike, want %v", b, want)
	}
}

// The convention of BitsPerSpike: counts are summed over `trials` trials. Two-level closed form:
// half the bins expect a spikes per trial, half b; with the true rate as prediction the
// log-likelihood gain per bin pair is Σ k·ln(k/m) (the −(μ−μ₀) terms cancel), m = (a+b)/2, so
//
//	bits/spike = (a·ln(a/m) + b·ln(b/m)) / ((a + b)·ln 2)
//
// whatever the number of trials the counts were summed over, as long as `trials` says it.
func TestBitsPerSpikeClosedFormAnyTrials(t *testing.T) {
	const a, b, dt = 1.0, 3.0, 0.01
	m := (a + b) / 2
	want := (a*math.Log(a/m) + b*math.Log(b/m)) / ((a + b) * math.Ln2)
	for _, trials := range []int{1, 5} {
		var pred, counts []float32
		for i := 0; i < 10; i++ {
			pred = append(pred, float32(a/dt), float32(b/dt))
			counts = append(counts, float32(a*float64(trials)), float32(b*float64(trials)))
		}
		if got := BitsPerSpike(pred, counts, dt, trials); !near(got, want, 1e-6) {
			t.Errorf("counts summed over %d trials: %v bits/spike, want %v", trials, got, want)
		}
	}
	// Counts of one trial scored as if summed over 5: the prediction is 5× too high and the
	// score is wrong — what the convention must prevent.
	pred := []float32{a / dt, b / dt}
	counts := []float32{a, b}
	if got := BitsPerSpike(pred, counts, dt, 5); near(got, want, 1e-3) {
		t.Errorf("a trial count that disagrees with the counts still scores %v", got)
	}
}

func TestEqualCountBins(t *testing.T) {
	// x = 0…9 in shuffled order, y = 2x + 1: bins of two hold (2b, 2b+1), mean x 2b + 0.5.
	x := []float64{7, 2, 9, 0, 4, 1, 8, 3, 6, 5}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = 2*v + 1
	}
	for _, tc := range []struct {
		bins int
		want []float64 // mean x per bin
	}{
		{5, []float64{0.5, 2.5, 4.5, 6.5, 8.5}},
		{1, []float64{4.5}},
		{2, []float64{2, 7}},
		{20, []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}, // more bins than pairs: the empty ones are left out
	} {
		mx, my := EqualCountBins(x, y, tc.bins)
		if len(mx) != len(tc.want) || len(my) != len(tc.want) {
			t.Fatalf("%d bins: means %v, %v; want %v", tc.bins, mx, my, tc.want)
		}
		for i, w := range tc.want {
			if math.Abs(mx[i]-w) > 1e-12 || math.Abs(my[i]-(2*w+1)) > 1e-12 {
				t.Errorf("%d bins, bin %d: (%v, %v), want (%v, %v)", tc.bins, i, mx[i], my[i], w, 2*w+1)
			}
		}
	}
}

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
