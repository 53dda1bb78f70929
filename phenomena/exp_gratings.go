package phenomena

import (
	"fmt"
	"math"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/phenomena/measures"
	"github.com/deepretina/deepretina/phenomena/stimuli"
)

// ReversingGratingExperiment is the response to a square grating at ±1 whose bars are the
// reference's 5 pixels (kept in pixels: bar widths probe the receptive fields) and whose
// polarity reverses every 0.5 s (the reference's 50 frames at 100 Hz), for 3 s after 0.5 s of
// grey. Retinal ganglion cells pool rectified subunits, so they respond to both reversals.
//
// Metrics (medians over responding cells, over the last 2 s): f2_f1, the amplitude of the
// response at twice the reversal cycle's frequency over that at the frequency (HarmonicRatio);
// symmetry, the smaller over the larger of the mean peak responses (within 0.3 s) to the two
// kinds of reversal.
//
// Criterion (nonlinear spatial summation over rectified subunits: Hochstein & Shapley 1976;
// Enroth-Cugell & Robson 1966): both reversals evoke a response (symmetry ≥ 0.5), more evenly
// than the responder's LN surrogate, whose single filter answers one polarity more than the
// other wherever it is not centred on an edge: symmetry ≥ surrogate symmetry + 0.2.
func ReversingGratingExperiment() Experiment {
	return Experiment{
		Name:        "reversing_grating",
		Description: "Square grating of 5-px bars at ±1 reversing every 0.5 s; rate over time.",
		Criterion:   "symmetry ≥ 0.5 and symmetry ≥ LN surrogate's + 0.2 (responses to both reversals, as from rectified subunits)",
		Role:        RolePhenomenon,
		run:         runReversingGrating,
		shows: func(m Metrics) bool {
			return all(m["symmetry"] >= 0.5)
		},
		beyond: func(m, s Metrics) bool {
			return all(m["symmetry"] >= s["symmetry"]+0.2)
		},
	}
}

func runReversingGrating(r Responder, _ uint64) (*Outcome, error) {
	g := geometryOf(r)
	pre, half := g.frames(0.5), g.frames(0.5)
	stim, err := stimuli.Concat(stimuli.Grey(pre, g.h, g.w), stimuli.ReversingGrating(g.h, g.w, 6*half, half, 5, 1))
	if err != nil {
		return nil, err
	}
	tr, err := runTrials(r, stim)
	if err != nil {
		return nil, err
	}
	cells := tr[0]
	act := active(cells)
	f1 := g.rate / float64(2*half)
	win := g.frames(0.3)
	n := len(cells)
	ratio, sym := make([]float64, n), make([]float64, n)
	for c, y := range cells {
		base := measures.Mean(measures.Span(y, pre-g.frames(0.1), pre))
		ratio[c] = measures.HarmonicRatio(measures.Span(y, pre+2*half, pre+6*half), f1, g.rate)
		var a, b []float64
		for k := 2; k < 6; k++ {
			p, _ := measures.MaxExcess(y, pre+k*half, pre+k*half+win, base)
			if k%2 == 0 {
				a = append(a, math.Max(p, 0))
			} else {
				b = append(b, math.Max(p, 0))
			}
		}
		ma, mb := measures.Mean(a), measures.Mean(b)
		sym[c] = math.Min(ma, mb) / math.Max(ma, mb)
		if math.Max(ma, mb) == 0 {
			sym[c] = math.NaN()
		}
	}
	m := Metrics{"f2_f1": medianActive(ratio, act), "symmetry": medianActive(sym, act), "n_cells": nCells(sym, act)}
	return &Outcome{Metrics: m, Cells: cellMetrics(act, map[string][]float64{"f2_f1": ratio, "symmetry": sym}, nil), Panels: []figures.Panel{{
		Title: "rate; the grating appears at 0 ms and reverses every 500 ms", XLabel: "time (ms)", YLabel: "rate (Hz)",
		Series: cellSeries(g.times(len(cells[0]), pre), cells, act, "", ""),
	}}}, nil
}

