package simretina

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepretina/deepretina/datasets"
)

// squareGratingFrame draws a square grating of the given period (px, bars vertical, values
// ±1) shifted by s px into f where mask is true, each pixel the mean of 8 subsamples.
func squareGratingFrame(f []float32, h, w int, period, s float64, mask func(y, x int) bool) {
	for x := 0; x < w; x++ {
		v := 0.0
		for k := 0; k < 8; k++ {
			xs := float64(x) - 0.5 + (float64(k)+0.5)/8 - s
			if math.Mod(math.Mod(xs, period)+period, period) < period/2 {
				v++
			} else {
				v--
			}
		}
		for y := 0; y < h; y++ {
			if mask(y, x) {
				f[y*w+x] = float32(v / 8)
			}
		}
	}
}

// jitterPath is a random walk of ±step px per frame.
func jitterPath(T int, step float64, rng *rand.Rand) []float64 {
	p := make([]float64, T)
	for t := 1; t < T; t++ {
		d := step
		if rng.IntN(2) == 0 {
			d = -step
		}
		p[t] = p[t-1] + d
	}
	return p
}

// objectMotion: a square grating (2 px bars, contrast 1) jitters; inside a disc of the given
// radius (px) on c it follows path `in`, outside it path `out` (Ölveczky et al. 2003's
// stimulus at the scale of the small preset).
func objectMotion(h, w int, c Point, radius float64, in, out []float64) datasets.Movie {
	m := datasets.NewMovie(len(in), h, w)
	inside := func(y, x int) bool { return math.Hypot(float64(y)-c.Y, float64(x)-c.X) <= radius }
	for t := range in {
		squareGratingFrame(m.Frame(t), h, w, 4, in[t], inside)
		squareGratingFrame(m.Frame(t), h, w, 4, out[t], func(y, x int) bool { return !inside(y, x) })
	}
	return m
}

// greyRate is a cell's mean rate over the last second of 3 s of mean grey: its spontaneous
// rate, which motion responses are measured above (as the battery's OMS index is).
func greyRate(t *testing.T, ret *Retina, c int) float64 {
	t.Helper()
	cfg := ret.Config()
	return avg(mustRun(t, ret, datasets.NewMovie(300, cfg.H, cfg.W), nil).Rates.Column(c)[200:])
}

// TestObjectMotion: wide-field amacrines pooling rectified transient ON and OFF subunits
// inhibit the OFF-OMS cells, which pool rectified fast OFF subunits in their centre, in
// synchrony with their excitation when the whole scene jitters, so global motion drives them
// several-fold less than motion of a disc on their centre against a background moving
// independently (Ölveczky, Baccus & Meister 2003, Fig. 1; Baccus et al. 2008). Responses are
// mean rates above the cell's rate at grey (the OMS index of the battery: global over
// differential). Discs of 4–5 px radius (the centre's SD is about 2 px): index < 1/3 (at
// least three-fold suppression); a 7 px disc, which leaves only a thin independent background
// in the 20 px field: < 1/2. Ablation: without that inhibition the index is more than twice
// as large (the preference for differential motion disappears).
func TestObjectMotion(t *testing.T) {
	const T, skip = 600, 100
	for _, seed := range mechanismSeeds {
		ret := smallRetina(t, seed)
		cfg := ret.Config()
		p := ret.Circuit()
		p.OMSInhibition = 0
		cfg.Circuit = p
		ablated, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		a := jitterPath(T, 0.5, rand.New(rand.NewPCG(seed, 31)))
		b := jitterPath(T, 0.5, rand.New(rand.NewPCG(seed, 32)))
		checked := 0
		for c, typ := range ret.CellTypes() {
			if typ != OMS {
				continue
			}
			for _, radius := range []float64{4, 5, 7} {
				centre := ret.CellCentres()[c]
				glob := objectMotion(cfg.H, cfg.W, centre, radius, a, a)
				diff := objectMotion(cfg.H, cfg.W, centre, radius, a, b)
				index := func(r *Retina) (float64, float64, float64) {
					g0 := greyRate(t, r, c)
					g := avg(mustRun(t, r, glob, nil).Rates.Column(c)[skip:]) - g0
					d := avg(mustRun(t, r, diff, nil).Rates.Column(c)[skip:]) - g0
					return g, d, math.Max(g, 0) / d
				}
				g, d, k := index(ret)
				_, _, k0 := index(ablated)
				t.Logf("seed %d cell %d %s, disc radius %.0f px: above grey, global %.1f Hz, differential %.1f Hz, OMS index %.2f (without wide-field inhibition %.2f)", seed, c, typ, radius, g, d, k, k0)
				// A 7 px disc leaves only a thin band of the 20 px field moving
				// independently, so less of the inhibition escapes synchrony.
				want := 1.0 / 3
				if radius > 5 {
					want = 0.5
				}
				if !(d > 0 && k < want) {
					t.Errorf("seed %d cell %d (%s), radius %.0f: OMS index %.2f (differential %.1f Hz above grey), want < %.2f", seed, c, typ, radius, k, d, want)
				}
				if !(k0 > 2*k) {
					t.Errorf("seed %d cell %d (%s), radius %.0f: index %.2f without the inhibition is not above twice %.2f", seed, c, typ, radius, k0, k)
				}
			}
			checked++
		}
		if checked == 0 {
			t.Fatalf("seed %d: no OFF-OMS cell", seed)
		}
	}
}

