package simretina

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepretina/deepretina/datasets"
)

// barPath draws a vertical bar (width px, intensity v, pixel coverage by 8 subsamples) at
// column x[t] in frame t: [len(x), h, w].
func barPath(h, w int, x []float64, width float64, v float32) datasets.Movie {
	m := datasets.NewMovie(len(x), h, w)
	for t, xc := range x {
		if math.IsNaN(xc) {
			continue
		}
		f := m.Frame(t)
		for c := 0; c < w; c++ {
			cov := 0.0
			for k := 0; k < 8; k++ {
				xs := float64(c) - 0.5 + (float64(k)+0.5)/8
				if math.Abs(xs-xc) <= width/2 {
					cov += 1.0 / 8
				}
			}
			for r := 0; r < h; r++ {
				f[r*w+c] = v * float32(cov)
			}
		}
	}
	return m
}

// reversalPaths returns, for a bar starting at x0 and moving right at speed px/frame after
// pre grey frames, the path that reverses at xt and moves back for `after` frames, the frame
// of the reversal, and the path that continues through for the same number of frames.
func reversalPaths(pre int, x0, xt, speed float64, after int) (rev, cont []float64, turn int) {
	turn = pre + int(math.Round((xt-x0)/speed))
	T := turn + after
	rev, cont = make([]float64, T), make([]float64, T)
	for t := 0; t < T; t++ {
		if t < pre {
			rev[t], cont[t] = math.NaN(), math.NaN()
			continue
		}
		cont[t] = x0 + speed*float64(t-pre)
		rev[t] = cont[t]
		if t > turn {
			rev[t] = xt - speed*float64(t-turn)
		}
	}
	return rev, cont, turn
}

// reversalRatios: per cell, a dark 2-px bar at 0.14 px/frame reverses at each column within
// 2 px of the cell's centre; the mean over those reversals of the peak rate above baseline
// within 400 ms after the reversal, over the same for the bar that continues.
func reversalRatios(t *testing.T, ret *Retina) []float64 {
	t.Helper()
	cfg := ret.Config()
	const pre, after, speed, x0 = 30, 40, 0.14, -2.0
	out := make([]float64, ret.NCells())
	for c, centre := range ret.CellCentres() {
		var rs, cs float64
		for xt := math.Round(centre.X) - 2; xt <= math.Round(centre.X)+2; xt++ {
			rev, cont, turn := reversalPaths(pre, x0, xt, speed, after)
			rr := mustRun(t, ret, barPath(cfg.H, cfg.W, rev, 2, -1), nil).Rates.Column(c)
			cr := mustRun(t, ret, barPath(cfg.H, cfg.W, cont, 2, -1), nil).Rates.Column(c)
			base := avg(cr[pre-10 : pre])
			_, a := argmaxF32(rr, turn, turn+after)
			_, b := argmaxF32(cr, turn, turn+after)
			rs += math.Max(a-base, 0)
			cs += math.Max(b-base, 0)
		}
		out[c] = rs / cs
	}
	return out
}

func TestReversalExplore(t *testing.T) {
	for _, seed := range mechanismSeeds {
		ret := smallRetina(t, seed)
		r := reversalRatios(t, ret)
		for c, v := range r {
			t.Logf("seed %d cell %d %-8s x=%.1f burst ratio %.2f", seed, c, ret.CellTypes()[c], ret.CellCentres()[c].X, v)
		}
	}
}

func TestReversalVariants(t *testing.T) {
	for _, v := range []struct{ on, half float64 }{{1, 0}, {1, 0.36}} {
		for _, seed := range mechanismSeeds {
			cfg, _ := Preset("small")
			cfg.Seed = seed
			cfg.Circuit.ReversalONWeight, cfg.Circuit.PathwayGainHalf = v.on, v.half
			ret, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := reversalRatios(t, ret)
			t.Logf("ON weight %g half %g seed %d: OFF-fast cells 0,5: %.2f %.2f", v.on, v.half, seed, r[0], r[5])
		}
	}
}

