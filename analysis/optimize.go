package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/retina"
)

// OptimizeOptions configure MaximizeTarget.
type OptimizeOptions struct {
	Steps int     // gradient-ascent steps (default 200)
	Rate  float64 // step length as a fraction of Norm (default 0.1)
	// Norm is the L2 norm the stimulus window is held at, in z-scored units (default: that of
	// unit-contrast white noise, √(History·H·W)): without a bound the response grows without end.
	Norm float64
	// SmoothFrames, when > 0, smooths the stimulus along time with a Gaussian of this SD (in
	// frames) after every step: the most exciting input then favours slow, natural-like time
	// courses over frame-to-frame flicker.
	SmoothFrames float64
	Seed         uint64 // seed of the white-noise starting point
}

// OptimalStimulus is the result of MaximizeTarget.
type OptimalStimulus struct {
	Target        Target
	History, H, W int
	Stimulus      []float64 // [History, H, W] z-scored units, oldest frame first; ‖Stimulus‖ = Norm
	Values        []float64 // the target's response at the start and after every step
}

// MaximizeTarget finds the most exciting input of target t: projected gradient ascent on one
// input window, from white noise, each step moving Rate·Norm along the normalised gradient of
// the target's response, then (optionally) smoothing in time and projecting back onto the
// sphere ‖x‖ = Norm. For a linear unit the answer is its kernel scaled to the norm.
func MaximizeTarget(m *retina.Model, t Target, opts OptimizeOptions) (*OptimalStimulus, error) {
	if err := t.check(m.Meta.Model); err != nil {
		return nil, err
	}
	in := InputOf(m)
	size := in.History * in.H * in.W
	if opts.Steps <= 0 {
		opts.Steps = 200
	}
	if !(opts.Rate > 0) {
		opts.Rate = 0.1
	}
	if !(opts.Norm > 0) {
		opts.Norm = math.Sqrt(float64(size))
	}
	if opts.SmoothFrames < 0 || math.IsNaN(opts.SmoothFrames) {
		return nil, fmt.Errorf("optimise %s: smoothing of %v frames; expected ≥ 0", t, opts.SmoothFrames)
	}
	exec, err := newModelExec(m, func(ctx *model.Scope, x *Node) (*Node, *Node) {
		v := t.node(forward(ctx, m, x))
		return v, Gradient(ReduceAllSum(v), x)[0]
	})
	if err != nil {
		return nil, fmt.Errorf("optimise %s: %w", t, err)
	}
	x := make([]float32, size)
	NoiseWindows(x, 1, false, rand.New(rand.NewPCG(opts.Seed, 0x07)))
	project(x, opts.Norm)
	res := &OptimalStimulus{Target: t, History: in.History, H: in.H, W: in.W}
	kernel := gaussianKernel(opts.SmoothFrames)
	for step := 0; ; step++ {
		out, err := exec.Exec(windowsTensor(x, 1, in))
		if err != nil {
			return nil, fmt.Errorf("optimise %s: %w", t, err)
		}
		v, err := flat(out[0])
		if err != nil {
			return nil, err
		}
		g, err := flat(out[1])
		if err != nil {
			return nil, err
		}
		res.Values = append(res.Values, float64(v[0]))
		if step == opts.Steps {
			break
		}
		var gn float64
		for _, d := range g {
			gn += float64(d) * float64(d)
		}
		if gn = math.Sqrt(gn); gn == 0 {
			break // a flat point (e.g. a unit silenced by its ReLU): nothing to climb
		}
		for i, d := range g {
			x[i] += float32(opts.Rate * opts.Norm * float64(d) / gn)
		}
		if kernel != nil {
			smoothTime(x, in.History, in.H*in.W, kernel)
		}
		project(x, opts.Norm)
	}
	res.Stimulus = Float64s(x)
	return res, nil
}

// project scales x to L2 norm `norm`.
func project(x []float32, norm float64) {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	if s == 0 {
		return
	}
	f := float32(norm / math.Sqrt(s))
	for i := range x {
		x[i] *= f
	}
}

// gaussianKernel is a normalised Gaussian of SD sd (frames), truncated at ±3 SD; nil for sd 0.
func gaussianKernel(sd float64) []float64 {
	if !(sd > 0) {
		return nil
	}
	r := int(math.Ceil(3 * sd))
	k := make([]float64, 2*r+1)
	var s float64
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sd * sd))
		s += k[i]
	}
	for i := range k {
		k[i] /= s
	}
	return k
}

// smoothTime convolves every pixel's time course of x ([frames, pixels]) with kernel,
// renormalising the kernel where it overhangs the ends.
func smoothTime(x []float32, frames, pixels int, kernel []float64) {
	r := len(kernel) / 2
	col := make([]float64, frames)
	for p := 0; p < pixels; p++ {
		for f := 0; f < frames; f++ {
			col[f] = float64(x[f*pixels+p])
		}
		for f := 0; f < frames; f++ {
			var s, w float64
			for j := max(0, f-r); j <= min(frames-1, f+r); j++ {
				s += kernel[j-f+r] * col[j]
				w += kernel[j-f+r]
			}
			x[f*pixels+p] = float32(s / w)
		}
	}
}
