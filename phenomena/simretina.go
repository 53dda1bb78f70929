package phenomena

import (
	"fmt"
	"math"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
)

// SimResponder adapts the simulated retina (the ground truth of simulated runs). The circuit
// keeps its own state and needs no history, so its rates are cut to the rows a model with
// History frames of history returns; Cells picks and orders its ganglion cells as the model's
// output (nil: all).
//
// Norm maps the battery's z-scored stimulus to the simulator's own intensity units (0 = mean
// grey, the SD of its stimuli ≈ the preset's Contrast) exactly as ModelResponder maps it to a
// model's raw units: raw = Mean + Std·z, in the same float32 arithmetic, grey padding (z = 0)
// included. TruthForRun sets it to the run's NormStats, so that the truth is shown the physical
// stimulus its model is shown: a model trained on stimuli of SD 0.55 (`simulate
// --contrast-range 4`) sees the battery's contrast 0.7 as 0.38 of the simulator's units, and so
// must the truth. nil (NewSimResponder's default) is the identity: z is taken as the
// simulator's own units, which is how the simulator's verdicts on itself are judged.
type SimResponder struct {
	Retina  *simretina.Retina
	History int
	Cells   []int
	Norm    *datasets.NormStats
}

// NewSimResponder builds the simulated retina of a preset ("small", "paper") and seed, read
// out like a model with the given history and cells (nil: all). Its stimulus units are the
// simulator's own (Norm nil: the identity); set Norm to show it the stimulus a model with that
// normalisation is shown (TruthForRun does, with the run's).
func NewSimResponder(preset string, seed uint64, history int, cells []int) (*SimResponder, error) {
	cfg, err := simretina.Preset(preset)
	if err != nil {
		return nil, err
	}
	if seed != 0 {
		cfg.Seed = seed
	}
	ret, err := simretina.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("simulated retina %q seed %d: %w", preset, cfg.Seed, err)
	}
	for _, c := range cells {
		if c < 0 || c >= ret.NCells() {
			return nil, fmt.Errorf("simulated retina %q has cells 0…%d; cell %d requested", preset, ret.NCells()-1, c)
		}
	}
	if history < 0 {
		return nil, fmt.Errorf("history %d: expected ≥ 0 frames", history)
	}
	return &SimResponder{Retina: ret, History: history, Cells: cells}, nil
}

// InputShape implements Responder.
func (s *SimResponder) InputShape() [3]int {
	c := s.Retina.Config()
	return [3]int{s.History, c.H, c.W}
}

// FrameRate implements Responder.
func (s *SimResponder) FrameRate() float64 { return s.Retina.Config().FrameRate }

// PixelSizeUM implements Responder.
func (s *SimResponder) PixelSizeUM() float64 { return s.Retina.Config().PixelSizeUM }

// Respond implements Responder: the circuit's noiseless rates from rest, rows History… , to
// stim mapped through Norm (when set).
func (s *SimResponder) Respond(stim datasets.Movie) (datasets.Matrix, error) {
	c := s.Retina.Config()
	if stim.H != c.H || stim.W != c.W {
		return datasets.Matrix{}, fmt.Errorf("stimulus frames are %d×%d; the simulated retina expects %d×%d", stim.H, stim.W, c.H, c.W)
	}
	if stim.T <= s.History {
		return datasets.Matrix{}, fmt.Errorf("stimulus of %d frames is not longer than the history of %d frames", stim.T, s.History)
	}
	if s.Norm != nil {
		n := *s.Norm
		if !(n.Std > 0) || math.IsInf(n.Std, 0) || math.IsNaN(n.Mean) || math.IsInf(n.Mean, 0) {
			return datasets.Matrix{}, fmt.Errorf("normalisation mean %v std %v: expected a finite mean and a finite positive std", n.Mean, n.Std)
		}
		stim = rawStimulus(n, stim)
	}
	resp, err := s.Retina.RunGanglion(stim, nil)
	if err != nil {
		return datasets.Matrix{}, err
	}
	rates := resp.Rates
	cells := s.Cells
	if cells == nil {
		cells = make([]int, rates.Cols)
		for i := range cells {
			cells[i] = i
		}
	}
	out := datasets.NewMatrix(stim.T-s.History, len(cells))
	for t := range out.Rows {
		src, dst := rates.Row(t+s.History), out.Row(t)
		for j, c := range cells {
			dst[j] = src[c]
		}
	}
	return out, nil
}
