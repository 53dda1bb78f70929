package phenomena

import (
	"math"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
)

// Bars of the motion experiments: the reference's 2 pixels (at 50 pixels, never below 2).
const motionBarWidth = 2.0

// MotionAnticipationExperiment is motion anticipation (Berry et al. 1999): a 2-pixel bar moving
// at 8 px/s (0.08 px per 10-ms frame, 0.44 mm/s at 55 µm pixels, the reference's speed) across
// the field in both directions, and the same bar flashed for 50 ms at every column. Dark and
// bright bars are shown; each cell is measured with the polarity it responds to more.
//
// Metrics: per cell the receptive-field centre (PeakCentroid of the flash responses over
// position) and, per direction, the bar position at which the moving-bar response peaks;
// lead_um is the median over responding cells of AnticipationLead averaged over the two
// directions, in µm (positive: the response leads the bar); lag_um is the lag a pure delay of
// the cell's flash-response latency would give (speed × latency), for comparison.
//
// Criterion: the response to the moving bar leads the bar, as in the retina and the simulated
// retina: lead_um > 0 (a cell that only lagged by its latency would give −lag_um).
func MotionAnticipationExperiment() Experiment {
	return Experiment{
		Name:        "motion_anticipation",
		Description: "A 2-px bar drifting at 0.44 mm/s both ways, and flashed at every column; where the moving-bar response peaks relative to the receptive-field centre.",
		Criterion:   "lead_um > 0 (the moving-bar response peaks before the bar reaches the receptive-field centre, despite the latency)",
		run:         runAnticipation,
		reproduced: func(m, _ Metrics) bool {
			return all(m["lead_um"] > 0)
		},
	}
}

func runAnticipation(r Responder) (*Outcome, error) {
	g := geometryOf(r)
	speed := 8 / g.rate // px per frame
	pre, flash, post := g.frames(0.3), g.frames(0.05), g.frames(0.45)
	polarities := []float32{-1, 1}
	var positions []float64
	for x := 0; x < g.w; x++ {
		positions = append(positions, float64(x))
	}
	var stims []datasets.Movie
	for _, p := range polarities {
		for _, x := range positions {
			stims = append(stims, Bar(g.h, g.w, pre, flash, post, x, motionBarWidth, p))
		}
	}
	lo, hi := -motionBarWidth, float64(g.w-1)+motionBarWidth
	dirs := []struct {
		x0, x1, sign float64
	}{{lo, hi, 1}, {hi, lo, -1}}
	var paths [][]float64
	for _, p := range polarities {
		for _, d := range dirs {
			m, err := Concat(Grey(pre, g.h, g.w), DriftingBar(g.h, g.w, d.x0, d.x1, speed, motionBarWidth, p, post))
			if err != nil {
				return nil, err
			}
			stims = append(stims, m)
			paths = append(paths, BarPositions(d.x0, d.x1, speed))
		}
	}
	tr, err := runTrials(r, stims...)
	if err != nil {
		return nil, err
	}
	act := active(concatCells(tr...))
	n := len(tr[0])
	nPos := len(positions)
	win := g.frames(0.3)
	lead, lag := make([]float64, n), make([]float64, n)
	profiles, moving := make([][]float64, n), make([][]float64, n)
	var movingX []float64
	for c := 0; c < n; c++ {
		lead[c], lag[c] = math.NaN(), math.NaN()
		best, bestP := 0.0, -1
		prof := make([][]float64, len(polarities))
		lats := make([][]float64, len(polarities))
		for pi := range polarities {
			prof[pi], lats[pi] = make([]float64, nPos), make([]float64, nPos)
			for xi := range positions {
				y := tr[pi*nPos+xi][c]
				base := mean(span(y, pre-g.frames(0.1), pre))
				e, at := maxExcess(y, pre, pre+win, base)
				prof[pi][xi], lats[pi][xi] = math.Max(e, 0), g.ms(float64(at-pre))
				if e > best {
					best, bestP = e, pi
				}
			}
		}
		if bestP < 0 || !act[c] {
			act[c] = false
			continue
		}
		profiles[c] = prof[bestP]
		rf := PeakCentroid(positions, prof[bestP], 0)
		k := argmaxAbs(prof[bestP])
		lag[c] = 8 * lats[bestP][k] / 1000 * g.px // speed (px/s) × latency (s) × µm/px
		var leads []float64
		for di, d := range dirs {
			y := tr[len(polarities)*nPos+bestP*len(dirs)+di][c]
			base := mean(span(y, pre-g.frames(0.1), pre))
			path := paths[bestP*len(dirs)+di]
			resp := span(y, pre, pre+len(path))
			leads = append(leads, AnticipationLead(rf, path, resp, base, d.sign))
			if di == 0 {
				moving[c] = resp
				movingX = path
			}
		}
		lead[c] = mean(leads) * g.px
	}
	m := Metrics{"lead_um": medianActive(lead, act), "lag_um": medianActive(lag, act)}
	var flashS, moveS []figures.Series
	for c := 0; c < n; c++ {
		if !act[c] {
			continue
		}
		name := cellName(c)
		flashS = append(flashS, figures.Series{Name: name, Group: name, X: positions, Y: profiles[c], Mode: "lines+markers"})
		moveS = append(moveS, figures.Series{Name: name, Group: name, X: movingX, Y: moving[c]})
	}
	return &Outcome{Metrics: m, Panels: []figures.Panel{
		{Title: "peak response to the flashed bar", XLabel: "bar position (px)", YLabel: "Δ rate (Hz)", Series: flashS},
		{Title: "response to the bar moving right, at the bar's position", XLabel: "bar position (px)", YLabel: "rate (Hz)", Series: moveS},
	}}, nil
}

