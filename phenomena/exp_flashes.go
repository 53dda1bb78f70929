package phenomena

import (
	"fmt"
	"math"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/phenomena/measures"
	"github.com/deepretina/deepretina/phenomena/stimuli"
)

// StepResponseExperiment is the response to a full-field step: grey for 0.5 s, −1 for 1 s, grey for
// 0.5 s (the reference's 0 → −1 → 0 over 50/100/50 frames at 100 Hz).
//
// Metrics (medians over the cells that respond): onset_peak_hz, the largest |rate − baseline|
// within 0.3 s of the step; onset_latency_ms, when it comes; transience, 1 − |sustained| /
// |peak| with the sustained response the mean rate − baseline over the last 0.2 s of the step;
// offset_peak_hz, the largest |rate − baseline| within 0.3 s after the step ends.
//
// Criterion (a sanity check: an LN model passes it too, so it is not counted): the model
// responds to the step (onset_peak_hz ≥ 2) and transiently, as retinal ganglion cells do
// (transience ≥ 0.3).
func StepResponseExperiment() Experiment {
	return Experiment{
		Name:        "step_response",
		Description: "Full-field step from grey to −1 for 1 s and back; rate of each cell over time.",
		Criterion:   "sanity check: onset_peak_hz ≥ 2 and transience ≥ 0.3 (a transient response to the step)",
		Role:        RoleSanity,
		run:         runStep,
		shows: func(m Metrics) bool {
			return all(m["onset_peak_hz"] >= 2, m["transience"] >= 0.3)
		},
	}
}

func runStep(r Responder, _ uint64) (*Outcome, error) {
	g := geometryOf(r)
	pre, dur, post := g.frames(0.5), g.frames(1), g.frames(0.5)
	tr, err := runTrials(r, stimuli.Step(g.h, g.w, pre, dur, post, -1))
	if err != nil {
		return nil, err
	}
	cells := tr[0]
	act := active(cells)
	win, sus := g.frames(0.3), g.frames(0.2)
	n := len(cells)
	peak, lat, trans, off := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for c, y := range cells {
		base := measures.Mean(measures.Span(y, pre-g.frames(0.1), pre))
		p, at := measures.PeakExcess(y, pre, pre+win, base)
		s := measures.Mean(measures.Span(y, pre+dur-sus, pre+dur)) - base
		peak[c], lat[c] = math.Abs(p), g.ms(float64(at-pre))
		trans[c] = math.NaN()
		if p != 0 {
			trans[c] = math.Max(0, 1-math.Abs(s)/math.Abs(p))
		}
		o, _ := measures.PeakExcess(y, pre+dur, pre+dur+win, base)
		off[c] = math.Abs(o)
	}
	m := Metrics{
		"onset_peak_hz":    medianActive(peak, act),
		"onset_latency_ms": medianActive(lat, act),
		"transience":       medianActive(trans, act),
		"offset_peak_hz":   medianActive(off, act),
		"n_cells":          nCells(peak, act),
	}
	x := g.times(len(cells[0]), pre)
	return &Outcome{Metrics: m, Cells: cellMetrics(act, map[string][]float64{"onset_peak_hz": peak, "onset_latency_ms": lat, "transience": trans, "offset_peak_hz": off}, nil), Panels: []figures.Panel{{
		Title: "rate around a step to −1 at 0 ms (back to grey at 1000 ms)", XLabel: "time (ms)", YLabel: "rate (Hz)",
		Series: cellSeries(x, cells, act, "", ""),
	}}}, nil
}

