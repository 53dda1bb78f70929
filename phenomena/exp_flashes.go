package phenomena

import (
	"math"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
)

// StepResponseExperiment is the response to a full-field step: grey for 0.5 s, −1 for 1 s, grey for
// 0.5 s (the reference's 0 → −1 → 0 over 50/100/50 frames at 100 Hz).
//
// Metrics (medians over the cells that respond): onset_peak_hz, the largest |rate − baseline|
// within 0.3 s of the step; onset_latency_ms, when it comes; transience, 1 − |sustained| /
// |peak| with the sustained response the mean rate − baseline over the last 0.2 s of the step;
// offset_peak_hz, the largest |rate − baseline| within 0.3 s after the step ends.
//
// Criterion: the model responds to the step (onset_peak_hz ≥ 2) and transiently, as retinal
// ganglion cells do (transience ≥ 0.3).
func StepResponseExperiment() Experiment {
	return Experiment{
		Name:        "step_response",
		Description: "Full-field step from grey to −1 for 1 s and back; rate of each cell over time.",
		Criterion:   "onset_peak_hz ≥ 2 and transience ≥ 0.3 (a transient response to the step)",
		run:         runStep,
		reproduced: func(m, _ Metrics) bool {
			return all(m["onset_peak_hz"] >= 2, m["transience"] >= 0.3)
		},
	}
}

func runStep(r Responder) (*Outcome, error) {
	g := geometryOf(r)
	pre, dur, post := g.frames(0.5), g.frames(1), g.frames(0.5)
	tr, err := runTrials(r, Step(g.h, g.w, pre, dur, post, -1))
	if err != nil {
		return nil, err
	}
	cells := tr[0]
	act := active(cells)
	win, sus := g.frames(0.3), g.frames(0.2)
	n := len(cells)
	peak, lat, trans, off := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for c, y := range cells {
		base := mean(span(y, pre-g.frames(0.1), pre))
		p, at := peakExcess(y, pre, pre+win, base)
		s := mean(span(y, pre+dur-sus, pre+dur)) - base
		peak[c], lat[c] = math.Abs(p), g.ms(float64(at-pre))
		trans[c] = math.NaN()
		if p != 0 {
			trans[c] = math.Max(0, 1-math.Abs(s)/math.Abs(p))
		}
		o, _ := peakExcess(y, pre+dur, pre+dur+win, base)
		off[c] = math.Abs(o)
	}
	m := Metrics{
		"onset_peak_hz":    medianActive(peak, act),
		"onset_latency_ms": medianActive(lat, act),
		"transience":       medianActive(trans, act),
		"offset_peak_hz":   medianActive(off, act),
	}
	x := g.times(len(cells[0]), pre)
	return &Outcome{Metrics: m, Panels: []figures.Panel{{
		Title: "rate around a step to −1 at 0 ms (back to grey at 1000 ms)", XLabel: "time (ms)", YLabel: "rate (Hz)",
		Series: cellSeries(x, cells, act, "", ""),
	}}}, nil
}

// PairedFlashExperiment is the effect of a first flash on the response to a second: two 1-frame
// full-field flashes of −2 whose onsets are 2 … 19 frames apart (the reference's inter-flash
// intervals, at 100 Hz), and a single flash.
//
// Metrics: for each interval the response to the second flash (the pair's response minus the
// single flash's, largest |excess| within 0.3 s of the second flash) relative to the response
// to the first; ratio_short is its median (over responding cells) mean over intervals ≤ 50 ms,
// ratio_long over intervals ≥ 150 ms, recovery = ratio_long − ratio_short.
//
// Criterion: the first flash depresses the response to the second (paired-flash depression):
// ratio_short < 0.9.
func PairedFlashExperiment() Experiment {
	return Experiment{
		Name:        "paired_flash",
		Description: "Two 1-frame flashes of −2 at intervals of 2–19 frames; response to the second flash relative to the first, against the interval.",
		Criterion:   "ratio_short < 0.9 (the first flash depresses the response to a second one soon after)",
		run:         runPairedFlash,
		reproduced: func(m, _ Metrics) bool {
			return all(m["ratio_short"] < 0.9)
		},
	}
}

