package main

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestHeldOutRidge: a target that is a linear function of the features (plus a little noise)
// is recovered held out, an unrelated one is not, and the split is the probe's.
func TestHeldOutRidge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, p = 400, 60
	feat := make([][]float64, rows)
	w := make([]float64, p)
	for j := range w {
		w[j] = rng.NormFloat64()
	}
	planted, unrelated := make([]float64, rows), make([]float64, rows)
	for i := range feat {
		feat[i] = make([]float64, p)
		for j := range feat[i] {
			feat[i][j] = rng.NormFloat64()
			planted[i] += w[j] * feat[i][j]
		}
		planted[i] += 0.3 * rng.NormFloat64()
		unrelated[i] = rng.NormFloat64()
	}
	sp := probeSplit(rows, 20)
	if sp.a != 190 || sp.a+sp.gap != 210 {
		t.Fatalf("split %+v: expected selection [0,190), scoring from 210, as heldOutSplit", sp)
	}
	res, err := heldOutRidge(gram(feat, sp, false), [][]float64{planted, unrelated}, sp)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].R < 0.95 {
		t.Errorf("planted linear target: held-out r %.3f, expected ≥ 0.95", res[0].R)
	}
	if math.Abs(res[1].R) > 0.2 {
		t.Errorf("unrelated target: held-out r %.3f, expected |r| ≤ 0.2", res[1].R)
	}
}

// TestRotate matches the probe's circular shift: out[t] = x[(t − s) mod n].
func TestRotate(t *testing.T) {
	got := rotate([]float64{1, 2, 3, 4}, 1)
	want := []float64{4, 1, 2, 3}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("rotate by 1: got %v, want %v", got, want)
		}
	}
}