// MotionReversalExperiment is the motion-reversal response (Schwartz et al. 2007): a dark
// 2-pixel bar moves at 14 px/s (the reference figure's 0.14 px per frame) from the left edge
// to the field centre and reverses; a control bar continues through. Ganglion cells fire a
// synchronous burst after the reversal.
//
// Metrics (over responding cells): reversal_peak_hz and continuing_peak_hz, the medians of the
// largest rate − baseline within 0.4 s after the reversal time in the two conditions;
// burst_ratio, the mean of the first over the mean of the second.
//
// Criterion: with a ground truth, burst_ratio within a factor 1.5 of the truth's (the simulated
// retina's adapting subunits mostly answer a reversal no more than a passing bar: 0.7–1 for
// most seeds); without one, the reversal evokes more than the continuing bar: burst_ratio > 1.2.
func MotionReversalExperiment() Experiment {
	return Experiment{
		Name:        "motion_reversal",
		Description: "A dark 2-px bar moving to the field centre and reversing, against a bar that continues; rate around the reversal.",
		Criterion:   "burst_ratio within a factor 1.5 of the truth's; without a truth, burst_ratio > 1.2 (a burst after the reversal beyond the continuing bar's response)",
		run:         runMotionReversal,
		reproduced: func(m, truth Metrics) bool {
			if truth == nil {
				return all(m["burst_ratio"] > 1.2)
			}
			return all(math.Abs(math.Log(m["burst_ratio"]/truth["burst_ratio"])) <= math.Log(1.5))
		},
	}
}

func runMotionReversal(r Responder) (*Outcome, error) {
	g := geometryOf(r)
	speed := 14 / g.rate
	pre, after := g.frames(0.3), g.frames(0.6)
	x0 := -motionBarWidth
	rev, turn, _ := MotionReversal(g.h, g.w, x0, g.centreX(), speed, motionBarWidth, -1, after)
	cont := DriftingBar(g.h, g.w, x0, x0+speed*float64(rev.T-1), speed, motionBarWidth, -1, 0)
	revStim, err := Concat(Grey(pre, g.h, g.w), rev)
	if err != nil {
		return nil, err
	}
	contStim, err := Concat(Grey(pre, g.h, g.w), cont)
	if err != nil {
		return nil, err
	}
	tr, err := runTrials(r, revStim, contStim)
	if err != nil {
		return nil, err
	}
	act := active(concatCells(tr...))
	n := len(tr[0])
	t0, win := pre+turn, g.frames(0.4)
	rp, cp := make([]float64, n), make([]float64, n)
	var rs, cs []float64
	for c := 0; c < n; c++ {
		base := mean(span(tr[0][c], pre-g.frames(0.1), pre))
		rp[c], _ = maxExcess(tr[0][c], t0, t0+win, base)
		cp[c], _ = maxExcess(tr[1][c], t0, t0+win, base)
		rp[c], cp[c] = math.Max(rp[c], 0), math.Max(cp[c], 0)
		if act[c] {
			rs, cs = append(rs, rp[c]), append(cs, cp[c])
		}
	}
	m := Metrics{"reversal_peak_hz": medianActive(rp, act), "continuing_peak_hz": medianActive(cp, act), "burst_ratio": mean(rs) / mean(cs)}
	x := g.times(len(tr[0][0]), t0)
	series := append(cellSeries(x, tr[0], act, "", ""), cellSeries(x, tr[1], act, " (continuing)", "dot")...)
	return &Outcome{Metrics: m, Panels: []figures.Panel{{
		Title: "rate; the bar reverses at 0 ms (dotted: it continues)", XLabel: "time (ms)", YLabel: "rate (Hz)", Series: series,
	}}}, nil
}