// FrequencyDoublingExperiment is frequency doubling against bar width: sinusoidal gratings of
// bars 1, 2, 4 and 8 pixels wide whose contrast reverses sinusoidally at 2 Hz (contrast 1), at
// four spatial phases (0, ¼, ½, ¾ of a bar), 1.5 s each (the first 0.5 s discarded).
//
// Metrics: per cell and width F1, the largest amplitude at 2 Hz over the phases, and F2, the
// mean amplitude at 4 Hz (the reference's F2/F1, 4 Hz / 2 Hz); f2_f1_<w>px is the median
// ratio over responding cells, f2_f1_narrow the one at 2 px, f2_f1_wide at 8 px.
//
// Criterion (frequency doubling of Y-like cells: Hochstein & Shapley 1976): narrow bars drive a
// frequency-doubled response (f2_f1_narrow > 1) that wide bars do not match (f2_f1_narrow >
// f2_f1_wide), at least twice the responder's LN surrogate's (an LN model doubles only where
// its nonlinearity rectifies a weak linear drive); a surrogate with no measurable response
// counts as 0.
func FrequencyDoublingExperiment() Experiment {
	return Experiment{
		Name:        "frequency_doubling",
		Description: "Contrast-reversing (2 Hz) sinusoidal gratings of bars 1–8 px wide at four spatial phases; F2/F1 against bar width.",
		Criterion:   "f2_f1_narrow > 1, f2_f1_narrow > f2_f1_wide, and f2_f1_narrow ≥ 2 × LN surrogate's",
		Role:        RolePhenomenon,
		run:         runFrequencyDoubling,
		shows: func(m Metrics) bool {
			return all(m["f2_f1_narrow"] > 1, m["f2_f1_narrow"] > m["f2_f1_wide"])
		},
		beyond: func(m, s Metrics) bool {
			return all(m["f2_f1_narrow"] >= 2*nanAsZero(s["f2_f1_narrow"]))
		},
	}
}

// nanAsZero reads a metric that is NaN because nothing was measured (no response) as 0.
func nanAsZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

func runFrequencyDoubling(r Responder, _ uint64) (*Outcome, error) {
	g := geometryOf(r)
	const freq = 2.0
	fdWidths := []float64{1, 2, 4, 8} // bar widths in pixels: a sweep across the receptive field's scales
	skip, dur := g.frames(0.5), g.frames(1.5)
	phases := []float64{0, 0.25, 0.5, 0.75}
	var stims []datasets.Movie
	for _, w := range fdWidths {
		for _, ph := range phases {
			gr := stimuli.Grating{Period: 2 * w, Phase: ph * w, Contrast: 1}
			stims = append(stims, stimuli.ContrastReversingGrating(g.h, g.w, dur, gr, freq, g.rate))
		}
	}
	tr, err := runTrials(r, stims...)
	if err != nil {
		return nil, err
	}
	act := active(concatCells(tr...))
	n := len(tr[0])
	ratios := make([][]float64, n)
	for c := 0; c < n; c++ {
		ratios[c] = make([]float64, len(fdWidths))
		for wi := range fdWidths {
			var f1, f2 float64
			scale := 0.0
			for pi := range phases {
				y := measures.Span(tr[wi*len(phases)+pi][c], skip, dur)
				f1 = math.Max(f1, measures.Amplitude(y, freq, g.rate))
				f2 += measures.Amplitude(y, 2*freq, g.rate) / float64(len(phases))
				scale = math.Max(scale, measures.ScaleOf(y))
			}
			ratios[c][wi] = measures.Ratio(f2, f1, scale)
		}
	}
	m := Metrics{}
	cols := map[string][]float64{}
	for wi, w := range fdWidths {
		col := make([]float64, n)
		for c := range col {
			col[c] = ratios[c][wi]
		}
		k := fmt.Sprintf("f2_f1_%gpx", w)
		m[k], cols[k] = medianActive(col, act), col
	}
	m["f2_f1_narrow"], m["f2_f1_wide"] = m["f2_f1_2px"], m["f2_f1_8px"]
	cols["f2_f1_narrow"], cols["f2_f1_wide"] = cols["f2_f1_2px"], cols["f2_f1_8px"]
	m["n_cells"] = float64(countTrue(act))
	return &Outcome{Metrics: m, Cells: cellMetrics(act, cols, nil), Panels: []figures.Panel{{
		Title: "F2/F1 (4 Hz / 2 Hz)", XLabel: "bar width (px)", YLabel: "F2/F1", XLog: true, YLog: true,
		Series: withMarkers(cellSeries(fdWidths, ratios, act, "", "")),
	}}}, nil
}

