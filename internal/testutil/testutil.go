// Package testutil holds the helpers that the tests of retina, retina/nn and torchio share:
// the engines the numerical tests run on, tensor comparisons, and a tiny synthetic recording.
// Only tests import it.
package testutil

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/gobackend"
	_ "github.com/gomlx/go-xla/compute/xla" // registers the XLA engine (package retina does too)
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/tensorconv"
	"github.com/deepretina/deepretina/internal/xlaplugin"
)

// Engine is one of the engines the numerical tests run on.
type Engine struct {
	Name    string
	Backend compute.Backend
}

// xlaState is the test process's one XLA client (as in the product, one per process).
type xlaState struct {
	once    sync.Once
	backend compute.Backend
	failure string
}

// xla is the one piece of package-level state: an XLA client claims device memory, so a test
// process creates one.
var xla xlaState

// XLABackend is the XLA engine of the tests, created once per test process: $GOMLX_BACKEND
// when it names XLA (so that a GPU machine tests its CUDA plugin), else the project's CPU
// plugin. A machine without it fails the test with the command that installs it, rather than
// skipping.
func XLABackend(t testing.TB) compute.Backend {
	t.Helper()
	xla.once.Do(func() {
		cfg := os.Getenv(compute.ConfigEnvVar)
		if !strings.HasPrefix(cfg, "xla") {
			path, ok := xlaplugin.Find()
			if !ok {
				xla.failure = "XLA's CPU plugin is not installed (" + xlaplugin.Dir + "/" + xlaplugin.File + "): run scripts/setup.sh"
				return
			}
			cfg = "xla:" + path
		}
		if os.Getenv("DEEPRETINA_XLA_ONEDNN") == "1" && !strings.Contains(cfg, "cuda") {
			xlaplugin.SetCPUFlags() // the product's opt-in XLA CPU options (retina.ChooseEngine)
		}
		b, err := compute.NewWithConfig(cfg)
		if err != nil {
			xla.failure = "XLA engine " + cfg + ": " + err.Error()
			return
		}
		xla.backend = b
	})
	if xla.backend == nil {
		t.Fatal(xla.failure)
	}
	return xla.backend
}

// Engines are XLA, the default engine, and the pure-Go fallback.
func Engines(t testing.TB) []Engine {
	return []Engine{{"xla", XLABackend(t)}, {"go", gobackend.GetBackend()}}
}

// ForEachEngine runs test once per engine, as a subtest named after it.
func ForEachEngine(t *testing.T, test func(t *testing.T, backend compute.Backend)) {
	for _, e := range Engines(t) {
		t.Run(e.Name, func(t *testing.T) { test(t, e.Backend) })
	}
}

// GoBackend is a new pure-Go backend.
func GoBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Float64s copies a float tensor's values as float64, failing the test otherwise.
func Float64s(t testing.TB, x *tensors.Tensor) []float64 {
	t.Helper()
	v, err := tensorconv.Float64s(x)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// MaxRelErr returns max|got−want| / max(max|want|, floor).
func MaxRelErr(got, want []float64, floor float64) float64 {
	var maxDiff, maxWant float64
	for i := range want {
		maxDiff = math.Max(maxDiff, math.Abs(got[i]-want[i]))
		maxWant = math.Max(maxWant, math.Abs(want[i]))
	}
	return maxDiff / math.Max(maxWant, floor)
}

// RelErr is max|got−want| / max|want|, for the logs.
func RelErr(got, want []float64) float64 { return MaxRelErr(got, want, 1e-300) }

// RandomTensor64 is a float64 tensor of shape dims with standard normal values from rng.
func RandomTensor64(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

// RandomWindows returns a deterministic input batch [batch, history, H, W] of a model whose
// windows are imgShape ([history, H, W]): float32 values in [−2.5, 2.5] from a linear
// congruential generator, so that the same seed gives the same batch on every platform.
func RandomWindows(imgShape [3]int, batch int, seed uint64) *tensors.Tensor {
	n := batch * imgShape[0] * imgShape[1] * imgShape[2]
	data := make([]float32, n)
	s := seed*2654435761 + 1
	for i := range data {
		s = s*6364136223846793005 + 1442695040888963407
		data[i] = float32(int64(s>>40)%2001-1000) / 400
	}
	return tensors.FromFlatDataAndDimensions(data, batch, imgShape[0], imgShape[1], imgShape[2])
}

// ToTensor makes a tensor of dtype (float64, else float32) and shape dims from a copy of data.
func ToTensor(data []float64, dtype dtypes.DType, dims ...int) *tensors.Tensor {
	return tensorconv.FromFloat64s(slices.Clone(data), dtype, dims...)
}

// Synthetic is a tiny recording whose two cells are rectified linear functions of a
// white-noise stimulus (8×8 pixels, a 6-frame history suffices), so a model learns them quickly.
func Synthetic(t testing.TB) *datasets.Recording {
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
