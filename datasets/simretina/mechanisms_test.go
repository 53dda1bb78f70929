package simretina

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepretina/deepretina/datasets"
)

// Tests of the circuit's mechanisms, each checked directly on the simulator (package doc,
// "Mechanisms and their sources").

var mechanismSeeds = []uint64{1, 2, 3}

// smallRetina builds the "small" preset retina with the given seed.
func smallRetina(t *testing.T, seed uint64) *Retina {
	t.Helper()
	cfg, err := Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = seed
	ret, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ret
}

// fullField is T frames of grey with frames [on, off) at intensity v.
func fullField(h, w, T, on, off int, v float32) datasets.Movie {
	m := datasets.NewMovie(T, h, w)
	for t := on; t < off; t++ {
		f := m.Frame(t)
		for i := range f {
			f[i] = v
		}
	}
	return m
}

func maxF32(x []float32) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	return m
}

// TestFiringRange: full-field steps of ±1 and ±2 SD drive every cell to a peak rate in the
// physiological range of ganglion cells (tens to a few hundred Hz; Berry & Meister 1998), never
// above the dead-time ceiling 1/τ_d.
func TestFiringRange(t *testing.T) {
	for _, seed := range mechanismSeeds {
		ret := smallRetina(t, seed)
		cfg := ret.Config()
		ceiling := 1000 / ret.Circuit().DeadTimeMS
		best := make([]float64, ret.NCells())
		for _, v := range []float32{-2, -1, 1, 2} {
			resp := mustRun(t, ret, fullField(cfg.H, cfg.W, 300, 100, 200, v), nil)
			for c := range best {
				p := maxF32(resp.Rates.Column(c))
				if p > ceiling {
					t.Errorf("seed %d cell %d: %.0f Hz at a step of %v exceeds the dead-time ceiling %.0f Hz", seed, c, p, v, ceiling)
				}
				best[c] = math.Max(best[c], p)
			}
		}
		t.Logf("seed %d: peak rate per cell over full-field steps of ±1, ±2: %.0f Hz (ceiling %.0f)", seed, best, ceiling)
		for c, p := range best {
			if p < 30 || p > 300 {
				t.Errorf("seed %d cell %d (%s): peak rate %.0f Hz over full-field steps, want 30–300 Hz", seed, c, ret.CellTypes()[c], p)
			}
		}
	}
}

// TestAmacrineDiversity: narrow-field ON and OFF amacrines pool sustained bipolars of one
// polarity, so a linear filter fitted on white noise predicts them on held-out noise; the
// wide-field amacrines pool ON and OFF transient subunits, so they are contrast-energy-like and
// a linear filter predicts them poorly.
func TestAmacrineDiversity(t *testing.T) {
	for _, seed := range mechanismSeeds {
		ret := smallRetina(t, seed)
		cfg := ret.Config()
		stim := whiteNoiseMovie(cfg, 6000, true, rand.New(rand.NewPCG(seed, 9)))
		resp := mustRun(t, ret, stim, nil)
		types, centres := ret.AmacrineTypes(), ret.AmacrineCentres()
		c := Point{float64(cfg.H-1) / 2, float64(cfg.W-1) / 2}
		seen := map[string]int{}
		for _, j := range nearestOfEachType(centres, types, c, 2) {
			r := heldOutLinearR(stim, resp.Amacrine.Column(j), centres[j], 15)
			t.Logf("seed %d amacrine %d (%s at %.1f,%.1f): held-out linear r %.2f", seed, j, types[j], centres[j].Y, centres[j].X, r)
			switch types[j] {
			case WideFieldAmacrine:
				if !(r < 0.3) {
					t.Errorf("seed %d amacrine %d (%s): held-out linear r %.2f, want < 0.3 (contrast-energy-like)", seed, j, types[j], r)
				}
			default:
				if !(r > 0.5) {
					t.Errorf("seed %d amacrine %d (%s): held-out linear r %.2f, want > 0.5", seed, j, types[j], r)
				}
			}
			seen[types[j]]++
		}
		if len(seen) != 3 {
			t.Fatalf("seed %d: amacrine types %v, want wide-field, narrow ON and narrow OFF", seed, seen)
		}
	}
}