// PairedFlashExperiment is the effect of a first flash on the response to a second: two 1-frame
// full-field flashes of −2 whose onsets are 3 … 20 frames apart (the reference's intervals, at
// 100 Hz), and a single flash.
//
// Metrics: for each interval the response to the second flash (the pair's response minus the
// single flash's, its largest excess of the first response's sign within 0.3 s of the second
// flash, signed: a suppressed second response is negative) relative to the first; ratio_short
// is its median (over responding cells) mean over intervals ≤ 50 ms, ratio_long over intervals
// ≥ 150 ms, recovery = ratio_long − ratio_short.
//
// Criterion (paired-flash depression and its recovery, from synaptic depression at the bipolar
// terminal: Maheswaranathan et al. 2023; Jarsky et al. 2011): the second response is depressed
// at short intervals (ratio_short ≤ 0.8) and recovers (recovery ≥ 0.2), and the depression goes
// beyond the responder's LN surrogate, whose static nonlinearity alone can depress a second
// flash: ratio_short ≤ surrogate ratio_short − 0.15.
func PairedFlashExperiment() Experiment {
	return Experiment{
		Name:        "paired_flash",
		Description: "Two 1-frame flashes of −2 at intervals of 3–20 frames; response to the second flash relative to the first, against the interval.",
		Criterion:   "ratio_short ≤ 0.8, recovery ≥ 0.2, and ratio_short ≤ LN surrogate's ratio_short − 0.15",
		Role:        RolePhenomenon,
		run:         runPairedFlash,
		shows: func(m Metrics) bool {
			return all(m["ratio_short"] <= 0.8, m["recovery"] >= 0.2)
		},
		beyond: func(m, s Metrics) bool {
			return all(m["ratio_short"] <= s["ratio_short"]-0.15)
		},
	}
}

func runPairedFlash(r Responder, _ uint64) (*Outcome, error) {
	g := geometryOf(r)
	pre, post := g.frames(0.3), g.frames(0.5)
	gaps := []int{} // onset-to-onset intervals in frames
	for k := 3; k <= 20; k++ {
		gaps = append(gaps, max(1, int(math.Round(float64(k)*g.rate/100))))
	}
	stims := []datasets.Movie{stimuli.Flash(g.h, g.w, pre, 1, gaps[len(gaps)-1]+1+post, -2)}
	for _, gap := range gaps {
		stims = append(stims, stimuli.PairedFlash(g.h, g.w, pre, 1, gap-1, gaps[len(gaps)-1]-gap+1+post, -2))
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
		base := measures.Mean(measures.Span(single[c], pre-g.frames(0.1), pre))
		first, _ := measures.PeakExcess(single[c], pre, pre+win, base)
		sign := 1.0
		if first < 0 {
			sign = -1
		}
		ratios[c] = make([]float64, len(gaps))
		var ss, ls []float64
		for i, gap := range gaps {
			diff := make([]float64, len(single[c]))
			for t := range diff {
				diff[t] = sign * (tr[i+1][c][t] - single[c][t])
			}
			second, _ := measures.MaxExcess(diff, pre+gap, pre+gap+win, 0)
			ratios[c][i] = second / math.Abs(first)
			if first == 0 {
				ratios[c][i] = math.NaN()
			}
			if intervals[i] <= 50 {
				ss = append(ss, ratios[c][i])
			}
			if intervals[i] >= 150 {
				ls = append(ls, ratios[c][i])
			}
		}
		short[c], long[c] = measures.Mean(ss), measures.Mean(ls)
	}
	m := Metrics{"ratio_short": medianActive(short, act), "ratio_long": medianActive(long, act), "n_cells": nCells(short, act)}
	m["recovery"] = m["ratio_long"] - m["ratio_short"]
	rec := make([]float64, n)
	for c := range rec {
		rec[c] = long[c] - short[c]
	}
	cm := cellMetrics(act, map[string][]float64{"ratio_short": short, "ratio_long": long, "recovery": rec}, nil)
	return &Outcome{Metrics: m, Cells: cm, Panels: []figures.Panel{{
		Title: "second-flash response / first-flash response", XLabel: "interval between flash onsets (ms)", YLabel: "ratio",
		Series: withMarkers(cellSeries(intervals, ratios, act, "", "")),
	}}}, nil
}

