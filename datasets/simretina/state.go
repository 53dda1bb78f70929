package simretina

import (
	"errors"
	"math/rand/v2"
	"slices"

	"github.com/deepretina/deepretina/datasets"
)

// State is a Retina's dynamic state between two frames: every variable the circuit carries from
// one frame to the next (each subunit's two 3+3-stage filter cascades and two local-contrast
// estimates, each amacrine's two low-pass stages, each ganglion cell's membrane low-pass) and,
// when the run that reached it drew spikes, each cell's refractory history. RunFrom continues
// from it, so that a stimulus can follow a long adaptation (e.g. seconds of grey) that is
// simulated once rather than before every stimulus.
//
// A State belongs to the Retina that made it and is immutable: RunFrom copies it before running
// and returns a new one, so one State can be continued from any number of times, from several
// goroutines at once. The zero value is not a state; a nil *State is the circuit at rest (all
// filters at 0, adapted to a long mean-grey screen; where Run starts).
type State struct {
	retina *Retina
	st     runState
	// spikeHist: [N] the decaying count of each cell's previous spikes (Spikes's relative
	// refractoriness); nil when the run that reached the state drew none, so that its spike
	// history is unknown.
	spikeHist []float64
	frames    int // frames past rest
}

// Frames is the number of frames the state is past rest (the frames of every run that led to
// it); 0 for nil, the state at rest.
func (s *State) Frames() int {
	if s == nil {
		return 0
	}
	return s.frames
}

// clone deep-copies s (nil: the rest state of r) into a state RunFrom may advance.
func (r *Retina) clone(s *State) *State {
	if s == nil {
		return &State{retina: r, st: r.restState(), spikeHist: make([]float64, len(r.cells))}
	}
	return &State{
		retina: r,
		st: runState{
			bip:  slices.Clone(s.st.bip),
			am:   slices.Clone(s.st.am),
			gang: slices.Clone(s.st.gang),
		},
		spikeHist: slices.Clone(s.spikeHist),
		frames:    s.frames,
	}
}

// RunFrom is Run continued from the state s (nil: from rest, which is Run): it returns the
// response to stim as if stim had followed, in one Run, the stimuli that led to s, and the state
// after stim's last frame. s is not changed. Spikes (rng not nil) continue the refractory
// history of the spikes drawn on the way to s, so RunFrom(s, B, rng) after the run that made s
// drew its spikes from the same rng gives the spikes of one Run of both; a state reached without
// spikes (rng nil) has no such history, and RunFrom with an rng from it is an error. A state of
// another Retina, or a stimulus Run rejects, is an error.
func (r *Retina) RunFrom(s *State, stim datasets.Movie, rng *rand.Rand) (Response, *State, error) {
	return r.runFrom(s, stim, rng, r.allBipolars(), r.allAmacrines())
}

// RunGanglionFrom is RunFrom without the interneuron matrices (Bipolar and Amacrine are empty),
// as RunGanglion is Run without them.
func (r *Retina) RunGanglionFrom(s *State, stim datasets.Movie, rng *rand.Rand) (Response, *State, error) {
	return r.runFrom(s, stim, rng, nil, nil)
}

func (r *Retina) runFrom(s *State, stim datasets.Movie, rng *rand.Rand, recB, recA []int) (Response, *State, error) {
	if err := r.checkStimulus(stim); err != nil {
		return Response{}, nil, err
	}
	if s != nil && s.retina != r {
		return Response{}, nil, errors.New("simulated retina: the state is not one this retina made (another retina's, or the zero State); continue a state only on the Retina whose run made it")
	}
	if s != nil && rng != nil && s.spikeHist == nil {
		return Response{}, nil, errors.New("simulated retina: the state was reached without drawing spikes, so its refractory history is unknown; draw spikes (an rng) on the way to it, or run on without them (rng nil)")
	}
	next := r.clone(s)
	resp := r.record(&next.st, stim, recB, recA, 0, nil)
	if rng != nil {
		resp.Spikes = r.spikesFrom(resp.Rates, rng, next.spikeHist)
	} else {
		next.spikeHist = nil
	}
	next.frames += stim.T
	return resp, next, nil
}