func runPairedFlash(r Responder) (*Outcome, error) {
	g := geometryOf(r)
	pre, post := g.frames(0.3), g.frames(0.5)
	gaps := []int{}
	for k := 2; k <= 19; k++ {
		gaps = append(gaps, max(1, int(math.Round(float64(k)*g.rate/100))))
	}
	stims := []datasets.Movie{Flash(g.h, g.w, pre, 1, gaps[len(gaps)-1]+1+post, -2)}
	for _, gap := range gaps {
		stims = append(stims, PairedFlash(g.h, g.w, pre, 1, gap-1, gaps[len(gaps)-1]-gap+1+post, -2))
	}
	tr, err := runTrials(r, stims...)
	if err != nil {
		return nil, err
	}
	single := tr[0]
	act := active(concatCells(tr...))
	win := g.frames(0.3)
	n := len(single)
	ratios := make([][]float64, n) // [cell][interval]
	short, long := make([]float64, n), make([]float64, n)
	intervals := make([]float64, len(gaps))
	for i, gap := range gaps {
		intervals[i] = g.ms(float64(gap))
	}
	for c := 0; c < n; c++ {
		base := mean(span(single[c], pre-g.frames(0.1), pre))
		first, _ := peakExcess(single[c], pre, pre+win, base)
		ratios[c] = make([]float64, len(gaps))
		var ss, ls []float64
		for i, gap := range gaps {
			diff := make([]float64, len(single[c]))
			for t := range diff {
				diff[t] = tr[i+1][c][t] - single[c][t]
			}
			second, _ := peakExcess(diff, pre+gap, pre+gap+win, 0)
			ratios[c][i] = math.Abs(second) / math.Abs(first)
			if intervals[i] <= 50 {
				ss = append(ss, ratios[c][i])
			}
			if intervals[i] >= 150 {
				ls = append(ls, ratios[c][i])
			}
		}
		short[c], long[c] = mean(ss), mean(ls)
	}
	m := Metrics{"ratio_short": medianActive(short, act), "ratio_long": medianActive(long, act)}
	m["recovery"] = m["ratio_long"] - m["ratio_short"]
	return &Outcome{Metrics: m, Panels: []figures.Panel{{
		Title: "second-flash response / first-flash response", XLabel: "interval between flashes (ms)", YLabel: "ratio",
		Series: withMarkers(cellSeries(intervals, ratios, act, "", "")),
	}}}, nil
}

// OmittedStimulusExperiment is the omitted-stimulus response: a train of 8 full-field flashes (2 frames
// of −2, one every 8 frames ≈ 12.5 Hz) that stops; the retina responds where the next flash
// should have come.
//
// Metrics (medians over responding cells): osr_ratio, the largest rate − baseline within
// 0.3 s after the omitted flash's time over the mean peak response to the last four flashes
// (the reference's response in the omitted window ÷ response to the flashes); latency_ms, the
// time of that peak after the omitted flash's time.
//
// Criterion: a response after the omission at least 0.3 of the flash response
// (osr_ratio ≥ 0.3) that peaks after the omitted flash's time (latency_ms > 0).
func OmittedStimulusExperiment() Experiment {
	return Experiment{
		Name:        "omitted_stimulus",
		Description: "Eight 2-frame flashes of −2 every 8 frames, then grey; response after the omitted ninth flash.",
		Criterion:   "osr_ratio ≥ 0.3 and latency_ms > 0 (a response where the missing flash was due)",
		run:         runOmitted,
		reproduced: func(m, _ Metrics) bool {
			return all(m["osr_ratio"] >= 0.3, m["latency_ms"] > 0)
		},
	}
}

func runOmitted(r Responder) (*Outcome, error) {
	g := geometryOf(r)
	pre, post := g.frames(0.5), g.frames(0.6)
	flash, period, n := max(1, g.frames(0.02)), max(2, g.frames(0.08)), 8
	tr, err := runTrials(r, FlashTrain(g.h, g.w, pre, flash, period, n, post, -2))
	if err != nil {
		return nil, err
	}
	cells := tr[0]
	act := active(cells)
	omit := pre + n*period
	win := g.frames(0.3)
	ratio, lat := make([]float64, len(cells)), make([]float64, len(cells))
	for c, y := range cells {
		base := mean(span(y, pre-g.frames(0.1), pre))
		var peaks []float64
		for k := n - 4; k < n; k++ {
			p, _ := maxExcess(y, pre+k*period, pre+(k+1)*period, base)
			peaks = append(peaks, p)
		}
		osr, at := maxExcess(y, omit, omit+win, base)
		ratio[c], lat[c] = osr/mean(peaks), g.ms(float64(at-omit))
		if !(mean(peaks) > 0) {
			ratio[c], lat[c] = math.NaN(), math.NaN()
		}
	}
	m := Metrics{"osr_ratio": medianActive(ratio, act), "latency_ms": medianActive(lat, act)}
	x := g.times(len(cells[0]), omit)
	return &Outcome{Metrics: m, Panels: []figures.Panel{{
		Title: "rate; the omitted flash was due at 0 ms", XLabel: "time (ms)", YLabel: "rate (Hz)",
		Series: cellSeries(x, cells, act, "", ""),
	}}}, nil
}