// OmittedStimulusExperiment is the omitted-stimulus response (Schwartz et al. 2007): trains of 8
// full-field flashes (2 frames of −2) every 6, 8, 10, 12, 16 or 20 frames (at 100 Hz) that
// stop; the retina responds where the next flash should have come, at a latency after the
// omitted flash that stays the same whatever the period.
//
// Metrics, per cell and period: the time of the response's peak between the end of the last
// flash and 0.3 s after the omitted one (osrPeakTime: the centre of the half-maximum lobe around
// the largest rate, so that a flat top is timed at its middle, not at whichever end round-off
// favours), that time after the last flash's onset and after the omitted flash's time, and
// osr_ratio, the largest rate − baseline within 0.3 s after the omitted flash's time over the
// mean peak response to the last four flashes (the reference's ratio). lock_slope is the
// Theil–Sen slope (the median of the slopes between every two periods; Sen 1968) of the peak's
// time after the last flash against the period (1: the peak is locked to the omitted flash, 0:
// to the last flash); latency_ms and latency_sd_ms the mean and SD over periods of its time
// after the omitted flash; osr_ratio the median over periods. All medians over responding cells.
//
// Why these two measures (issue 19, session 9). Schwartz et al. 2007 define the lock by the
// latency after the omitted flash being constant for every period tested; the battery's earlier
// measure — the argmax of the rate, one least-squares slope over the six periods — could be met
// by one period: a cell that follows the last flash at periods 6–16 frames and, at 20 frames,
// has a flat plateau whose argmax falls at its far end got a slope of 0.65 and passed
// (docs/validation.md, "The omitted-stimulus lock (session 9)"). A plateau has no peak time of
// its own, so it is timed at the centre of its half-maximum lobe; and the median of pairwise
// slopes needs the lock in most pairs of periods (it ignores up to 29 % of outlying points),
// where a least-squares slope can be carried by one. The rule "the latency after the omitted
// flash varies less than the latency after the last flash" was not taken: since the two differ
// by the period, it is the same as a (least-squares) slope above 0.5, and adds nothing.
//
// Criterion: an OSR (osr_ratio ≥ 0.3) locked to the omitted flash (0.6 ≤ lock_slope ≤ 1.4) —
// an LN model's "OSR" is its response to the end of the train, locked to the last flash — and
// locked beyond the responder's LN surrogate: lock_slope ≥ surrogate lock_slope + 0.4.
func OmittedStimulusExperiment() Experiment {
	return Experiment{
		Name:        "omitted_stimulus",
		Description: "Eight 2-frame flashes of −2 every 6–20 frames, then grey; the response after the omitted ninth flash and its latency against the period.",
		Criterion:   "osr_ratio ≥ 0.3, 0.6 ≤ lock_slope ≤ 1.4 (peak locked to the omitted flash: median slope over pairs of periods, plateaus timed at their centre), and lock_slope ≥ LN surrogate's + 0.4",
		Role:        RolePhenomenon,
		run:         runOmitted,
		shows: func(m Metrics) bool {
			return all(m["osr_ratio"] >= 0.3, m["lock_slope"] >= 0.6, m["lock_slope"] <= 1.4)
		},
		beyond: func(m, s Metrics) bool {
			return all(m["lock_slope"] >= s["lock_slope"]+0.4)
		},
	}
}