// DirectionOrientationExperiment measures direction and orientation selectivity: a sinusoidal
// grating of period 8 pixels and contrast 1 drifting at 2 Hz in 8 directions, 2 s each (the
// first 0.5 s discarded); each cell's response is its mean rate minus its rate at grey (never
// below 0), so a cell's spontaneous rate does not dilute its tuning.
//
// Metrics: dsi and osi, the medians over responding cells of the vector-sum indices
// (DirectionSelectivity); dsi_max and osi_max, the largest.
//
// Criterion: a negative control, not counted among the phenomena: the salamander retina the
// reference models (and the simulated retina) has no direction- or orientation-selective
// circuit, so the selectivity must be absent: dsi < 0.2 and osi < 0.3.
func DirectionOrientationExperiment() Experiment {
	return Experiment{
		Name:        "direction_orientation",
		Description: "Sinusoidal grating (period 8 px) drifting at 2 Hz in 8 directions; mean rate above grey against direction, DSI and OSI.",
		Criterion:   "negative control: dsi < 0.2 and osi < 0.3 (no direction or orientation selectivity)",
		Role:        RoleControl,
		run:         runDirection,
		shows: func(m Metrics) bool {
			return all(m["dsi"] < 0.2, m["osi"] < 0.3)
		},
	}
}

func runDirection(r Responder, _ uint64) (*Outcome, error) {
	g := geometryOf(r)
	const period, freq = 8.0, 2.0
	skip, dur := g.frames(0.5), g.frames(2)
	speed := period * freq / g.rate
	var angles []float64
	stims := []datasets.Movie{stimuli.Grey(dur, g.h, g.w)}
	for k := 0; k < 8; k++ {
		a := 45 * float64(k)
		angles = append(angles, a)
		stims = append(stims, stimuli.DriftingGrating(g.h, g.w, dur, stimuli.Grating{Period: period, AngleDeg: a, Contrast: 1}, speed))
	}
	tr, err := runTrials(r, stims...)
	if err != nil {
		return nil, err
	}
	act := active(concatCells(tr[1:]...))
	n := len(tr[0])
	resp := make([][]float64, n)
	dsi, osi := make([]float64, n), make([]float64, n)
	for c := 0; c < n; c++ {
		base := measures.Mean(measures.Span(tr[0][c], skip, dur))
		resp[c] = make([]float64, len(angles))
		for i := range angles {
			resp[c][i] = math.Max(0, measures.Mean(measures.Span(tr[i+1][c], skip, dur))-base)
		}
		dsi[c], osi[c] = measures.DirectionSelectivity(angles, resp[c])
	}
	m := Metrics{"dsi": medianActive(dsi, act), "osi": medianActive(osi, act), "dsi_max": maxActive(dsi, act), "osi_max": maxActive(osi, act), "n_cells": nCells(dsi, act)}
	return &Outcome{Metrics: m, Cells: cellMetrics(act, map[string][]float64{"dsi": dsi, "osi": osi}, nil), Panels: []figures.Panel{{
		Title: "mean rate above grey against direction of motion", XLabel: "direction (degrees)", YLabel: "Δ mean rate (Hz)",
		Series: withMarkers(cellSeries(angles, resp, act, "", "")),
	}}}, nil
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

func maxActive(v []float64, act []bool) float64 {
	best := math.NaN()
	for c, x := range v {
		if act[c] && !math.IsNaN(x) && (math.IsNaN(best) || x > best) {
			best = x
		}
	}
	return best
}
