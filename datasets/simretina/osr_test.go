package simretina

import (
	"math"
	"testing"

	"github.com/deepretina/deepretina/datasets"
)

// flashTrain is pre grey frames, then n flashes of `flash` frames at intensity v every
// `period` frames, then post grey frames after the last flash ends: [T, h, w].
func flashTrain(h, w, pre, flash, period, n, post int, v float32) datasets.Movie {
	m := datasets.NewMovie(pre+(n-1)*period+flash+post, h, w)
	for k := 0; k < n; k++ {
		for f := 0; f < flash; f++ {
			fr := m.Frame(pre + k*period + f)
			for i := range fr {
				fr[i] = v
			}
		}
	}
	return m
}

// osrPeaks runs 8-flash trains of dark (−2, 2-frame) flashes at each period and returns, per
// cell and period, the frame of the largest rate between the end of the last flash and 300 ms
// after the omitted flash, counted from the omitted flash's expected onset, and the peak's
// size over the mean peak response to the last four flashes.
func osrPeaks(t *testing.T, ret *Retina, periods []int) (lat, ratio [][]float64) {
	t.Helper()
	cfg := ret.Config()
	const pre, flash, n, post = 50, 2, 8, 60
	lat = make([][]float64, ret.NCells())
	ratio = make([][]float64, ret.NCells())
	for _, p := range periods {
		resp := mustRun(t, ret, flashTrain(cfg.H, cfg.W, pre, flash, p, n, post, -2), nil)
		last, omit := pre+(n-1)*p, pre+n*p
		for c := range lat {
			y := resp.Rates.Column(c)
			at, peak := argmaxF32(y, last+flash, omit+30)
			lat[c] = append(lat[c], float64(last+flash+at-omit))
			fl := 0.0
			for k := n - 4; k < n; k++ {
				_, v := argmaxF32(y, pre+k*p, pre+(k+1)*p)
				fl += v / 4
			}
			ratio[c] = append(ratio[c], peak/fl)
		}
	}
	return lat, ratio
}

// slope is the least-squares slope of y against x.
func slope(x, y []float64) float64 {
	mx, _ := meanSD64(x)
	my, _ := meanSD64(y)
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	return sxy / sxx
}

func TestOSRExplore(t *testing.T) {
	periods := []int{6, 8, 10, 12, 16, 20}
	pf := make([]float64, len(periods))
	for i, p := range periods {
		pf[i] = float64(p)
	}
	for _, seed := range mechanismSeeds {
		for _, w := range []float64{1, 0} {
			cfg, _ := Preset("small")
			cfg.Seed = seed
			cfg.Circuit.OSRWeight = w
			ret, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			lat, ratio := osrPeaks(t, ret, periods)
			for c := range lat {
				afterLast := make([]float64, len(pf))
				for i := range pf {
					afterLast[i] = lat[c][i] + pf[i]
				}
				t.Logf("seed %d w %g cell %d %-8s lat after omitted %v  lockslope %.2f ratio %.2f", seed, w, c, ret.CellTypes()[c], lat[c], slope(pf, afterLast), ratio[c])
			}
		}
	}
	_ = math.Abs
}
