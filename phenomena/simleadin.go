package phenomena

import (
	"fmt"
	"math"
	"sync"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
)

// leadInCache holds a SimResponder's circuit state after its lead-in (LeadIn frames of grey
// from rest), simulated once and continued from by every Respond
// (simretina.Retina.RunGanglionFrom), which gives, bit for bit, what simulating the lead-in
// before every stimulus gave (TestSimResponderAdaptsOnce). It is keyed on everything the state
// depends on: the Retina (immutable, so its pointer stands for its circuit and frame size), the
// number of frames and the grey's value in the simulator's units (Norm's mean, to the bit), so a
// caller who changes a SimResponder's public fields after a Respond gets the state of the new
// ones. One state is kept: the battery asks for one. The lock makes Respond safe from several
// goroutines (a goroutine that finds the lead-in being simulated waits for it); it also makes a
// SimResponder something not to copy after first use (go vet's copylocks says so).
type leadInCache struct {
	mu    sync.Mutex
	key   leadInKey
	state *simretina.State // nil: none simulated yet
}

// leadInKey is what a lead-in's end state depends on.
type leadInKey struct {
	retina *simretina.Retina
	frames int
	grey   uint32 // math.Float32bits of the grey level
}

// adapted returns the state of ret after frames frames of the uniform grey level grey from
// rest (nil, the state at rest, for frames = 0), simulating it only when the key changed.
func (c *leadInCache) adapted(ret *simretina.Retina, frames int, grey float32) (*simretina.State, error) {
	if frames == 0 {
		return nil, nil
	}
	key := leadInKey{retina: ret, frames: frames, grey: math.Float32bits(grey)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != nil && c.key == key {
		return c.state, nil
	}
	cfg := ret.Config()
	lead := datasets.NewMovie(frames, cfg.H, cfg.W)
	for i := range lead.Data {
		lead.Data[i] = grey
	}
	_, st, err := ret.RunGanglionFrom(nil, lead, nil)
	if err != nil {
		return nil, fmt.Errorf("truth's lead-in of %d frames of grey %v: %w", frames, grey, err)
	}
	c.key, c.state = key, st
	return st, nil
}
