package torchio

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/deepretina/deepretina/datasets"
)

// Helpers shared by this package's tests (the same as package retina's test helpers).

func testBackend() compute.Backend { return gobackend.GetBackend() }

func goBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustFloat64s copies a float or int64 tensor's values as float64.
func mustFloat64s(t *testing.T, x *tensors.Tensor) []float64 {
	t.Helper()
	var out []float64
	x.MustConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			for _, v := range f {
				out = append(out, float64(v))
			}
		case []float64:
			out = slices.Clone(f)
		case []int64:
			for _, v := range f {
				out = append(out, float64(v))
			}
		default:
			t.Fatalf("tensor of dtype %s: expected float32, float64 or int64", x.DType())
		}
	})
	return out
}

// maxRelErr returns max|got−want| / max(max|want|, floor).
func maxRelErr(got, want []float64, floor float64) float64 {
	var maxDiff, maxWant float64
	for i := range want {
		maxDiff = math.Max(maxDiff, math.Abs(got[i]-want[i]))
		maxWant = math.Max(maxWant, math.Abs(want[i]))
	}
	return maxDiff / math.Max(maxWant, floor)
}

// relErr is max|got−want| / max|want|, for the logs.
func relErr(got, want []float64) float64 { return maxRelErr(got, want, 1e-300) }

// parityErr compares got with want as numpy.allclose does: it returns
// max|got−want| / (atol/rtol + max|want|), which is <= rtol exactly when the check passes.
func parityErr(got, want []float64, atol float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var maxDiff, maxWant float64
	for i := range want {
		maxDiff = math.Max(maxDiff, math.Abs(got[i]-want[i]))
		maxWant = math.Max(maxWant, math.Abs(want[i]))
	}
	return maxDiff / (atol/parityTol + maxWant)
}

const (
	parityTol  = 1e-4 // rtol
	parityAtol = 1e-6 // atol for rates and other O(1) values
)

func assertStateDictsEqual(t *testing.T, got, want map[string]*tensors.Tensor) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("missing key %q", k)
			continue
		}
		if !slices.Equal(g.Shape().Dimensions, w.Shape().Dimensions) {
			t.Errorf("key %q: shape %v, want %v", k, g.Shape().Dimensions, w.Shape().Dimensions)
			continue
		}
		if !slices.Equal(mustFloat64s(t, g), mustFloat64s(t, w)) {
			t.Errorf("key %q: values differ", k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected key %q", k)
		}
	}
}

// checkpointDirs lists the checkpoint folders of a run folder (none if it has no checkpoints/).
func checkpointDirs(runDir string) []string {
	entries, _ := os.ReadDir(filepath.Join(runDir, "checkpoints"))
	var out []string
	for _, e := range entries {
		if e.IsDir() && e.Name()[0] != '.' {
			out = append(out, e.Name())
		}
	}
	return out
}

// synthetic is a tiny recording whose two cells are rectified linear functions of a white-noise
// stimulus, so a model can learn them quickly.
func synthetic(t *testing.T) *datasets.Recording {
	t.Helper()
	const T, H, W, hist = 700, 8, 8, 6
	rng := rand.New(rand.NewPCG(9, 9))
	mk := func(n int) datasets.Split {
		stim := datasets.NewMovie(n, H, W)
		for i := range stim.Data {
			stim.Data[i] = float32(rng.NormFloat64())*2 + 5
		}
		rates := datasets.NewMatrix(n, 2)
		for t := hist; t < n; t++ {
			on := stim.Frame(t - 1)[3*W+3] + stim.Frame(t - 2)[3*W+3]
			off := -stim.Frame(t - 1)[4*W+5]
			rates.Set(t, 0, float32(math.Max(0, float64(on-10)))*3+1)
			rates.Set(t, 1, float32(math.Max(0, float64(off+5)))*3+1)
		}
		return datasets.Split{Stimulus: stim, Rates: rates}
	}
	return &datasets.Recording{Expt: "synthetic", Stim: datasets.WhiteNoise, CellIDs: []int{0, 1}, FrameRate: 100,
		Train: mk(T), Test: mk(200)}
}