// TestOMSCentreSubunits: the OMS cell's centre pools rectified bipolar subunits (Baccus et al.
// 2008: fast bipolar terminals, rectified, pooled by the OMS ganglion cell), so a grating of
// 2 px bars reversing within its centre (grey elsewhere, so that the wide-field amacrines are
// barely driven) evokes frequency doubling: over the grating's spatial phases the largest
// second harmonic exceeds the largest first (Hochstein & Shapley 1976). The same grating over
// the whole field drives the wide-field inhibition at every reversal (global stimulation,
// Ölveczky et al. 2003), which removes most of the doubled response.
func TestOMSCentreSubunits(t *testing.T) {
	const half, T, skip, barW, radius = 25, 500, 100, 2.0, 4.0
	for _, seed := range mechanismSeeds {
		ret := smallRetina(t, seed)
		cfg := ret.Config()
		for c, typ := range ret.CellTypes() {
			if typ != OMS {
				continue
			}
			centre := ret.CellCentres()[c]
			var localF1, localF2, fullF2 float64
			for k := 0; k < 8; k++ {
				x0 := centre.X + float64(k)*2*barW/8
				g := reversingGrating(cfg.H, cfg.W, T, half, barW, x0, true, 1)
				_, full := harmonics(mustRun(t, ret, g, nil).Rates.Column(c), half, skip)
				fullF2 = math.Max(fullF2, full)
				for i := 0; i < g.T*cfg.H*cfg.W; i++ {
					y, x := (i/cfg.W)%cfg.H, i%cfg.W
					if math.Hypot(float64(y)-centre.Y, float64(x)-centre.X) > radius {
						g.Data[i] = 0
					}
				}
				f1, f2 := harmonics(mustRun(t, ret, g, nil).Rates.Column(c), half, skip)
				localF1, localF2 = math.Max(localF1, f1), math.Max(localF2, f2)
			}
			t.Logf("seed %d cell %d %s: grating within %.0f px of the centre: max F1 %.2f Hz, max F2 %.2f Hz; over the whole field: max F2 %.2f Hz", seed, c, typ, radius, localF1, localF2, fullF2)
			if !(localF2 > localF1) {
				t.Errorf("seed %d cell %d (%s): local reversing grating: max F2 %.2f ≤ max F1 %.2f, want frequency doubling", seed, c, typ, localF2, localF1)
			}
			if !(fullF2 < 0.5*localF2) {
				t.Errorf("seed %d cell %d (%s): full-field grating max F2 %.2f is not below half the local grating's %.2f", seed, c, typ, fullF2, localF2)
			}
		}
	}
}
