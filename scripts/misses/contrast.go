package main

import (
	"fmt"
	"math"
	"sort"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
)

// Local contrast as the simulated truth adapts to it (datasets/simretina, package doc): the
// stimulus pooled by a bipolar subunit (Gaussian of SD SubunitSigma), filtered by the fast
// class's biphasic filter at its resting time constants (L³_τ1 − β·L³_τ2, implicit-Euler
// stages as the circuit steps them), and c² = the running mean of lin² with time constant
// ContrastTauMS. The circuit's own estimate also speeds its filter up as it adapts; this one
// keeps the resting filter, so it is the contrast signal the gain control sees, not the gain.

// contrastSeries returns c(t) at each subunit location on a grid of spacing SubunitSpacing over
// the central half of the field: [location][frame].
func contrastSeries(stim datasets.Movie, circ simretina.Circuit, frameRate float64) [][]float64 {
	dt := 1 / frameRate
	var locs [][2]float64
	for y := float64(stim.H) / 4; y <= 3*float64(stim.H)/4; y += circ.SubunitSpacing {
		for x := float64(stim.W) / 4; x <= 3*float64(stim.W)/4; x += circ.SubunitSpacing {
			locs = append(locs, [2]float64{y, x})
		}
	}
	h1, h2 := dt/(circ.FastTau1MS/1000), dt/(circ.FastTau2MS/1000)
	a := math.Exp(-dt / (circ.ContrastTauMS / 1000))
	out := make([][]float64, len(locs))
	fs := stim.H * stim.W
	for li, l := range locs {
		w := make([]float64, fs)
		var sum float64
		for y := range stim.H {
			for x := range stim.W {
				d2 := (float64(y)-l[0])*(float64(y)-l[0]) + (float64(x)-l[1])*(float64(x)-l[1])
				w[y*stim.W+x] = math.Exp(-d2 / (2 * circ.SubunitSigma * circ.SubunitSigma))
				sum += w[y*stim.W+x]
			}
		}
		var f [3]float64
		var s [3]float64
		c2 := 0.0
		series := make([]float64, stim.T)
		for t := range stim.T {
			u := 0.0
			for p, v := range stim.Data[t*fs : (t+1)*fs] {
				if w[p] > 1e-4*sum {
					u += w[p] * float64(v)
				}
			}
			u /= sum
			in1, in2 := u, u
			for k := range 3 {
				f[k] = (f[k] + h1*in1) / (1 + h1)
				s[k] = (s[k] + h2*in2) / (1 + h2)
				in1, in2 = f[k], s[k]
			}
			lin := f[2] - circ.FastTransience*s[2]
			c2 = a*c2 + (1-a)*lin*lin
			series[t] = math.Sqrt(c2)
		}
		out[li] = series
	}
	return out
}

// contrastStats summarises c(t) after the first second: its percentiles over frames and
// locations, and how often it changed by at least each factor over the preceding lag frames
// (|log c(t) − log c(t − lag)| ≥ log factor).
type contrastStats struct {
	P5, P50, P95  float64
	Lag           int
	FracChangedBy map[float64]float64
}

func summariseContrast(series [][]float64, skip, lag int, factors []float64) (contrastStats, error) {
	var all []float64
	changed := map[float64]int{}
	n := 0
	for _, s := range series {
		for t := skip; t < len(s); t++ {
			all = append(all, s[t])
			if t-lag < skip || s[t] <= 0 || s[t-lag] <= 0 {
				continue
			}
			n++
			d := math.Abs(math.Log(s[t] / s[t-lag]))
			for _, f := range factors {
				if d >= math.Log(f) {
					changed[f]++
				}
			}
		}
	}
	if len(all) == 0 || n == 0 {
		return contrastStats{}, fmt.Errorf("stimulus of %d frames: too short for %d frames skipped and a lag of %d", len(series[0]), skip, lag)
	}
	sort.Float64s(all)
	q := func(p float64) float64 { return all[int(p*float64(len(all)-1))] }
	st := contrastStats{P5: q(0.05), P50: q(0.5), P95: q(0.95), Lag: lag, FracChangedBy: map[float64]float64{}}
	for _, f := range factors {
		st.FracChangedBy[f] = float64(changed[f]) / float64(n)
	}
	return st, nil
}
