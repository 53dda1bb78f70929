package phenomena

import (
	"fmt"
	"math"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
)

// Contrasts (SD of full-field Gaussian flicker) of the slow contrast-adaptation experiment:
// the reference battery's high contrast 0.7 and, instead of its 0.1, 0.2: at 0.1 the simulated
// retina, nearly silent at mean grey (< 1 Hz), is driven mostly below the threshold of its
// output nonlinearity, and its filters there measure that threshold rather than adaptation.
const (
	highContrast = 0.7
	lowContrast  = 0.2
)

// ContrastAdaptationExperiment is slow contrast adaptation: full-field Gaussian flicker at
// contrast 0.7 for 8 s, 0.2 for 8 s, 0.7 for 4 s. Each cell's temporal filter is estimated by reverse
// correlation (ReverseCorrelate, in Hz per unit intensity) from the last 7 s of the high and
// of the low segment, and its nonlinearity by binning the rate against the filtered stimulus.
//
// Metrics (medians over responding cells): gain_high and gain_low, the filters' peak |value|;
// gain_ratio, high over low per cell; peak_ms_high and peak_ms_low, the filters' peak times;
// speedup_ms, peak_ms_low − peak_ms_high per cell.
//
// Criterion: as in the retina, gain falls at high contrast (gain_ratio < 1) and the filter
// speeds up (speedup_ms > 0).
func ContrastAdaptationExperiment() Experiment {
	return Experiment{
		Name:        "contrast_adaptation",
		Description: "Full-field flicker at contrast 0.7 → 0.2 → 0.7; temporal filters and nonlinearities at high and low contrast, and the rate across the switches.",
		Criterion:   "gain_ratio < 1 and speedup_ms > 0 (lower gain and a faster filter at high contrast)",
		run:         runContrastAdaptation,
		reproduced: func(m, _ Metrics) bool {
			return all(m["gain_ratio"] < 1, m["speedup_ms"] > 0)
		},
	}
}

// filterLags is the length of the estimated filters: the model's history (what it can see),
// at least 0.3 s.
func (g geometry) filterLags() int { return max(g.hist, g.frames(0.3)) }

func runContrastAdaptation(r Responder) (*Outcome, error) {
	g := geometryOf(r)
	seg := []struct {
		c   float64
		sec float64
	}{{highContrast, 8}, {lowContrast, 8}, {highContrast, 4}}
	var movies []datasets.Movie
	var starts []int
	t := 0
	for i, s := range seg {
		movies = append(movies, WhiteNoise(g.h, g.w, g.frames(s.sec), s.c, max(g.h, g.w), false, uint64(101+i)))
		starts = append(starts, t)
		t += g.frames(s.sec)
	}
	stim, err := Concat(movies...)
	if err != nil {
		return nil, err
	}
	tr, err := runTrials(r, stim)
	if err != nil {
		return nil, err
	}
	cells := tr[0]
	act := active(cells)
	s := Column(datasets.Matrix{Rows: stim.T, Cols: stim.H * stim.W, Data: stim.Data}, 0)
	lags := g.filterLags()
	skip := g.frames(1)
	hi := [2]int{starts[0] + skip, starts[1]}
	lo := [2]int{starts[1] + skip, starts[2]}
	n := len(cells)
	fHi, fLo := make([][]float64, n), make([][]float64, n)
	gHi, gLo, ratio := make([]float64, n), make([]float64, n), make([]float64, n)
	pHi, pLo, speed := make([]float64, n), make([]float64, n), make([]float64, n)
	nlX, nlY := make([][]float64, 2*n), make([][]float64, 2*n)
	for c, y := range cells {
		fHi[c] = ReverseCorrelate(span(y, hi[0], hi[1]), span(s, hi[0], hi[1]), lags)
		fLo[c] = ReverseCorrelate(span(y, lo[0], lo[1]), span(s, lo[0], lo[1]), lags)
		gHi[c], gLo[c] = PeakGain(fHi[c]), PeakGain(fLo[c])
		ratio[c] = gHi[c] / gLo[c]
		pHi[c], pLo[c] = PeakTime(fHi[c], g.rate), PeakTime(fLo[c], g.rate)
		speed[c] = pLo[c] - pHi[c]
		for k, part := range [][2]int{hi, lo} {
			f := fHi[c]
			if k == 1 {
				f = fLo[c]
			}
			gen := Convolve(span(s, part[0]-lags, part[1]), unitNorm(f))[lags:]
			nlX[2*c+k], nlY[2*c+k] = BinnedNonlinearity(gen, span(y, part[0], part[1]), 20)
		}
	}
	m := Metrics{
		"gain_high": medianActive(gHi, act), "gain_low": medianActive(gLo, act), "gain_ratio": medianActive(ratio, act),
		"peak_ms_high": medianActive(pHi, act), "peak_ms_low": medianActive(pLo, act), "speedup_ms": medianActive(speed, act),
	}
	lagMS := g.times(lags, 0)
	var filters, nls []figures.Series
	for c := range cells {
		if !act[c] {
			continue
		}
		name := cellName(c)
		filters = append(filters,
			figures.Series{Name: name, Group: name, X: lagMS, Y: fHi[c]},
			figures.Series{Name: name + " (low)", Group: name, X: lagMS, Y: fLo[c], Dash: "dot"})
		nls = append(nls,
			figures.Series{Name: name, Group: name, X: nlX[2*c], Y: nlY[2*c]},
			figures.Series{Name: name + " (low)", Group: name, X: nlX[2*c+1], Y: nlY[2*c+1], Dash: "dot"})
	}
	// Population rate across the switches, in 100 ms bins.
	bin := g.frames(0.1)
	var bx, by []float64
	for b := 0; b+bin <= len(cells[0]); b += bin {
		var acc float64
		k := 0
		for c, y := range cells {
			if act[c] {
				acc += mean(y[b : b+bin])
				k++
			}
		}
		bx, by = append(bx, g.ms(float64(b))/1000), append(by, acc/math.Max(1, float64(k)))
	}
	return &Outcome{Metrics: m, Panels: []figures.Panel{
		{Title: fmt.Sprintf("filters at contrast %g (solid) and %g (dotted)", highContrast, lowContrast), XLabel: "lag (ms)", YLabel: "filter (Hz per unit)", Series: filters},
		{Title: "nonlinearities (generator = stimulus ∗ unit-norm filter)", XLabel: "generator", YLabel: "rate (Hz)", Series: nls},
		{Title: fmt.Sprintf("mean rate; contrast %g → %g at 8 s → %g at 16 s", highContrast, lowContrast, highContrast), XLabel: "time (s)", YLabel: "rate (Hz)",
			Series: []figures.Series{{Name: "mean of cells", X: bx, Y: by, Color: "#444"}}},
	}}, nil
}