func runOmitted(r Responder, _ uint64) (*Outcome, error) {
	g := geometryOf(r)
	pre, post := g.frames(0.5), g.frames(0.6)
	flash, n := max(1, g.frames(0.02)), 8
	var stims []datasets.Movie
	var periods []int
	for _, p := range []int{6, 8, 10, 12, 16, 20} { // flash periods in frames at 100 Hz
		period := max(flash+1, int(math.Round(float64(p)*g.rate/100)))
		periods = append(periods, period)
		stims = append(stims, stimuli.FlashTrain(g.h, g.w, pre, flash, period, n, post, -2))
	}
	tr, err := runTrials(r, stims...)
	if err != nil {
		return nil, err
	}
	act := active(concatCells(tr...))
	nc := len(tr[0])
	win := g.frames(0.3)
	periodMS := make([]float64, len(periods))
	for i, p := range periods {
		periodMS[i] = g.ms(float64(p))
	}
	ratio, lat, latSD, lock := make([]float64, nc), make([]float64, nc), make([]float64, nc), make([]float64, nc)
	afterLast := make([][]float64, nc)
	for c := 0; c < nc; c++ {
		var rs, ls []float64
		afterLast[c] = make([]float64, len(periods))
		for i, period := range periods {
			y := tr[i][c]
			base := measures.Mean(measures.Span(y, pre-g.frames(0.1), pre))
			last, omit := pre+(n-1)*period, pre+n*period
			var peaks []float64
			for k := n - 4; k < n; k++ {
				p, _ := measures.MaxExcess(y, pre+k*period, pre+(k+1)*period, base)
				peaks = append(peaks, p)
			}
			osr, _ := measures.MaxExcess(y, omit, omit+win, base)
			at := osrPeakTime(y, last+flash, omit+win, base)
			afterLast[c][i] = g.ms(at - float64(last))
			ls = append(ls, g.ms(at-float64(omit)))
			if measures.Mean(peaks) > 0 {
				rs = append(rs, osr/measures.Mean(peaks))
			}
		}
		ratio[c] = measures.Median(rs)
		var timed []float64 // the periods with a response to time
		for _, l := range ls {
			if !math.IsNaN(l) {
				timed = append(timed, l)
			}
		}
		lat[c] = measures.Mean(timed)
		latSD[c] = math.Sqrt(variance(timed))
		lock[c] = medianSlope(periodMS, afterLast[c])
	}
	m := Metrics{"osr_ratio": medianActive(ratio, act), "latency_ms": medianActive(lat, act), "latency_sd_ms": medianActive(latSD, act),
		"lock_slope": medianActive(lock, act), "n_cells": nCells(lock, act)}
	x := g.times(len(tr[1][0]), pre+n*periods[1])
	cm := cellMetrics(act, map[string][]float64{"osr_ratio": ratio, "latency_ms": lat, "latency_sd_ms": latSD, "lock_slope": lock}, nil)
	return &Outcome{Metrics: m, Cells: cm, Panels: []figures.Panel{
		{Title: fmt.Sprintf("rate, flashes every %d frames; the omitted flash was due at 0 ms", periods[1]), XLabel: "time (ms)", YLabel: "rate (Hz)",
			Series: cellSeries(x, tr[1], act, "", "")},
		{Title: "peak time after the last flash against the period (slope 1: locked to the omitted flash)", XLabel: "flash period (ms)", YLabel: "peak after last flash (ms)",
			Series: withMarkers(cellSeries(periodMS, afterLast, act, "", ""))},
	}}, nil
}

// osrPeakTime is the time (in frames, fractional) of the peak of y within frames [from, to):
// the centre of mass, over the lobe of consecutive frames around the largest y − baseline in
// which y − baseline stays at or above half that maximum, of the excess over the half-maximum
// level. For a single peak it is near the argmax; for a flat top (a plateau) it is the
// plateau's middle, where the argmax would be wherever the plateau happens to be highest by a
// fraction of a hertz. NaN when the window is empty or the maximum is not above baseline
// (no response to time).
func osrPeakTime(y []float64, from, to int, baseline float64) float64 {
	peak, at := measures.MaxExcess(y, from, to, baseline)
	if at < 0 || !(peak > 0) {
		return math.NaN()
	}
	half := peak / 2
	lo, hi := at, at // the lobe is frames [lo, hi]
	for lo-1 >= max(from, 0) && y[lo-1]-baseline >= half {
		lo--
	}
	for hi+1 < min(to, len(y)) && y[hi+1]-baseline >= half {
		hi++
	}
	var w, wt float64
	for t := lo; t <= hi; t++ {
		e := y[t] - baseline - half
		w += e
		wt += e * float64(t)
	}
	if !(w > 0) { // a lobe exactly at half maximum: the peak frame
		return float64(at)
	}
	return wt / w
}

// medianSlope is the Theil–Sen estimate (Sen 1968) of the slope of y against x: the median of
// (y_j − y_i)/(x_j − x_i) over the pairs i < j with x_i ≠ x_j and neither y NaN (NaN with
// fewer than 3 finite points). Its breakdown point is 29 %: unlike a least-squares slope, one
// outlying period of six cannot carry it.
func medianSlope(x, y []float64) float64 {
	xs, ys := finitePairs(x, y)
	if len(xs) < 3 {
		return math.NaN()
	}
	var slopes []float64
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			if xs[j] != xs[i] {
				slopes = append(slopes, (ys[j]-ys[i])/(xs[j]-xs[i]))
			}
		}
	}
	return measures.Median(slopes)
}