// columnLN fits, per cell, a linear filter from the column means of the stimulus (W columns
// × nLag frames, ridge least squares) to the rate on binary column noise, and returns a
// function predicting the rate (rectified at 0) of a movie: an LN version of each cell for
// stimuli that are uniform along the columns (vertical bars).
func columnLN(t *testing.T, ret *Retina, nLag int) func(m datasets.Movie) [][]float64 {
	t.Helper()
	cfg := ret.Config()
	const T = 8000
	m := datasets.NewMovie(T, cfg.H, cfg.W)
	rng := rand.New(rand.NewPCG(7, 8))
	for tt := 0; tt < T; tt++ {
		f := m.Frame(tt)
		for x := 0; x < cfg.W; x++ {
			v := float32(1)
			if rng.IntN(2) == 0 {
				v = -1
			}
			for y := 0; y < cfg.H; y++ {
				f[y*cfg.W+x] = v
			}
		}
	}
	rates := mustRun(t, ret, m, nil).Rates
	cols := func(mv datasets.Movie) [][]float64 {
		out := make([][]float64, mv.T)
		for tt := range out {
			f := mv.Frame(tt)
			out[tt] = make([]float64, cfg.W)
			for x := 0; x < cfg.W; x++ {
				s := 0.0
				for y := 0; y < cfg.H; y++ {
					s += float64(f[y*cfg.W+x])
				}
				out[tt][x] = s / float64(cfg.H)
			}
		}
		return out
	}
	d := cfg.W*nLag + 1
	row := func(c [][]float64, tt int, out []float64) {
		for l := 0; l < nLag; l++ {
			for x := 0; x < cfg.W; x++ {
				if tt-l >= 0 {
					out[l*cfg.W+x] = c[tt-l][x]
				} else {
					out[l*cfg.W+x] = 0
				}
			}
		}
		out[d-1] = 1
	}
	c := cols(m)
	A := make([]float64, d*d)
	x := make([]float64, d)
	B := make([][]float64, ret.NCells())
	for i := range B {
		B[i] = make([]float64, d)
	}
	for tt := nLag; tt < T; tt++ {
		row(c, tt, x)
		rr := rates.Row(tt)
		for i := 0; i < d; i++ {
			for k := range B {
				B[k][i] += x[i] * float64(rr[k])
			}
			for j := 0; j <= i; j++ {
				A[i*d+j] += x[i] * x[j]
			}
		}
	}
	for i := 0; i < d; i++ {
		for j := 0; j < i; j++ {
			A[j*d+i] = A[i*d+j]
		}
		A[i*d+i] += 1
	}
	W := make([][]float64, len(B))
	for k := range B {
		W[k] = solveSPD(A, B[k], d)
	}
	return func(mv datasets.Movie) [][]float64 {
		cc := cols(mv)
		out := make([][]float64, len(W))
		for k := range W {
			out[k] = make([]float64, mv.T)
			for tt := 0; tt < mv.T; tt++ {
				row(cc, tt, x)
				s := 0.0
				for i := range x {
					s += W[k][i] * x[i]
				}
				out[k][tt] = math.Max(s, 0)
			}
		}
		return out
	}
}

func TestReversalLN(t *testing.T) {
	for _, seed := range mechanismSeeds {
		ret := smallRetina(t, seed)
		cfg := ret.Config()
		ln := columnLN(t, ret, 30)
		const pre, after, speed, x0 = 30, 40, 0.14, -2.0
		for c, centre := range ret.CellCentres() {
			var rs, cs float64
			for xt := math.Round(centre.X) - 2; xt <= math.Round(centre.X)+2; xt++ {
				rev, cont, turn := reversalPaths(pre, x0, xt, speed, after)
				rr := ln(barPath(cfg.H, cfg.W, rev, 2, -1))[c]
				cr := ln(barPath(cfg.H, cfg.W, cont, 2, -1))[c]
				base := 0.0
				for _, v := range cr[pre-10 : pre] {
					base += v / 10
				}
				a, b := 0.0, 0.0
				for k := turn; k < turn+after; k++ {
					a, b = math.Max(a, rr[k]-base), math.Max(b, cr[k]-base)
				}
				rs += a
				cs += b
			}
			t.Logf("seed %d cell %d %-8s LN burst ratio %.2f", seed, c, ret.CellTypes()[c], rs/cs)
		}
	}
}
