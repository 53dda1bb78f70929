package simretina

import (
	"os"
	"strconv"
	"testing"

	"github.com/deepretina/deepretina/datasets"
)

func flashTrainX(h, w, pre, flash, period, n, post int, v float32) datasets.Movie {
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

func envF(k string, d float64) float64 {
	if s := os.Getenv(k); s != "" {
		v, _ := strconv.ParseFloat(s, 64)
		return v
	}
	return d
}

func TestOSRExplore(t *testing.T) {
	periods := []int{6, 8, 10, 12, 16, 20}
	pf := make([]float64, len(periods))
	for i, p := range periods {
		pf[i] = float64(p)
	}
	for _, seed := range mechanismSeeds {
		for _, w := range []float64{envF("OSRW", 1), 0} {
			cfg, _ := Preset("small")
			cfg.Seed = seed
			cfg.Circuit.OSRWeight = w
			cfg.Circuit.OSRDamping = envF("OSRD", 0.05)
			cfg.Circuit.OSRMinPeriodMS = envF("OSRMIN", 50)
			cfg.Circuit.OSRMaxPeriodMS = envF("OSRMAX", 200)
			cfg.Circuit.OSRResonators = int(envF("OSRN", 16))
			cfg.Circuit.OSRMode = int(envF("OSRMODE", 0))
			ret, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			const pre, flash, n, post = 50, 2, 8, 60
			for c := 0; c < ret.NCells(); c++ {
				typ := ret.CellTypes()[c]
				if typ != ONFast && typ != ONSlow && os.Getenv("ALL") == "" {
					continue
				}
				var lat, after, ratio []float64
				for _, p := range periods {
					resp := mustRun(t, ret, flashTrainX(cfg.H, cfg.W, pre, flash, p, n, post, -2), nil)
					y := resp.Rates.Column(c)
					base := 0.0
					for k := pre - 10; k < pre; k++ {
						base += float64(y[k]) / 10
					}
					last, omit := pre+(n-1)*p, pre+n*p
					at, _ := argmaxF32(y, last+flash, omit+30)
					_, osr := argmaxF32(y, omit, omit+30)
					lat = append(lat, float64(last+flash+at-omit))
					after = append(after, float64(last+flash+at-last))
					fl := 0.0
					for k := n - 4; k < n; k++ {
						_, v := argmaxF32(y, pre+k*p, pre+(k+1)*p)
						fl += (v - base) / 4
					}
					ratio = append(ratio, (osr-base)/fl)
				}
				t.Logf("seed %d w %g cell %d %-8s lat after omitted %v  lockslope %.2f ratio %.2f", seed, w, c, typ, lat, slope(pf, after), ratio)
			}
		}
	}
}

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

// argmaxF32 returns the offset from lo of the largest value of y[lo:hi] and that value.
func argmaxF32(y []float32, lo, hi int) (int, float64) {
	hi = min(hi, len(y))
	best, at := float64(y[lo]), 0
	for i := lo; i < hi; i++ {
		if float64(y[i]) > best {
			best, at = float64(y[i]), i-lo
		}
	}
	return at, best
}

func TestOSRTrace(t *testing.T) {
	for _, w := range []float64{0, envF("OSRW", 1)} {
		cfg, _ := Preset("small")
		cfg.Seed = 1
		cfg.Circuit.OSRWeight = w
		cfg.Circuit.OSRDamping = envF("OSRD", 0.05)
		cfg.Circuit.OSRMinPeriodMS = envF("OSRMIN", 50)
		cfg.Circuit.OSRMaxPeriodMS = envF("OSRMAX", 200)
		cfg.Circuit.OSRResonators = int(envF("OSRN", 16))
		cfg.Circuit.OSRMode = int(envF("OSRMODE", 0))
		ret, _ := New(cfg)
		const pre, flash, n, post = 50, 2, 8, 60
		for _, p := range []int{int(envF("P1", 10)), int(envF("P2", 20))} {
			resp := mustRun(t, ret, flashTrainX(cfg.H, cfg.W, pre, flash, p, n, post, -2), nil)
			y := resp.Rates.Column(int(envF("CELL", 1)))
			last := pre + (n-1)*p
			s := ""
			for k := last - 2*p; k < last+p+30; k++ {
				if k == last || k == last-p || k == last+p || k == last-2*p {
					s += "|"
				}
				s += strconv.Itoa(int(y[k])) + " "
			}
			t.Logf("w %g period %d: %s", w, p, s)
		}
	}
}