// ObjectMotionExperiment is object-motion sensitivity (Ölveczky et al. 2003): a square grating
// of 2-pixel bars (contrast 1) jitters by ±0.5 px per frame (the reference's object speed);
// inside a disc over a cell's receptive field it follows the same path as outside (global
// motion, one trial for all cells) or an independent path of the same statistics (differential
// motion, one trial per receptive-field position), 6 s each, the first second discarded. The
// disc has the reference's radius of 8 pixels at 50 pixels, scaled to the input but never
// below 5 pixels (it must cover a receptive-field centre, not the wide inhibitory surround);
// receptive fields are mapped first (ReceptiveFieldCentres).
//
// Metrics: oms_index, the median over responding cells of mean rate under global motion over
// mean rate under differential motion of the disc on its receptive field (OMSIndex);
// global_hz and differential_hz, the median mean rates.
//
// Criterion: cells prefer differential motion: oms_index < 1.
func ObjectMotionExperiment() Experiment {
	return Experiment{
		Name:        "object_motion",
		Description: "A jittering grating; a disc over each cell's receptive field moves with the background (global) or independently (differential); mean rates and the OMS index.",
		Criterion:   "oms_index < 1 (differential motion drives the cells more than global motion)",
		run:         runObjectMotion,
		reproduced: func(m, _ Metrics) bool {
			return all(m["oms_index"] < 1)
		},
	}
}

func runObjectMotion(r Responder) (*Outcome, error) {
	g := geometryOf(r)
	t, skip := g.frames(6), g.frames(1)
	step := 0.5 * 100 / g.rate
	radius := math.Max(5, 8*g.scale())
	gr := Grating{Period: 2 * motionBarWidth, Contrast: 1, Square: true}
	centre, surround := JitterPath(t, step, 31), JitterPath(t, step, 32)
	rfs, err := ReceptiveFieldCentres(r)
	if err != nil {
		return nil, err
	}
	// One differential trial per receptive-field position (rounded to half a pixel).
	stims := []datasets.Movie{JitteredCircle(g.h, g.w, radius, gr, centre)}
	trialOf := make([]int, len(rfs))
	seen := map[Point]int{}
	for c, p := range rfs {
		trialOf[c] = -1
		if math.IsNaN(p.X) || math.IsNaN(p.Y) {
			continue
		}
		p = Point{math.Round(2*p.Y) / 2, math.Round(2*p.X) / 2}
		k, ok := seen[p]
		if !ok {
			m, err := DifferentialCircleAt(g.h, g.w, radius, p, gr, centre, surround)
			if err != nil {
				return nil, err
			}
			stims = append(stims, m)
			k = len(stims) - 1
			seen[p] = k
		}
		trialOf[c] = k
	}
	tr, err := runTrials(r, stims...)
	if err != nil {
		return nil, err
	}
	act := active(concatCells(tr...))
	n := len(tr[0])
	idx, gl, df := make([]float64, n), make([]float64, n), make([]float64, n)
	var names []string
	var gBars, dBars []float64
	for c := 0; c < n; c++ {
		if trialOf[c] < 0 {
			act[c] = false
			continue
		}
		glob, diff := span(tr[0][c], skip, t), span(tr[trialOf[c]][c], skip, t)
		gl[c], df[c], idx[c] = mean(glob), mean(diff), OMSIndex(glob, diff)
		if act[c] {
			names, gBars, dBars = append(names, cellName(c)), append(gBars, gl[c]), append(dBars, df[c])
		}
	}
	m := Metrics{"oms_index": medianActive(idx, act), "global_hz": medianActive(gl, act), "differential_hz": medianActive(df, act)}
	return &Outcome{Metrics: m, Panels: []figures.Panel{{
		Title: "mean rate under global and differential motion", XLabel: "cell", YLabel: "mean rate (Hz)",
		Bars: []figures.BarSeries{
			{Name: "global", Categories: names, Values: gBars, Color: "#7f7f7f"},
			{Name: "differential", Categories: names, Values: dBars, Color: "#d62728"},
		},
	}}}, nil
}