// LatencyEncodingExperiment is the latency of the response to 2-frame full-field flashes of intensity
// 0 … −3 in 21 steps (the reference's values).
//
// Metrics: per flash and cell, the latency of the reference: the centre of mass of the
// response more than 3 Hz above baseline within 0.4 s of the flash; latency_weak_ms and
// latency_strong_ms are the medians (over responding cells) at −1.05 (the step nearest −1) and −3, slope_ms_per_unit
// the median least-squares slope of latency against flash strength |intensity| over the
// flashes each cell responds to.
//
// Criterion: latency falls with intensity: slope_ms_per_unit < 0 and latency_strong_ms <
// latency_weak_ms.
func LatencyEncodingExperiment() Experiment {
	return Experiment{
		Name:        "latency_encoding",
		Description: "2-frame full-field flashes of 0 … −3 (21 steps); response latency against flash intensity.",
		Criterion:   "slope_ms_per_unit < 0 and latency_strong_ms < latency_weak_ms (stronger flashes, shorter latency)",
		run:         runLatency,
		reproduced: func(m, _ Metrics) bool {
			return all(m["slope_ms_per_unit"] < 0, m["latency_strong_ms"] < m["latency_weak_ms"])
		},
	}
}

func runLatency(r Responder) (*Outcome, error) {
	g := geometryOf(r)
	pre, post := g.frames(0.3), g.frames(0.5)
	flash := max(1, g.frames(0.02))
	var levels []float64
	var stims []datasets.Movie
	for k := 0; k <= 20; k++ {
		v := -3 * float64(k) / 20
		levels = append(levels, v)
		stims = append(stims, Flash(g.h, g.w, pre, flash, post, float32(v)))
	}
	tr, err := runTrials(r, stims...)
	if err != nil {
		return nil, err
	}
	act := active(concatCells(tr...))
	n := len(tr[0])
	win := g.frames(0.4)
	lat := make([][]float64, n)
	weak, strong, slope := make([]float64, n), make([]float64, n), make([]float64, n)
	strength := make([]float64, len(levels))
	for i, v := range levels {
		strength[i] = -v
	}
	for c := 0; c < n; c++ {
		lat[c] = make([]float64, len(levels))
		for i := range levels {
			y := tr[i][c]
			base := mean(span(y, pre-g.frames(0.1), pre))
			lat[c][i] = Latency(y, pre, win, base, 3, g.rate)
		}
		weak[c], strong[c] = lat[c][len(levels)/3], lat[c][len(levels)-1]
		slope[c] = fitSlope(strength, lat[c])
	}
	m := Metrics{
		"latency_weak_ms":   medianActive(weak, act),
		"latency_strong_ms": medianActive(strong, act),
		"slope_ms_per_unit": medianActive(slope, act),
	}
	return &Outcome{Metrics: m, Panels: []figures.Panel{{
		Title: "latency of the response (centre of mass > 3 Hz above baseline)", XLabel: "flash intensity", YLabel: "latency (ms)",
		Series: withMarkers(cellSeries(levels, lat, act, "", "")),
	}}}, nil
}

// fitSlope is the least-squares slope of y against x over the pairs where y is not NaN (NaN
// with fewer than 3 such pairs).
func fitSlope(x, y []float64) float64 {
	var xs, ys []float64
	for i := range x {
		if !math.IsNaN(y[i]) {
			xs, ys = append(xs, x[i]), append(ys, y[i])
		}
	}
	if len(xs) < 3 {
		return math.NaN()
	}
	mx, my := mean(xs), mean(ys)
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	if sxx == 0 {
		return math.NaN()
	}
	return sxy / sxx
}

func withMarkers(s []figures.Series) []figures.Series {
	for i := range s {
		s[i].Mode = "lines+markers"
	}
	return s
}
