package phenomena

import (
	"fmt"
	"math"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/phenomena/measures"
	"github.com/deepretina/deepretina/phenomena/stimuli"
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
// contrast 0.7 for 8 s, 0.2 for 8 s, 0.7 for 4 s. The two 8-s segments are the same noise
// realisation at the two contrasts, so that the noise seed cannot move the comparison. Each
// cell's temporal filter is estimated by reverse correlation (ReverseCorrelate, in Hz per unit
// intensity) from the last 7 s of the high and of the low segment, and its nonlinearity by
// binning the rate against the filtered stimulus.
//
// Metrics (medians over responding cells): gain_high and gain_low, the filters' peak |value|;
// gain_ratio, high over low per cell; peak_ms_high and peak_ms_low, the times of the peak of
// the high-contrast filter's main lobe and of the same-signed lobe at low contrast
// (PeakTimeSigned: the peak cannot jump between lobes); speedup_ms, peak_ms_low − peak_ms_high.
//
// Criterion (contrast adaptation: Smirnakis et al. 1997; Baccus & Meister 2002): gain falls
// (gain_ratio < 1) and the filter speeds up (speedup_ms > 0) at high contrast, beyond what the
// responder's LN surrogate shows (a static saturating nonlinearity lowers the measured gain at
// high contrast too): gain_ratio ≤ 0.8 × surrogate gain_ratio and speedup_ms ≥ surrogate
// speedup_ms + 2.
func ContrastAdaptationExperiment() Experiment {
	return Experiment{
		Name:        "contrast_adaptation",
		Description: "Full-field flicker at contrast 0.7 → 0.2 → 0.7 (the same noise at both contrasts); temporal filters and nonlinearities at high and low contrast, and the rate across the switches.",
		Criterion:   "gain_ratio < 1 and speedup_ms > 0, gain_ratio ≤ 0.8 × LN surrogate's, speedup_ms ≥ LN surrogate's + 2",
		Role:        RolePhenomenon,
		Stochastic:  true,
		run:         runContrastAdaptation,
		shows: func(m Metrics) bool {
			return all(m["gain_ratio"] < 1, m["speedup_ms"] > 0)
		},
		beyond: func(m, s Metrics) bool {
			return all(m["gain_ratio"] <= 0.8*s["gain_ratio"], m["speedup_ms"] >= s["speedup_ms"]+2)
		},
	}
}

// filterLags is the length of the estimated filters: the responder's own filter span where it
// states one (filterSpanner: the simulated truth's circuit, and an LN surrogate its own
// lags), else its history (what a model can see), at least 0.3 s.
func (g geometry) filterLags() int {
	if g.lags > 0 {
		return g.lags
	}
	return max(g.hist, g.frames(0.3))
}

func runContrastAdaptation(r Responder, seed uint64) (*Outcome, error) {
	g := geometryOf(r)
	stim, starts, err := contrastSwitchStimulus(g, seed)
	if err != nil {
		return nil, err
	}
	tr, err := runTrials(r, stim)
	if err != nil {
		return nil, err
	}
	cells := tr[0]
	act := active(cells)
	s := measures.Column(datasets.Matrix{Rows: stim.T, Cols: stim.H * stim.W, Data: stim.Data}, 0)
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
		fHi[c] = measures.ReverseCorrelate(measures.Span(y, hi[0], hi[1]), measures.Span(s, hi[0], hi[1]), lags)
		fLo[c] = measures.ReverseCorrelate(measures.Span(y, lo[0], lo[1]), measures.Span(s, lo[0], lo[1]), lags)
		gHi[c], gLo[c] = measures.PeakGain(fHi[c]), measures.PeakGain(fLo[c])
		ratio[c] = gHi[c] / gLo[c]
		sign := 1.0
		if k := measures.ArgmaxAbs(fHi[c]); k >= 0 && fHi[c][k] < 0 {
			sign = -1
		}
		pHi[c], pLo[c] = measures.PeakTimeSigned(fHi[c], sign, g.rate), measures.PeakTimeSigned(fLo[c], sign, g.rate)
		speed[c] = pLo[c] - pHi[c]
		for k, part := range [][2]int{hi, lo} {
			f := fHi[c]
			if k == 1 {
				f = fLo[c]
			}
			gen := measures.Convolve(measures.Span(s, part[0]-lags, part[1]), unitNorm(f))[lags:]
			nlX[2*c+k], nlY[2*c+k] = measures.BinnedNonlinearity(gen, measures.Span(y, part[0], part[1]), 20)
		}
	}
	m := Metrics{
		"gain_high": medianActive(gHi, act), "gain_low": medianActive(gLo, act), "gain_ratio": medianActive(ratio, act),
		"peak_ms_high": medianActive(pHi, act), "peak_ms_low": medianActive(pLo, act), "speedup_ms": medianActive(speed, act),
		"n_cells": nCells(ratio, act),
	}
	cm := cellMetrics(act, map[string][]float64{"gain_high": gHi, "gain_low": gLo, "gain_ratio": ratio, "peak_ms_high": pHi, "peak_ms_low": pLo, "speedup_ms": speed}, nil)
	return &Outcome{Metrics: m, Cells: cm, Panels: contrastPanels(g, act, cells, lags, fHi, fLo, nlX, nlY)}, nil
}

