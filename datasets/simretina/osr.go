package simretina

import (
	"fmt"
	"math"
)

// The omitted-stimulus response (OSR; Schwartz, Taylor, Fisher, Harris & Berry 2007): after a
// periodic train of flashes stops, ganglion cells fire at the time the next flash was due, at
// a latency after the omitted flash that stays the same whatever the period. Gao, Schwartz,
// Berry & Holy (2009, Network 20:106) explained it with bipolar cells that resonate at
// different frequencies: a train excites the resonators tuned to its period, which go on
// ringing at that period after the train stops, so their next peak falls where the omitted
// flash would have been; the ganglion cell pools the rectified resonators. Schwartz & Berry
// (2008, J Neurophysiol 99:1787) traced the OSR to dark flashes to the ON pathway.
//
// Here each resonator is a band-pass resonance (the impedance of a resonant membrane,
// Hutcheon & Yarom 2000) with unit gain and zero phase at its natural period, so that its
// ringing keeps the phase of the train. The resonators are driven by the fast ON bipolar
// potential pooled over the cell's centre. For full-field flashes every subunit carries the
// same signal, so this equals resonant bipolar terminals pooled after rectification; for
// patterned stimuli it is a simplification (one resonator bank per ganglion cell).

// resonator is one band-pass biquad (bilinear transform of H(s) = 2ζω s / (s² + 2ζω s + ω²)):
// y[t] = b0·(x[t] − x[t−2]) − a1·y[t−1] − a2·y[t−2], in transposed direct form II.
type resonator struct {
	b0, a1, a2 float32
}

// newResonatorBank returns the OSR resonators of p at time step dt (seconds); none when
// OSRWeight is 0. Natural periods are log-spaced over [OSRMinPeriodMS, OSRMaxPeriodMS];
// periods shorter than 3 frames, which a sampled resonator cannot represent, are left out.
func newResonatorBank(p Circuit, dt float64) []resonator {
	if p.OSRWeight == 0 {
		return nil
	}
	var bank []resonator
	k := p.OSRResonators
	for i := 0; i < k; i++ {
		period := p.OSRMinPeriodMS / 1000
		if k > 1 {
			period *= math.Pow(p.OSRMaxPeriodMS/p.OSRMinPeriodMS, float64(i)/float64(k-1))
		}
		if period < 3*dt {
			continue
		}
		bank = append(bank, bandPass(2*math.Pi*dt/period, p.OSRDamping))
	}
	return bank
}

// bandPass is the digital band-pass resonator at w0 (radians per sample) with damping ratio
// zeta (Q = 1/(2ζ)): unit gain and zero phase at w0 (the audio-EQ-cookbook band-pass filter).
func bandPass(w0, zeta float64) resonator {
	alpha := math.Sin(w0) * zeta // sin(w0)/(2Q)
	a0 := 1 + alpha
	return resonator{
		b0: float32(alpha / a0),
		a1: float32(-2 * math.Cos(w0) / a0),
		a2: float32((1 - alpha) / a0),
	}
}

// validateOSR checks the resonator parameters (only when OSRWeight > 0).
func (p Circuit) validateOSR() error {
	switch {
	case !(p.OSRDamping > 0 && p.OSRDamping < 1):
		return fmt.Errorf("Circuit.OSRDamping: expected a damping ratio in (0, 1), got %v", p.OSRDamping)
	case !(p.OSRMinPeriodMS > 0) || math.IsInf(p.OSRMinPeriodMS, 0):
		return fmt.Errorf("Circuit.OSRMinPeriodMS: expected a positive finite number, got %v", p.OSRMinPeriodMS)
	case !(p.OSRMaxPeriodMS >= p.OSRMinPeriodMS) || math.IsInf(p.OSRMaxPeriodMS, 0):
		return fmt.Errorf("Circuit.OSRMaxPeriodMS: expected a finite number ≥ OSRMinPeriodMS (%v), got %v", p.OSRMinPeriodMS, p.OSRMaxPeriodMS)
	case p.OSRResonators < 1:
		return fmt.Errorf("Circuit.OSRResonators: expected at least 1 resonator, got %d", p.OSRResonators)
	}
	return nil
}

// osrScale is the weight of each resonator's rectified output: OSRWeight divided by the number
// of resonators per octave, so that the resonators within an octave of a train's period (those
// it drives) together carry about OSRWeight, whatever the size of the bank.
func (r *Retina) osrScale() float64 {
	p := r.par
	if len(r.osr) < 2 || p.OSRMaxPeriodMS <= p.OSRMinPeriodMS {
		return p.OSRWeight
	}
	perOctave := float64(p.OSRResonators-1) / math.Log2(p.OSRMaxPeriodMS/p.OSRMinPeriodMS)
	return p.OSRWeight / math.Max(perOctave, 1)
}

// osrExcitation is the centre excitation of an ON cell whose bipolar terminals carry the ring:
// the resonator bank is stepped with the centre's pooled ON potential, and (mode 0) the scaled
// ring is added to each terminal's potential before its rectifier, or (mode 1) the rectified
// resonators are added to the excitation.
func (r *Retina) osrExcitation(g *ganglion, vt, bt, state []float32) float32 {
	p := r.par
	x := float32(0)
	for k, j := range g.exc[0] {
		if p.OSRMode == 2 {
			x += g.excW[0][k] * bt[j+1]
		} else {
			x += g.excW[0][k] * vt[(j/4)*2+(j%4)/2]
		}
	}
	w := float32(r.osrScale())
	ring, rect := float32(0), float32(0)
	for k, q := range r.osr {
		s := state[2*k : 2*k+2]
		y := q.b0*x + s[0]
		s[0] = -q.a1*y + s[1]
		s[1] = -q.b0*x - q.a2*y
		ring += y
		if y > 0 {
			rect += y
		}
	}
	th := float32(p.BipolarThresh)
	eps2 := float32(p.RectSoftness * p.RectSoftness)
	e := float32(0)
	add := float32(0)
	if p.OSRMode != 1 {
		add = w * ring
	}
	for k, j := range g.exc[0] {
		y := vt[(j/4)*2+(j%4)/2] + add - th
		e += g.excW[0][k] * 0.5 * (y + sqrt32(y*y+eps2))
	}
	if p.OSRMode == 1 {
		e += w * rect
	}
	return e
}
