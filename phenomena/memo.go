package phenomena

import (
	"fmt"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/phenomena/stimuli"
)

// Shared work and batched calls. A battery asks each responder for the same receptive-field
// maps in several experiments (motion reversal, object motion) and runs many short trials; the
// maps are computed once per responder and seed (memo), and a responder whose response depends
// only on a bounded window of past frames (a feedforward model, an LN surrogate) gets all of an
// experiment's trials in one call, separated by grey gaps as long as that window, which gives
// the same rates as one call per trial with fewer, larger model evaluations.

// windowed is a responder whose response at a frame depends on at most memoryFrames() frames
// before it (the frame included); a negative value means it keeps state (the simulated retina).
type windowed interface {
	memoryFrames() int
}

// memoryFrames implements windowed: the model sees its history window and nothing before it.
func (m ModelResponder) memoryFrames() int { return m.Model.Meta.InputShape[0] }

// memoryFrames implements windowed: the surrogate's filter spans lags frames.
func (s *LNSurrogate) memoryFrames() int { return s.lags }

// filterFrames implements filterSpanner: the surrogate's filter spans lags frames.
func (s *LNSurrogate) filterFrames() int { return s.lags }

// filterFrames implements filterSpanner for what it wraps (0: no span of its own).
func (m *memo) filterFrames() int {
	if f, ok := m.Responder.(filterSpanner); ok {
		return f.filterFrames()
	}
	return 0
}

// memo wraps a responder with the work it shares between experiments.
type memo struct {
	Responder
	rfs map[uint64][]stimuli.Point // receptive-field centres per mapping seed
}

func newMemo(r Responder) *memo {
	if m, ok := r.(*memo); ok {
		return m
	}
	return &memo{Responder: r, rfs: map[uint64][]stimuli.Point{}}
}

// memoryFrames implements windowed for what it wraps (−1: not windowed).
func (m *memo) memoryFrames() int {
	if w, ok := m.Responder.(windowed); ok {
		return w.memoryFrames()
	}
	return -1
}

// runTrials runs each stimulus on r (after a grey history) and returns the per-cell responses
// of each: one call per trial, or one call for all of them when r is windowed.
//
//	return: [trial][cell][frame of that trial]
func runTrials(r Responder, stims ...datasets.Movie) ([][][]float64, error) {
	if w, ok := r.(windowed); ok && w.memoryFrames() >= 0 && len(stims) > 1 {
		return runBatched(r, w.memoryFrames(), stims)
	}
	out := make([][][]float64, len(stims))
	for i, s := range stims {
		m, err := Run(r, s)
		if err != nil {
			return nil, err
		}
		out[i] = cellsOf(m)
	}
	return out, nil
}

// runBatched joins the trials with gap grey frames between them (gap ≥ the responder's memory,
// so that no response window spans two trials), runs them in one call and splits the rates.
func runBatched(r Responder, gap int, stims []datasets.Movie) ([][][]float64, error) {
	parts := make([]datasets.Movie, 0, 2*len(stims))
	starts := make([]int, len(stims))
	t := 0
	for i, s := range stims {
		if i > 0 {
			parts = append(parts, stimuli.Grey(gap+1, s.H, s.W))
			t += gap + 1
		}
		starts[i] = t
		parts = append(parts, s)
		t += s.T
	}
	all, err := stimuli.Concat(parts...)
	if err != nil {
		return nil, err
	}
	rates, err := Run(r, all)
	if err != nil {
		return nil, err
	}
	out := make([][][]float64, len(stims))
	for i, s := range stims {
		out[i] = make([][]float64, rates.Cols)
		for c := range out[i] {
			col := make([]float64, s.T)
			for k := range col {
				col[k] = float64(rates.Data[(starts[i]+k)*rates.Cols+c])
			}
			out[i][c] = col
		}
	}
	if len(out) > 0 && len(out[0]) == 0 {
		return nil, fmt.Errorf("responder returned no cells")
	}
	return out, nil
}
