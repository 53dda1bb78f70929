package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/deepretina/deepretina/datasets"
)

func TestCanonicalCorrelationsOfIdenticalInputsAreOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const T, p = 500, 4
	x := make([][]float64, T)
	y := make([][]float64, T) // an invertible mixture of x: the same subspace
	z := make([][]float64, T) // independent of x
	for i := range x {
		x[i] = make([]float64, p)
		z[i] = make([]float64, p)
		for j := range x[i] {
			x[i][j] = rng.NormFloat64()
			z[i][j] = rng.NormFloat64()
		}
		y[i] = []float64{x[i][0] + x[i][1], x[i][1] - 2*x[i][2], x[i][3] + 0.5*x[i][0], x[i][2]}
	}
	for _, tc := range []struct {
		name string
		b    [][]float64
	}{{"identical", x}, {"mixed", y}} {
		cc, err := CanonicalCorrelations(x, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if len(cc) != p {
			t.Fatalf("%s: %d canonical correlations, want %d", tc.name, len(cc), p)
		}
		for _, v := range cc {
			if math.Abs(v-1) > 1e-9 {
				t.Errorf("%s: canonical correlations %v, want all 1", tc.name, cc)
				break
			}
		}
	}
	cc, err := CanonicalCorrelations(x, z)
	if err != nil {
		t.Fatal(err)
	}
	if cc[0] > 0.25 {
		t.Errorf("independent sets: first canonical correlation %v, want small", cc[0])
	}
	// A constant variable is left out rather than making the covariance singular.
	for i := range z {
		z[i][2] = 3
	}
	if cc, err := CanonicalCorrelations(x, z); err != nil || len(cc) != 3 {
		t.Errorf("with a constant variable: %v, %v; want 3 correlations", cc, err)
	}
	if _, err := CanonicalCorrelations(x[:5], x[:5]); err == nil {
		t.Error("5 observations of 4 + 4 variables: no error")
	}
}

func TestMatching(t *testing.T) {
	// A permutation planted in noise: both methods find it.
	rng := rand.New(rand.NewPCG(6, 6))
	perm := []int{3, 0, 4, 1, 2}
	r := make([][]float64, 5)
	for i := range r {
		r[i] = make([]float64, 5)
		for j := range r[i] {
			r[i][j] = 0.3 * rng.Float64()
		}
		r[i][perm[i]] = 0.9
	}
	for name, ms := range map[string][]Match{"hungarian": MatchHungarian(r), "greedy": MatchGreedy(r)} {
		if len(ms) != 5 {
			t.Fatalf("%s: %d pairs", name, len(ms))
		}
		for i, m := range ms {
			if m.A != i || m.B != perm[i] || m.R != 0.9 {
				t.Errorf("%s: pair %+v, want %d → %d", name, m, i, perm[i])
			}
		}
	}
	// Greedy takes 0.9 first and is left with 0.1; the best total pairs the two 0.8s.
	r = [][]float64{{0.9, 0.8}, {0.8, 0.1}}
	if h, g := MeanR(MatchHungarian(r)), MeanR(MatchGreedy(r)); math.Abs(h-0.8) > 1e-12 || math.Abs(g-0.5) > 1e-12 {
		t.Errorf("mean matched r: Hungarian %v (want 0.8), greedy %v (want 0.5)", h, g)
	}
	// Rectangular: 3 rows, 2 columns → 2 pairs, the best total.
	r = [][]float64{{0.1, 0.2}, {0.7, 0.6}, {0.65, 0.1}}
	ms := MatchHungarian(r)
	if !slices.Equal(ms, []Match{{1, 1, 0.6}, {2, 0, 0.65}}) {
		t.Errorf("rectangular matching %+v", ms)
	}
}

// TestCompareModelsWithItself: a model compared with itself matches every channel to itself
// with r = 1 and has canonical correlations 1; its nulls do not.
func TestCompareModelsWithItself(t *testing.T) {
	m := tinyCNN(t, "bncnn")
	in := InputOf(m)
	rng := rand.New(rand.NewPCG(8, 8))
	stim := datasets.NewMovie(in.History+300, in.H, in.W)
	for i := range stim.Data {
		stim.Data[i] = float32(rng.NormFloat64())
	}
	sims, err := CompareModels(ModelUnits(m), ModelUnits(m), stim, SimilarityOptions{PreNonlinearity: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sims) != 2 || sims[0].Layer != "conv1" || sims[1].Layer != "conv2" {
		t.Fatalf("layers compared: %+v", sims)
	}
	for _, s := range sims {
		for _, mt := range s.Matched {
			if mt.A != mt.B || math.Abs(mt.R-1) > 1e-5 {
				t.Errorf("%s: channel match %+v, want each channel with itself, r = 1", s.Layer, mt)
			}
		}
		if math.Abs(s.MeanBestR-1) > 1e-5 || len(s.CCA) == 0 || math.Abs(s.CCA[len(s.CCA)-1]-1) > 1e-4 {
			t.Errorf("%s: mean best r %v, CCA %v; want 1", s.Layer, s.MeanBestR, s.CCA)
		}
		// The null compares independent series (the copy shifted in time by half the
		// stimulus): white noise leaves nothing shared, so matching and CCA fall far below 1
		// (only selection and the few samples lift them above 0).
		if !(s.NullMeanMatchedR < 0.3) || len(s.NullCCA) == 0 || !(s.NullCCA[0] < 0.6) || !(s.NullMeanBestR < 0.5) || !(s.NullCCA[0] > 0) {
			t.Errorf("%s: null matched r %v, best r %v, CCA %v; want far below 1", s.Layer, s.NullMeanMatchedR, s.NullMeanBestR, s.NullCCA)
		}
	}
}
