package metrics

import (
	"math"
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
		{"length mismatch scores zero", []float32{1, 2}, []float32{1, 2, 3}, 0},
	}
	for _, c := range cases {
		if got := Pearson(c.a, c.b); !near(got, c.want, 1e-12) {
			t.Errorf("%s: Pearson = %v, want %v", c.name, got, c.want)
		}
	}
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
	if r := SplitHalfReliability([][]float32{signal}); r != 0 {
		t.Errorf("one trial: split-half = %v, want 0", r)
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
