package analysis

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/metrics"
)

// correlatedMovie is Gaussian noise smoothed in space (3×3 box) and time (AR(1), coefficient
// 0.7): a stimulus whose correlations bias the spike-triggered average, as natural scenes do.
func correlatedMovie(T, h, w int, rng *rand.Rand) datasets.Movie {
	white := noiseMovie(T, h, w, rng)
	m := datasets.NewMovie(T, h, w)
	prev := make([]float32, h*w)
	for t := 0; t < T; t++ {
		src, dst := white.Frame(t), m.Frame(t)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var s float32
				for yy := max(0, y-1); yy <= min(h-1, y+1); yy++ {
					for xx := max(0, x-1); xx <= min(w-1, x+1); xx++ {
						s += src[yy*w+xx]
					}
				}
				v := 0.7*prev[y*w+x] + s/3
				dst[y*w+x], prev[y*w+x] = v+2, v // a raw mean of 2
			}
		}
	}
	return m
}

// plantedLinearCell returns the rates of a linear cell with a filter over a 3×3 patch centred at
// (cy, cx) and a biphasic time course (history 6), plus noise; and the filter [history·h·w] on
// the z-scored stimulus.
func plantedLinearCell(m datasets.Movie, norm datasets.NormStats, history, cy, cx int, noise float64, rng *rand.Rand) (datasets.Matrix, []float64) {
	h, w := m.H, m.W
	temporal := []float64{0, -0.2, -0.4, 0.3, 1, 0.5} // oldest first
	filter := make([]float64, history*h*w)
	for a := 0; a < history; a++ {
		for y := cy - 1; y <= cy+1; y++ {
			for x := cx - 1; x <= cx+1; x++ {
				sp := 1.0
				if y != cy || x != cx {
					sp = -0.3
				}
				filter[a*h*w+y*w+x] = temporal[a] * sp
			}
		}
	}
	rates := datasets.NewMatrix(m.T, 1)
	for i := 0; i+history < m.T; i++ {
		var s float64
		for a := 0; a < history; a++ {
			f := m.Frame(i + a)
			for p := range f {
				s += filter[a*h*w+p] * (float64(f[p]) - norm.Mean) / norm.Std
			}
		}
		rates.Set(i+history, 0, float32(s+noise*rng.NormFloat64()))
	}
	return rates, filter
}

// TestRidgeLNRecoversAPlantedFilter plants a linear cell on a correlated stimulus: the ridge LN
// recovers its filter (r > 0.9 with the truth: the penalty shrinks it and noise of SD 1 blurs it) where the spike-triggered average, blurred by the
// stimulus's correlations, does not, and predicts new data nearly as well as the truth can.
func TestRidgeLNRecoversAPlantedFilter(t *testing.T) {
	const T, history, size = 6000, 6, 10
	for _, seed := range []uint64{1, 2} {
		rng := rand.New(rand.NewPCG(seed, 7))
		m := correlatedMovie(T, size, size, rng)
		norm := datasets.ComputeNormStats(m)
		rates, filter := plantedLinearCell(m, norm, history, 6, 3, 1, rng)
		w, err := datasets.NewWindows(m, norm, rates, history)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := FitRidgeLN(w, RidgeLNOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c := ln.Cells[0]
		if c.Y0 > 5 || c.Y0+5 < 8 || c.X0 > 2 || c.X0+5 < 5 {
			t.Errorf("seed %d: crop at (%d, %d) does not cover the planted 3×3 patch around (6, 3)", seed, c.Y0, c.X0)
		}
		full := make([]float64, len(filter))
		for a := 0; a < history; a++ {
			for y := 0; y < ln.Crop; y++ {
				for x := 0; x < ln.Crop; x++ {
					full[a*size*size+(c.Y0+y)*size+c.X0+x] = c.Filter[a*ln.Crop*ln.Crop+y*ln.Crop+x]
				}
			}
		}
		rRidge := metrics.PearsonFloat64(full, filter)
		sta, err := FitClassicalLN(w, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		rSTA := metrics.PearsonFloat64(Float64s(sta.Filters[0]), filter)
		if rRidge < 0.9 || rSTA > rRidge-0.3 {
			t.Errorf("seed %d: filter r with the truth: ridge %.3f (want > 0.9), STA %.3f (want well below)", seed, rRidge, rSTA)
		}
		// New data from the same cell: the LN's r approaches the truth's own, √(var/(var+noise)).
		m2 := correlatedMovie(3000, size, size, rng)
		rates2, _ := plantedLinearCell(m2, norm, history, 6, 3, 0, rng)
		w2, _ := datasets.NewWindows(m2, norm, rates2, history)
		pred, err := ln.Predict(w2)
		if err != nil {
			t.Fatal(err)
		}
		truth := Float64s(rates2.Column(0))[history:]
		if r := metrics.PearsonFloat64(Float64s(pred.Column(0)), truth); r < 0.97 {
			t.Errorf("seed %d: ridge LN predicts the noiseless cell on new data with r %.3f, want > 0.97", seed, r)
		}
	}
}

// TestGramMatchesDirectSums checks the lag-walked Gram matrix against the sums written out.
func TestGramMatchesDirectSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	const T, P, history = 60, 3, 4
	frames := make([][]float64, T)
	for i := range frames {
		frames[i] = []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
	}
	y := make([]float64, T-history)
	for i := range y {
		y[i] = rng.NormFloat64()
	}
	g := newGram(frames, y, history, 5, 40)
	for a := 0; a < history; a++ {
		for p := 0; p < P; p++ {
			for b := 0; b < history; b++ {
				for q := 0; q < P; q++ {
					var want float64
					for i := 5; i < 40; i++ {
						want += frames[i+a][p] * frames[i+b][q]
					}
					if got := g.xx.At(a*P+p, b*P+q); math.Abs(got-want) > 1e-9 {
						t.Fatalf("Gram (%d,%d),(%d,%d) = %v, want %v", a, p, b, q, got, want)
					}
				}
			}
		}
	}
}

// BenchmarkFitRidgeLN fits one cell on 4,000 windows of a 20×20 stimulus with a 20-frame
// history (a 5×5 crop: 500 filter values).
func BenchmarkFitRidgeLN(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	m := correlatedMovie(4000, 20, 20, rng)
	norm := datasets.ComputeNormStats(m)
	rates, _ := plantedLinearCell(m, norm, 6, 10, 10, 1, rng)
	w, err := datasets.NewWindows(m, norm, rates, 20)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := FitRidgeLN(w, RidgeLNOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// noiseMovie is T frames of h×w Gaussian white noise.
func noiseMovie(T, h, w int, rng *rand.Rand) datasets.Movie {
	m := datasets.NewMovie(T, h, w)
	for i := range m.Data {
		m.Data[i] = float32(rng.NormFloat64())
	}
	return m
}