// LatencyEncodingExperiment is the latency of the response to 2-frame full-field flashes of intensity
// 0 … −3 in 21 steps (the reference's values).
//
// Metrics: per flash and cell, the latency of the reference: the centre of mass of the
// response more than 3 Hz above baseline within 0–150 ms of the flash (the reference's window:
// a longer one takes in the rebound); latency_weak_ms and
// latency_strong_ms are the medians (over responding cells) at −1.05 (the step nearest −1) and −3, slope_ms_per_unit
// the median least-squares slope of latency against flash strength |intensity| over the
// flashes each cell responds to; shift_ms is latency_weak_ms − latency_strong_ms.
//
// Criterion (latency coding: Gollisch & Meister 2008; stronger flashes, shorter latency): latency
// falls with intensity (slope_ms_per_unit < 0, shift_ms > 0), and by more than the responder's
// LN surrogate's, whose threshold alone shortens the latency of stronger flashes: shift_ms ≥
// surrogate shift_ms + 5.
func LatencyEncodingExperiment() Experiment {
	return Experiment{
		Name:        "latency_encoding",
		Description: "2-frame full-field flashes of 0 … −3 (21 steps); response latency (0–150 ms) against flash intensity.",
		Criterion:   "slope_ms_per_unit < 0, shift_ms > 0, and shift_ms ≥ LN surrogate's shift_ms + 5",
		Role:        RolePhenomenon,
		run:         runLatency,
		shows: func(m Metrics) bool {
			return all(m["slope_ms_per_unit"] < 0, m["shift_ms"] > 0)
		},
		beyond: func(m, s Metrics) bool {
			return all(m["shift_ms"] >= s["shift_ms"]+5)
		},
	}
}

func runLatency(r Responder, _ uint64) (*Outcome, error) {
	g := geometryOf(r)
	pre, post := g.frames(0.3), g.frames(0.5)
	flash := max(1, g.frames(0.02))
	var levels []float64
	var stims []datasets.Movie
	for k := 0; k <= 20; k++ {
		v := -3 * float64(k) / 20
		levels = append(levels, v)
		stims = append(stims, stimuli.Flash(g.h, g.w, pre, flash, post, float32(v)))
	}
	tr, err := runTrials(r, stims...)
	if err != nil {
		return nil, err
	}
	act := active(concatCells(tr...))
	n := len(tr[0])
	win := g.frames(0.15)
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
			base := measures.Mean(measures.Span(y, pre-g.frames(0.1), pre))
			lat[c][i] = measures.Latency(y, pre, win, base, 3, g.rate)
		}
		weak[c], strong[c] = lat[c][len(levels)/3], lat[c][len(levels)-1]
		slope[c] = fitSlope(strength, lat[c])
	}
	m := Metrics{
		"latency_weak_ms":   medianActive(weak, act),
		"latency_strong_ms": medianActive(strong, act),
		"slope_ms_per_unit": medianActive(slope, act),
		"n_cells":           nCells(slope, act),
	}
	shift := make([]float64, n)
	for c := range shift {
		shift[c] = weak[c] - strong[c]
	}
	m["shift_ms"] = medianActive(shift, act)
	cm := cellMetrics(act, map[string][]float64{"latency_weak_ms": weak, "latency_strong_ms": strong, "slope_ms_per_unit": slope, "shift_ms": shift}, nil)
	return &Outcome{Metrics: m, Cells: cm, Panels: []figures.Panel{{
		Title: "latency of the response (centre of mass > 3 Hz above baseline, 0–150 ms)", XLabel: "flash intensity", YLabel: "latency (ms)",
		Series: withMarkers(cellSeries(levels, lat, act, "", "")),
	}}}, nil
}

// fitSlope is the least-squares slope of y against x over the pairs where y is not NaN (NaN
// with fewer than 3 such pairs).
func fitSlope(x, y []float64) float64 {
	xs, ys := finitePairs(x, y)
	if len(xs) < 3 {
		return math.NaN()
	}
	return measures.Slope(xs, ys)
}

// finitePairs keeps the pairs (x_i, y_i) whose y is not NaN: a period or intensity whose
// response had no peak is left out of a slope, not counted as zero.
func finitePairs(x, y []float64) (xs, ys []float64) {
	for i := range x {
		if !math.IsNaN(y[i]) {
			xs, ys = append(xs, x[i]), append(ys, y[i])
		}
	}
	return xs, ys
}

func withMarkers(s []figures.Series) []figures.Series {
	for i := range s {
		s[i].Mode = "lines+markers"
	}
	return s
}
