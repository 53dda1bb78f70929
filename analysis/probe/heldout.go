package probe

import (
	"math"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/datasets"
)

// Held-out scoring of the interneuron comparison.
//
// Picking the best of thousands of units (layer × channel × row × column × stimulus shift) and
// reporting its r on the same samples measures, in part, the selection: with 1,440 candidates
// even units unrelated to a cell reach r ≈ 0.1 on a few thousand samples. So every recorded
// cell's series is split in time into a selection part (the first half of the rows) and a
// scoring part (the second half), separated by a gap of History rows so that no stimulus frame
// is seen by windows of both parts; the unit is chosen on the selection part and its r on the
// scoring part is the cell's held-out score.
//
// Each cell also gets a null: its potential shifted circularly in time against the stimulus
// (by a quarter, a half and three quarters of the series, each more than the History frames
// any unit's filter reaches) and pushed through the same select-then-score procedure. The
// null is the mean held-out r of the shifted copies: what selection alone reaches for that
// cell, and what a trained model's held-out r must be read against (Efron & Tibshirani's
// circular-shift surrogate keeps a series' autocorrelation while breaking its relation to the
// stimulus).

// nullShifts is the number of circularly shifted copies of each cell's potential.
const nullShifts = 3

// segment indices of segStats.
const (
	segSelect = iota // rows [0, a): where the unit is chosen
	segGap           // rows [a, a+History): between the two, seen by neither part's windows alone
	segScore         // rows [a+History, T): where the chosen unit is scored
	nSegments
)

// heldOutSplit returns the bounds of the three segments of `rows` samples with a gap of
// `history` rows: [0, a), [a, a+history), [a+history, rows). ok is false when the series is too
// short to leave at least 10 samples in each part.
func heldOutSplit(rows, history int) (bounds [nSegments + 1]int, ok bool) {
	a := (rows - history) / 2
	if a < 10 || rows-(a+history) < 10 {
		return bounds, false
	}
	return [nSegments + 1]int{0, a, a + history, rows}, true
}

// circularNullShifts returns the shifts (in samples) of a cell's series for its null: a
// quarter, a half and three quarters of the series, each kept more than `history` samples away
// from 0 (mod rows), so that the shifted potential is never aligned with the stimulus within a
// filter's reach. nil when the series is too short for that.
func circularNullShifts(rows, history int) []int {
	var out []int
	for k := 1; k <= nullShifts; k++ {
		s := rows * k / (nullShifts + 1)
		if s > history && rows-s > history {
			out = append(out, s)
		}
	}
	return out
}

// rotate returns x shifted circularly by s: out[t] = x[(t − s) mod n].
func rotate(x []float64, s int) []float64 {
	n := len(x)
	out := make([]float64, n)
	for t := range x {
		out[((t+s)%n+n)%n] = x[t]
	}
	return out
}

// segStats holds the sums over each segment of a unit's activity (deviations d from the unit's
// first sample, which keeps the variance of units with a large mean accurate) and of its
// products with each target.
type segStats struct {
	units, targets int
	n              [nSegments]float64
	sd, sdd, sabs  [][nSegments]float64 // per unit
	sdy            [][nSegments]float64 // per unit × target: Σ d·y
	sy, syy        [][nSegments]float64 // per target
}

// correlateSegments accumulates segStats of every unit with every target over the segments
// `bounds` of the rows (see heldOutSplit):
//
//	data:    [T, U] float32 (row t holds all U units at time t)
//	targets: [K][T], nil for a constant target
func correlateSegments(data []float32, T, U int, targets [][]float64, bounds [nSegments + 1]int) *segStats {
	K := len(targets)
	st := &segStats{units: U, targets: K,
		sd: make([][nSegments]float64, U), sdd: make([][nSegments]float64, U), sabs: make([][nSegments]float64, U),
		sdy: make([][nSegments]float64, U*K), sy: make([][nSegments]float64, K), syy: make([][nSegments]float64, K)}
	for s := 0; s < nSegments; s++ {
		st.n[s] = float64(bounds[s+1] - bounds[s])
		for k, y := range targets {
			if y == nil {
				continue
			}
			for t := bounds[s]; t < bounds[s+1]; t++ {
				st.sy[k][s] += y[t]
				st.syy[k][s] += y[t] * y[t]
			}
		}
	}
	if T < 2 || U == 0 {
		return st
	}
	analysis.ForUnitChunks(U, func(lo, hi int) {
		yt := make([]float64, K)
		for s := 0; s < nSegments; s++ {
			for t := bounds[s]; t < bounds[s+1]; t++ {
				row := data[t*U : (t+1)*U]
				for k, y := range targets {
					if y != nil {
						yt[k] = y[t]
					} else {
						yt[k] = 0
					}
				}
				for j := lo; j < hi; j++ {
					a := float64(row[j])
					d := a - float64(data[j])
					st.sd[j][s] += d
					st.sdd[j][s] += d * d
					st.sabs[j][s] += math.Abs(a)
					c := st.sdy[j*K : (j+1)*K]
					for k, y := range yt {
						c[k][s] += d * y
					}
				}
			}
		}
	})
	return st
}

// r is the Pearson r of unit j with target k over the segments in segs, by the reference's
// rules: a constant unit (quiet) or target, a non-finite result and r ≤ −1 score 0.
func (st *segStats) r(j, k int, segs ...int) float64 {
	var n, sd, sdd, sabs, sdy, sy, syy float64
	for _, s := range segs {
		n += st.n[s]
		sd += st.sd[j][s]
		sdd += st.sdd[j][s]
		sabs += st.sabs[j][s]
		sdy += st.sdy[j*st.targets+k][s]
		sy += st.sy[k][s]
		syy += st.syy[k][s]
	}
	if n < 2 {
		return 0
	}
	ma, my := sd/n, sy/n
	va, vy := sdd/n-ma*ma, syy/n-my*my
	if va < 0 {
		va = 0
	}
	if analysis.Quiet(sabs/n, math.Sqrt(va)) || !(vy > 0) {
		return 0
	}
	r := (sdy/n - ma*my) / math.Sqrt(va*vy)
	if math.IsNaN(r) || math.IsInf(r, 0) || r <= -1 {
		return 0
	}
	return min(r, 1)
}

// repeatedStimulus reports whether the scoring part of a stimulus shows nothing the selection
// part did not: every frame window of the scoring part's rows also occurs, identically, in the
// selection part. Then the "held-out" score is no test of generalisation: a noiseless cell
// answers a repeated stimulus identically, so the scoring part repeats the selection part's
// samples. The simulator's "flashes" group (the same ±1 flash cycle five times) is one.
// stim: [T, H, W] with T = rows + history.
func repeatedStimulus(stim datasets.Movie, history int, bounds [nSegments + 1]int) bool {
	// A periodic stimulus with a period P that fits in the selection part repeats there.
	fs := stim.FrameSize()
	same := func(t, u int) bool {
		a, b := stim.Frame(t), stim.Frame(u)
		for i := 0; i < fs; i++ {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	selFrames := bounds[segSelect+1] + history - 1 // frames seen by the selection windows
	for p := 1; p+history <= selFrames; p++ {
		periodic := true
		for t := 0; t+p < stim.T && periodic; t++ {
			periodic = same(t, t+p)
		}
		if periodic {
			return true
		}
	}
	return false
}