// contrastSwitchStimulus is full-field flicker at contrast 0.7 for 8 s, 0.2 for 8 s (the same
// noise) and 0.7 for 4 s, with the frame each segment starts at.
func contrastSwitchStimulus(g geometry, seed uint64) (datasets.Movie, []int, error) {
	seg := []struct {
		c, sec float64
		noise  uint64
	}{{highContrast, 8, 0}, {lowContrast, 8, 0}, {highContrast, 4, 1}}
	var movies []datasets.Movie
	var starts []int
	t := 0
	for _, s := range seg {
		movies = append(movies, stimuli.WhiteNoise(g.h, g.w, g.frames(s.sec), s.c, max(g.h, g.w), false, 1000*seed+101+s.noise))
		starts = append(starts, t)
		t += g.frames(s.sec)
	}
	stim, err := stimuli.Concat(movies...)
	return stim, starts, err
}

// contrastPanels draws the responding cells' filters and nonlinearities at high contrast
// (solid) and low (dotted), and the mean rate across the switches in 100-ms bins.
func contrastPanels(g geometry, act []bool, cells [][]float64, lags int, fHi, fLo, nlX, nlY [][]float64) []figures.Panel {
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
				acc += measures.Mean(y[b : b+bin])
				k++
			}
		}
		bx, by = append(bx, g.ms(float64(b))/1000), append(by, acc/math.Max(1, float64(k)))
	}
	return []figures.Panel{
		{Title: fmt.Sprintf("filters at contrast %g (solid) and %g (dotted)", highContrast, lowContrast), XLabel: "lag (ms)", YLabel: "filter (Hz per unit)", Series: filters},
		{Title: "nonlinearities (generator = stimulus ∗ unit-norm filter)", XLabel: "generator", YLabel: "rate (Hz)", Series: nls},
		{Title: fmt.Sprintf("mean rate; contrast %g → %g at 8 s → %g at 16 s", highContrast, lowContrast, highContrast), XLabel: "time (s)", YLabel: "rate (Hz)",
			Series: []figures.Series{{Name: "mean of cells", X: bx, Y: by, Color: "#444"}}},
	}
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

// FastContrastAdaptationExperiment is the speed of the temporal filter against contrast, as the
// reference's newer code measures it: full-field Gaussian flicker at contrasts 0.5, 1 and 2, 7 s
// each (the first second discarded) and the same noise realisation at every contrast (so the
// seed cannot move the comparison); each cell's filter by reverse correlation and the power
// centre of mass of its spectrum over 0–15 Hz (PowerCentreFrequency).
//
// Metrics: centre_hz_<contrast>, medians over responding cells; freq_ratio, the median over
// cells of the centre frequency at contrast 2 over that at 0.5.
//
// Criterion (filters speed up with contrast within ~100 ms: Baccus & Meister 2002): freq_ratio
// ≥ 1.05, and beyond the responder's LN surrogate, whose filter shape a static nonlinearity
// does not change: freq_ratio ≥ surrogate freq_ratio + 0.05.
func FastContrastAdaptationExperiment() Experiment {
	return Experiment{
		Name:        "fast_contrast_adaptation",
		Description: "Full-field flicker at contrasts 0.5, 1, 2 (the same noise at each); power centre of mass (0–15 Hz) of each cell's temporal filter against contrast.",
		Criterion:   "freq_ratio ≥ 1.05 and freq_ratio ≥ LN surrogate's + 0.05 (the filter speeds up with contrast)",
		Role:        RolePhenomenon,
		Stochastic:  true,
		run:         runFastContrast,
		shows: func(m Metrics) bool {
			return all(m["freq_ratio"] >= 1.05)
		},
		beyond: func(m, s Metrics) bool {
			return all(m["freq_ratio"] >= s["freq_ratio"]+0.05)
		},
	}
}

func runFastContrast(r Responder, seed uint64) (*Outcome, error) {
	g := geometryOf(r)
	contrasts := []float64{0.5, 1, 2}
	var stims []datasets.Movie
	for _, c := range contrasts {
		stims = append(stims, stimuli.WhiteNoise(g.h, g.w, g.frames(7), c, max(g.h, g.w), false, 1000*seed+201))
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
			s := measures.Column(datasets.Matrix{Rows: stims[i].T, Cols: g.h * g.w, Data: stims[i].Data}, 0)
			f := measures.ReverseCorrelate(measures.Span(tr[i][c], skip, len(s)), measures.Span(s, skip, len(s)), lags)
			freq[c][i] = measures.PowerCentreFrequency(f, g.rate, 15)
		}
		ratio[c] = freq[c][len(contrasts)-1] / freq[c][0]
	}
	m := Metrics{"freq_ratio": medianActive(ratio, act), "n_cells": nCells(ratio, act)}
	cols := map[string][]float64{"freq_ratio": ratio}
	for i, ctr := range contrasts {
		col := make([]float64, n)
		for c := range col {
			col[c] = freq[c][i]
		}
		k := fmt.Sprintf("centre_hz_%g", ctr)
		m[k], cols[k] = medianActive(col, act), col
	}
	return &Outcome{Metrics: m, Cells: cellMetrics(act, cols, nil), Panels: []figures.Panel{{
		Title: "power centre of mass (0–15 Hz) of the temporal filter", XLabel: "contrast", YLabel: "centre frequency (Hz)", XLog: true,
		Series: withMarkers(cellSeries(contrasts, freq, act, "", "")),
	}}}, nil
}