// nearestOfEachType returns, for each type, the k cells of that type nearest c.
func nearestOfEachType(pts []Point, types []string, c Point, k int) []int {
	var out []int
	for _, typ := range []string{WideFieldAmacrine, NarrowONAmacrine, NarrowOFFAmacrine} {
		var idx []int
		var sub []Point
		for i, tt := range types {
			if tt == typ {
				idx, sub = append(idx, i), append(sub, pts[i])
			}
		}
		for _, n := range nearest(sub, c, k) {
			out = append(out, idx[n])
		}
	}
	return out
}

// heldOutLinearR fits a spatio-temporal linear filter (pixels within 2.5 px of centre × nLag
// lags, ridge-regularised least squares) from stim to y on the first 2/3 of the frames and
// returns the correlation of its prediction with y on the last third.
func heldOutLinearR(stim datasets.Movie, y []float32, centre Point, nLag int) float64 {
	var pix []int
	for yy := 0; yy < stim.H; yy++ {
		for x := 0; x < stim.W; x++ {
			if math.Hypot(float64(yy)-centre.Y, float64(x)-centre.X) <= 2.5 {
				pix = append(pix, yy*stim.W+x)
			}
		}
	}
	d := len(pix)*nLag + 1
	row := func(t int, out []float64) {
		for l := 0; l < nLag; l++ {
			f := stim.Frame(t - l)
			for k, p := range pix {
				out[l*len(pix)+k] = float64(f[p])
			}
		}
		out[d-1] = 1
	}
	split := 2 * stim.T / 3
	A := make([]float64, d*d)
	bv := make([]float64, d)
	x := make([]float64, d)
	for t := nLag; t < split; t++ {
		row(t, x)
		for i := 0; i < d; i++ {
			bv[i] += x[i] * float64(y[t])
			for j := 0; j <= i; j++ {
				A[i*d+j] += x[i] * x[j]
			}
		}
	}
	for i := 0; i < d; i++ {
		for j := 0; j < i; j++ {
			A[j*d+i] = A[i*d+j]
		}
		A[i*d+i] += 1 // ridge
	}
	wts := solveSPD(A, bv, d)
	var pred, obs []float64
	for t := split + nLag; t < stim.T; t++ {
		row(t, x)
		s := 0.0
		for i := range x {
			s += wts[i] * x[i]
		}
		pred, obs = append(pred, s), append(obs, float64(y[t]))
	}
	return pearson(pred, obs)
}

// solveSPD solves A x = b for a symmetric positive-definite A (Cholesky).
func solveSPD(A, b []float64, n int) []float64 {
	L := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			s := A[i*n+j]
			for k := 0; k < j; k++ {
				s -= L[i*n+k] * L[j*n+k]
			}
			if i == j {
				L[i*n+i] = math.Sqrt(s)
			} else {
				L[i*n+j] = s / L[j*n+j]
			}
		}
	}
	z := make([]float64, n)
	for i := 0; i < n; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= L[i*n+k] * z[k]
		}
		z[i] = s / L[i*n+i]
	}
	x := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		s := z[i]
		for k := i + 1; k < n; k++ {
			s -= L[k*n+i] * x[k]
		}
		x[i] = s / L[i*n+i]
	}
	return x
}

func pearson(a, b []float64) float64 {
	ma, sa := meanSD64(a)
	mb, sb := meanSD64(b)
	s := 0.0
	for i := range a {
		s += (a[i] - ma) * (b[i] - mb)
	}
	return s / float64(len(a)) / (sa * sb)
}

// argmaxF32 is the index of the largest x[lo:hi] (relative to lo) and its value.
func argmaxF32(x []float32, lo, hi int) (int, float64) {
	best, at := math.Inf(-1), 0
	for i := lo; i < min(hi, len(x)); i++ {
		if float64(x[i]) > best {
			best, at = float64(x[i]), i-lo
		}
	}
	return at, best
}