func unitNorm(f []float64) []float64 {
	var s float64
	for _, v := range f {
		s += v * v
	}
	out := make([]float64, len(f))
	if s == 0 || math.IsNaN(s) {
		return out
	}
	s = math.Sqrt(s)
	for i, v := range f {
		out[i] = v / s
	}
	return out
}

// FastContrastAdaptationExperiment is the speed of the temporal filter against contrast: full-field
// Gaussian flicker at contrasts 0.05, 0.1, 0.2 and 0.35, 7 s each (the first second
// discarded), each cell's filter by reverse correlation and the centre of mass of its
// amplitude spectrum (CentreFrequency).
//
// Metrics: centre_hz_<contrast>, medians over responding cells; freq_ratio, the median over
// cells of the centre frequency at 0.35 over that at 0.05.
//
// Criterion: filters speed up with contrast: freq_ratio > 1.
func FastContrastAdaptationExperiment() Experiment {
	return Experiment{
		Name:        "fast_contrast_adaptation",
		Description: "Full-field flicker at contrasts 0.05, 0.1, 0.2, 0.35; centre frequency of each cell's temporal filter against contrast.",
		Criterion:   "freq_ratio > 1 (the filter's centre frequency rises with contrast)",
		run:         runFastContrast,
		reproduced: func(m, _ Metrics) bool {
			return all(m["freq_ratio"] > 1)
		},
	}
}

func runFastContrast(r Responder) (*Outcome, error) {
	g := geometryOf(r)
	contrasts := []float64{0.05, 0.1, 0.2, 0.35}
	var stims []datasets.Movie
	for i, c := range contrasts {
		stims = append(stims, WhiteNoise(g.h, g.w, g.frames(7), c, max(g.h, g.w), false, uint64(201+i)))
	}
	tr, err := runTrials(r, stims...)
	if err != nil {
		return nil, err
	}
	act := active(concatCells(tr...))
	lags, skip := g.filterLags(), g.frames(1)
	n := len(tr[0])
	freq := make([][]float64, n)
	ratio := make([]float64, n)
	for c := 0; c < n; c++ {
		freq[c] = make([]float64, len(contrasts))
		for i := range contrasts {
			s := Column(datasets.Matrix{Rows: stims[i].T, Cols: g.h * g.w, Data: stims[i].Data}, 0)
			f := ReverseCorrelate(span(tr[i][c], skip, len(s)), span(s, skip, len(s)), lags)
			freq[c][i] = CentreFrequency(f, g.rate)
		}
		ratio[c] = freq[c][len(contrasts)-1] / freq[c][0]
	}
	m := Metrics{"freq_ratio": medianActive(ratio, act)}
	for i, ctr := range contrasts {
		col := make([]float64, n)
		for c := range col {
			col[c] = freq[c][i]
		}
		m[fmt.Sprintf("centre_hz_%g", ctr)] = medianActive(col, act)
	}
	return &Outcome{Metrics: m, Panels: []figures.Panel{{
		Title: "centre frequency of the temporal filter", XLabel: "contrast", YLabel: "centre frequency (Hz)", XLog: true,
		Series: withMarkers(cellSeries(contrasts, freq, act, "", "")),
	}}}, nil
}
