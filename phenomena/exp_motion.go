package phenomena

import (
	"fmt"
	"math"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/phenomena/measures"
	"github.com/deepretina/deepretina/phenomena/stimln"
	"github.com/deepretina/deepretina/phenomena/stimuli"
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
// directions, in µm (positive: the response leads the bar); ln_lead_um the same of the cell's
// LN model identified on the flashed bars (flashLNLead); lag_um is the lag a pure delay of the
// cell's flash-response latency would give (speed × latency), for comparison.
//
// Criterion (motion anticipation by gain control: Berry et al. 1999, who found the moving bar's
// response ahead of the linear prediction from the flashed bar's): lead_um > 0 (a cell that
// only lagged by its latency would give −lag_um), and by half a pixel beyond the cell's own LN
// model (a biphasic filter alone leads a moving bar): lead_um ≥ ln_lead_um + pixel_um/2. The
// white-noise surrogate, whose lead changed with its noise seed, is not the reference.
func MotionAnticipationExperiment() Experiment {
	return Experiment{
		Name:        "motion_anticipation",
		Description: "A 2-px bar drifting at 0.44 mm/s both ways, and flashed at every column; where the moving-bar response peaks relative to the receptive-field centre, against the cell's LN model identified on the flashes.",
		Criterion:   "lead_um > 0 and lead_um ≥ ln_lead_um (the cell's LN model from the flashed bars) + half a pixel",
		Role:        RolePhenomenon,
		run:         runAnticipation,
		shows: func(m Metrics) bool {
			return all(m["lead_um"] > 0)
		},
		beyond: func(m, _ Metrics) bool {
			return all(m["lead_um"] >= m["ln_lead_um"]+m["pixel_um"]/2)
		},
	}
}

func runAnticipation(r Responder, _ uint64) (*Outcome, error) {
	g := geometryOf(r)
	speed := 8 / g.rate // px per frame
	pre, flash, post := g.frames(0.3), g.frames(0.05), g.frames(0.45)
	polarities := []float32{-1, 1}
	var positions []float64
	for x := 0; x < g.w; x++ {
		positions = append(positions, float64(x))
	}
	lo, hi := -motionBarWidth, float64(g.w-1)+motionBarWidth
	dirs := []barSweep{{lo, hi, 1}, {hi, lo, -1}}
	stims, paths, err := anticipationStimuli(g, pre, flash, post, speed, positions, polarities, dirs)
	if err != nil {
		return nil, err
	}
	tr, err := runTrials(r, stims...)
	if err != nil {
		return nil, err
	}
	act := active(concatCells(tr...))
	n := len(tr[0])
	nPos := len(positions)
	win := g.frames(0.3)
	lead, lag, lnLead := make([]float64, n), make([]float64, n), make([]float64, n)
	xs := make([][][]float64, len(stims)) // each stimulus in the bar's coordinates
	for i, st := range stims {
		xs[i] = stimln.Lagged(stimln.ColumnSignals(st), cosineBasis(g.filterLags(), surrogateBases))
	}
	profiles, moving := make([][]float64, n), make([][]float64, n)
	var movingX []float64
	for c := 0; c < n; c++ {
		lead[c], lag[c], lnLead[c] = math.NaN(), math.NaN(), math.NaN()
		best, bestP := 0.0, -1
		prof := make([][]float64, len(polarities))
		lats := make([][]float64, len(polarities))
		for pi := range polarities {
			prof[pi], lats[pi] = make([]float64, nPos), make([]float64, nPos)
			for xi := range positions {
				y := tr[pi*nPos+xi][c]
				base := measures.Mean(measures.Span(y, pre-g.frames(0.1), pre))
				e, at := measures.MaxExcess(y, pre, pre+win, base)
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
		rf := measures.PeakCentroid(positions, prof[bestP], 0)
		k := measures.ArgmaxAbs(prof[bestP])
		lag[c] = 8 * lats[bestP][k] / 1000 * g.px // speed (px/s) × latency (s) × µm/px
		var leads []float64
		for di, d := range dirs {
			y := tr[len(polarities)*nPos+bestP*len(dirs)+di][c]
			base := measures.Mean(measures.Span(y, pre-g.frames(0.1), pre))
			path := paths[bestP*len(dirs)+di]
			resp := measures.Span(y, pre, pre+len(path))
			leads = append(leads, measures.AnticipationLead(rf, path, resp, base, d.sign))
			if di == 0 {
				moving[c] = resp
				movingX = path
			}
		}
		lead[c] = measures.Mean(leads) * g.px
		if lnLead[c], err = flashLNLead(g, xs, tr, c, nPos, bestP, pre, rf, paths[bestP*len(dirs):], dirs); err != nil {
			return nil, fmt.Errorf("cell %d: %w", c, err)
		}
	}
	m := Metrics{"lead_um": medianActive(lead, act), "ln_lead_um": medianActive(lnLead, act), "lag_um": medianActive(lag, act), "pixel_um": g.px, "n_cells": nCells(lead, act)}
	cm := cellMetrics(act, map[string][]float64{"lead_um": lead, "ln_lead_um": lnLead, "lag_um": lag}, Metrics{"pixel_um": g.px})
	return &Outcome{Metrics: m, Cells: cm, Panels: anticipationPanels(act, positions, profiles, movingX, moving)}, nil
}

// flashLNLead is cell c's lead (µm) predicted by its LN model identified on the flashed bars of
// both polarities (trials 0 … 2·nPos − 1, regressors xs), for the sweeps of polarity bestP:
// Berry et al. (1999) predicted the moving bar's response from the flashed bar's in the same
// way, and the moving bar's response led that prediction.
func flashLNLead(g geometry, xs [][][]float64, tr [][][]float64, c, nPos, bestP, pre int, rf float64, paths [][]float64, dirs []barSweep) (float64, error) {
	fit := make([]stimln.Trial, 2*nPos)
	for i := range fit {
		fit[i] = stimln.Trial{X: xs[i], Y: tr[i][c]}
	}
	sweeps := xs[2*nPos+bestP*len(dirs) : 2*nPos+(bestP+1)*len(dirs)]
	pred, err := stimln.FitPredict(fit, sweeps)
	if err != nil {
		return math.NaN(), err
	}
	var leads []float64
	for di, d := range dirs {
		base := measures.Mean(measures.Span(pred[di], pre-g.frames(0.1), pre))
		resp := measures.Span(pred[di], pre, pre+len(paths[di]))
		leads = append(leads, measures.AnticipationLead(rf, paths[di], resp, base, d.sign))
	}
	return measures.Mean(leads) * g.px, nil
}

// barSweep is a bar's run across the field, from x0 to x1 (sign +1 rightward, −1 leftward).
type barSweep struct{ x0, x1, sign float64 }

// anticipationStimuli returns the motion-anticipation stimuli: a bar flashed at each position
// for each polarity, then the bar swept in each direction for each polarity, with the sweeps'
// bar positions per frame.
func anticipationStimuli(g geometry, pre, flash, post int, speed float64, positions []float64, polarities []float32, dirs []barSweep) (stims []datasets.Movie, paths [][]float64, err error) {
	for _, p := range polarities {
		for _, x := range positions {
			stims = append(stims, stimuli.Bar(g.h, g.w, pre, flash, post, x, motionBarWidth, p))
		}
	}
	for _, p := range polarities {
		for _, d := range dirs {
			m, err := stimuli.Concat(stimuli.Grey(pre, g.h, g.w), stimuli.DriftingBar(g.h, g.w, d.x0, d.x1, speed, motionBarWidth, p, post))
			if err != nil {
				return nil, nil, err
			}
			stims = append(stims, m)
			paths = append(paths, stimuli.BarPositions(d.x0, d.x1, speed))
		}
	}
	return stims, paths, nil
}

// anticipationPanels draws each responding cell's peak response to the flashed bar by position
// and its response to the rightward bar by the bar's position.
func anticipationPanels(act []bool, positions []float64, profiles [][]float64, movingX []float64, moving [][]float64) []figures.Panel {
	var flashS, moveS []figures.Series
	for c := range act {
		if !act[c] {
			continue
		}
		name := cellName(c)
		flashS = append(flashS, figures.Series{Name: name, Group: name, X: positions, Y: profiles[c], Mode: "lines+markers"})
		moveS = append(moveS, figures.Series{Name: name, Group: name, X: movingX, Y: moving[c]})
	}
	return []figures.Panel{
		{Title: "peak response to the flashed bar", XLabel: "bar position (px)", YLabel: "Δ rate (Hz)", Series: flashS},
		{Title: "response to the bar moving right, at the bar's position", XLabel: "bar position (px)", YLabel: "rate (Hz)", Series: moveS},
	}
}

// MotionReversalExperiment is the motion-reversal response (Schwartz et al. 2007): a dark
// 2-pixel bar moves at 14 px/s (the reference figure's 0.14 px per frame) from the left edge
// and reverses at one of several positions across the field (every 3 pixels); a control bar
// continues through. Ganglion cells fire a synchronous burst after the reversal. Each cell is
// read at the reversals within 2 pixels of its receptive-field centre (mapped with white noise,
// ReceptiveFieldCentres), so that the cell, not the bar's position, sets the alignment, as in
// the reference's newer figure.
//
// Metrics (medians over responding cells): per cell, the largest rate − baseline within 0.4 s
// after each of its reversals, and in the continuing trial within the same windows (the
// continuing bar passes the same position at the same time); burst_ratio, the mean of the first
// over the mean of the second per cell; reversal_peak_hz and continuing_peak_hz.
//
// Criterion: a burst after the reversal beyond the continuing bar's response (burst_ratio ≥
// 1.5), and beyond the responder's LN surrogate's, which answers the returning bar too:
// burst_ratio ≥ 1.3 × surrogate burst_ratio.
func MotionReversalExperiment() Experiment {
	return Experiment{
		Name:        "motion_reversal",
		Description: "A dark 2-px bar reversing at positions across the field, against a bar that continues; each cell read at the reversals near its receptive field.",
		Criterion:   "burst_ratio ≥ 1.5 and burst_ratio ≥ 1.3 × LN surrogate's (a burst after the reversal)",
		Role:        RolePhenomenon,
		Stochastic:  true,
		run:         runMotionReversal,
		shows: func(m Metrics) bool {
			return all(m["burst_ratio"] >= 1.5)
		},
		beyond: func(m, s Metrics) bool {
			return all(m["burst_ratio"] >= 1.3*s["burst_ratio"])
		},
	}
}

func runMotionReversal(r Responder, seed uint64) (*Outcome, error) {
	g := geometryOf(r)
	speed := 14 / g.rate
	pre, after := g.frames(0.3), g.frames(0.6)
	x0 := -motionBarWidth
	var turns []float64
	for x := 2.0; x <= float64(g.w)-3; x += 3 {
		turns = append(turns, x)
	}
	rfs, err := receptiveFieldCentres(r, seed)
	if err != nil {
		return nil, err
	}
	stims, turnAt, err := reversalStimuli(g, pre, after, x0, speed, turns)
	if err != nil {
		return nil, err
	}
	tr, err := runTrials(r, stims...)
	if err != nil {
		return nil, err
	}
	ct := tr[len(tr)-1]
	act := active(concatCells(tr...))
	n := len(ct)
	win := g.frames(0.4)
	rp, cp, ratio := make([]float64, n), make([]float64, n), make([]float64, n)
	nearest := make([]int, n)
	for c := 0; c < n; c++ {
		rp[c], cp[c], ratio[c], nearest[c] = math.NaN(), math.NaN(), math.NaN(), -1
		if math.IsNaN(rfs[c].X) {
			act[c] = false
			continue
		}
		base := measures.Mean(measures.Span(ct[c], pre-g.frames(0.1), pre))
		var rs, cs []float64
		bestD := math.Inf(1)
		for i, xt := range turns {
			if d := math.Abs(xt - rfs[c].X); d < bestD {
				bestD, nearest[c] = d, i
			}
			if math.Abs(xt-rfs[c].X) > 2 {
				continue
			}
			a, _ := measures.MaxExcess(tr[i][c], turnAt[i], turnAt[i]+win, base)
			b, _ := measures.MaxExcess(ct[c], turnAt[i], turnAt[i]+win, base)
			rs, cs = append(rs, math.Max(a, 0)), append(cs, math.Max(b, 0))
		}
		if len(rs) == 0 {
			act[c] = false
			continue
		}
		rp[c], cp[c] = measures.Mean(rs), measures.Mean(cs)
		ratio[c] = ratioOrNaN(rp[c], cp[c])
	}
	m := Metrics{"reversal_peak_hz": medianActive(rp, act), "continuing_peak_hz": medianActive(cp, act),
		"burst_ratio": medianActive(ratio, act), "n_cells": nCells(ratio, act)}
	cm := cellMetrics(act, map[string][]float64{"reversal_peak_hz": rp, "continuing_peak_hz": cp, "burst_ratio": ratio}, nil)
	return &Outcome{Metrics: m, Cells: cm, Panels: reversalPanels(g, act, nearest, tr, turnAt)}, nil
}

// reversalStimuli returns the motion-reversal stimuli: a dark bar from x0 reversing at each of
// turns, each after pre frames of grey, with the frame of each reversal; then the control, the
// bar continuing for as long as the longest of them.
func reversalStimuli(g geometry, pre, after int, x0, speed float64, turns []float64) (stims []datasets.Movie, turnAt []int, err error) {
	longest := 0
	for _, xt := range turns {
		rev, turn, _ := stimuli.MotionReversal(g.h, g.w, x0, xt, speed, motionBarWidth, -1, after)
		m, err := stimuli.Concat(stimuli.Grey(pre, g.h, g.w), rev)
		if err != nil {
			return nil, nil, err
		}
		stims, turnAt = append(stims, m), append(turnAt, pre+turn)
		longest = max(longest, pre+turn+after)
	}
	cont := stimuli.DriftingBar(g.h, g.w, x0, x0+speed*float64(longest), speed, motionBarWidth, -1, 0)
	contStim, err := stimuli.Concat(stimuli.Grey(pre, g.h, g.w), cont)
	if err != nil {
		return nil, nil, err
	}
	return append(stims, contStim), turnAt, nil
}

// reversalPanels draws each responding cell's rate for the reversal nearest its receptive field
// (nearest[c]) and, dotted, for the continuing bar (the last trial), both timed from the reversal.
func reversalPanels(g geometry, act []bool, nearest []int, tr [][][]float64, turnAt []int) []figures.Panel {
	ct := tr[len(tr)-1]
	var series []figures.Series
	for c := range act {
		if !act[c] || nearest[c] < 0 {
			continue
		}
		i := nearest[c]
		name := cellName(c)
		series = append(series, figures.Series{Name: name, Group: name, X: g.times(len(tr[i][c]), turnAt[i]), Y: tr[i][c]},
			figures.Series{Name: name + " (continuing)", Group: name, X: g.times(len(ct[c]), turnAt[i]), Y: ct[c], Dash: "dot"})
	}
	return []figures.Panel{{
		Title: "rate; the bar reverses near the cell's receptive field at 0 ms (dotted: it continues)", XLabel: "time (ms)", YLabel: "rate (Hz)", Series: series,
	}}
}

// ratioOrNaN is a/b, +Inf for a > 0 = b, NaN for a = b = 0.
func ratioOrNaN(a, b float64) float64 {
	switch {
	case b > 0:
		return a / b
	case a > 0:
		return math.Inf(1)
	}
	return math.NaN()
}

// ObjectMotionExperiment is object-motion sensitivity (Ölveczky et al. 2003): a square grating
// of 2-pixel bars (contrast 1) jumps by ±1 px at random (JumpPath: probability 0.5 per 10-ms
// frame for the object, 0.3 for the background, the reference's paths); inside a disc over a
// cell's receptive field it follows the same path as outside (global motion, one trial for all
// cells) or the object's path while the background follows its own (differential motion, one
// trial per receptive-field position), 4 s each, the first second discarded, on 8 independent
// pairs of paths. The disc has the reference's radius of 8 pixels at 50 pixels, scaled to the
// input but never below 5 pixels (it must cover a receptive-field centre, not the wide
// inhibitory surround); receptive fields are mapped first (ReceptiveFieldCentres).
//
// Metrics (per cell; medians over responding cells): global_hz and differential_hz, mean rates
// above grey over the 8 pairs; oms_index, max(0, global_hz) / differential_hz; ln_oms_index,
// the same of the cell's LN model in the grating's coordinates (stimln.ObjectMotion: fitted on
// the differential trials of the other pairs, 10-bin nonlinearity, its rates taken above the
// cell's own rate at grey, so that the reference does not hang on an LN model's extrapolation
// to uniform grey; docs/validation.md, "The object-motion reference (session 9)"); oms_t, the
// t statistic over the pairs of the cell's differential-minus-global response beyond its LN
// model's.
//
// Criterion (Ölveczky et al. 2003: object-motion-sensitive cells are suppressed several-fold by
// global motion): oms_index ≤ 0.5, oms_index ≤ ln_oms_index − 0.25, and oms_t ≥ 2.998
// (one-sided p < 0.01, 7 degrees of freedom). The white-noise surrogate is not the reference:
// the fine grating drives its linear filter barely above grey, so its index divided by noise.
func ObjectMotionExperiment() Experiment {
	return Experiment{
		Name:        "object_motion",
		Description: "A jittering grating; a disc over each cell's receptive field moves with the background (global) or independently (differential), on 8 pairs of paths; mean rates above grey and the OMS index, against the cell's LN model fitted on this stimulus.",
		Criterion:   "oms_index ≤ 0.5, oms_index ≤ ln_oms_index − 0.25 (the cell's LN model on this stimulus) and oms_t ≥ 2.998 over 8 pairs (global motion suppresses the response)",
		Role:        RolePhenomenon,
		Stochastic:  true,
		run:         runObjectMotion,
		shows: func(m Metrics) bool {
			return all(m["oms_index"] <= 0.5)
		},
		beyond: func(m, _ Metrics) bool {
			return all(m["oms_index"] <= m["ln_oms_index"]-0.25, m["oms_t"] >= stimln.OMSTCrit)
		},
	}
}

func runObjectMotion(r Responder, seed uint64) (*Outcome, error) {
	g := geometryOf(r)
	t, skip := g.frames(4), g.frames(1)
	gr := stimuli.Grating{Period: 2 * motionBarWidth, Contrast: 1, Square: true}
	rfs, err := receptiveFieldCentres(r, seed)
	if err != nil {
		return nil, err
	}
	// The reference's paths: 1-pixel jumps (at 100 Hz) with probability 0.5 per frame for the
	// object, 0.3 for the background; global motion moves everything on the object's path, so
	// the disc over the receptive field moves identically in both conditions.
	var centre, surround [][]float64
	for k := uint64(0); k < stimln.OMSPairs; k++ {
		centre = append(centre, stimuli.JumpPath(t, 1, math.Min(1, 0.5*100/g.rate), 1000*seed+31+2*k))
		surround = append(surround, stimuli.JumpPath(t, 1, math.Min(1, 0.3*100/g.rate), 1000*seed+32+2*k))
	}
	stims, trialOf, err := stimuli.ObjectMotionTrials(g.h, g.w, g.frames(0.5), math.Max(5, 8*g.scale()), gr, centre, surround, rfs)
	if err != nil {
		return nil, err
	}
	tr, err := runTrials(r, stims...)
	if err != nil {
		return nil, err
	}
	act := active(concatCells(tr...))
	n := len(tr[0])
	cols := map[string][]float64{"oms_index": make([]float64, n), "ln_oms_index": make([]float64, n), "oms_t": make([]float64, n), "global_hz": make([]float64, n), "differential_hz": make([]float64, n)}
	basis := cosineBasis(g.filterLags(), surrogateBases)
	var names []string
	var gBars, dBars []float64
	for c := 0; c < n; c++ {
		if trialOf[c] < 0 || !act[c] {
			act[c] = false
			continue
		}
		in := stimln.OMSInput{Grey: tr[0][c], Centre: centre, Surround: surround, Period: int(gr.Period), Skip: skip, Basis: basis}
		for k := range centre {
			in.Global, in.Differential = append(in.Global, tr[1+k][c]), append(in.Differential, tr[trialOf[c]+k][c])
		}
		o, err := stimln.ObjectMotion(in)
		if err != nil {
			return nil, fmt.Errorf("cell %d: %w", c, err)
		}
		cols["oms_index"][c], cols["ln_oms_index"][c], cols["oms_t"][c] = o.Index, o.LNIndex, o.T
		cols["global_hz"][c], cols["differential_hz"][c] = o.GlobalHz, o.DifferentialHz
		names, gBars, dBars = append(names, cellName(c)), append(gBars, o.GlobalHz), append(dBars, o.DifferentialHz)
	}
	m := Metrics{"n_cells": nCells(cols["oms_index"], act)}
	for k, v := range cols {
		m[k] = medianActive(v, act)
	}
	return &Outcome{Metrics: m, Cells: cellMetrics(act, cols, nil), Panels: []figures.Panel{{
		Title: "mean rate above grey under global and differential motion", XLabel: "cell", YLabel: "Δ mean rate (Hz)",
		Bars: []figures.BarSeries{
			{Name: "global", Categories: names, Values: gBars, Color: "#7f7f7f"},
			{Name: "differential", Categories: names, Values: dBars, Color: "#d62728"},
		},
	}}}, nil
}
