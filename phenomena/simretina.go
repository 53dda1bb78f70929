package phenomena

import (
	"fmt"
	"math"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
)

// SimResponder adapts the simulated retina (the ground truth of simulated runs). The circuit
// keeps its own state and needs no history: History only cuts its rates to the rows a model
// with History frames of history returns (what Run pads is grey, to which the truth is already
// adapted; see LeadIn); Cells picks and orders its ganglion cells as the model's output (nil:
// all).
//
// Norm maps the battery's z-scored stimulus to the simulator's own intensity units (0 = mean
// grey, the SD of its stimuli ≈ the preset's Contrast) exactly as ModelResponder maps it to a
// model's raw units: raw = Mean + Std·z, in the same float32 arithmetic, grey padding (z = 0)
// included. TruthForRun sets it to the run's NormStats, so that the truth is shown the physical
// stimulus its model is shown: a model trained on stimuli of SD 0.55 (`simulate
// --contrast-range 4`) sees the battery's contrast 0.7 as 0.38 of the simulator's units, and so
// must the truth. nil (NewSimResponder's default) is the identity: z is taken as the
// simulator's own units, which is how the simulator's verdicts on itself are judged.
//
// LeadIn and FilterFrames make the truth's verdicts its own, whatever window the model it is
// compared with has (issue 19; docs/validation.md, "The truth's lead-in and history (session
// 9)"). LeadIn is the number of frames of grey (z = 0, through Norm) the circuit is shown
// before every stimulus, not returned: it starts from rest, its filters at 0, which is the
// state adapted to the simulator's grey 0, not to a grey at Norm's mean, and the History
// frames of grey that Run pads are too short for it to settle. Experimenters adapt the retina
// to the mean luminance for seconds before recording; so does the truth. FilterFrames is the
// span of the circuit's own linear filter (TruthFilterFrames): its LN surrogate's filter and
// the filters and receptive fields the experiments estimate from it cover that span rather
// than a model's window. 0 in either (a struct literal's zero value) is the behaviour before
// session 9: no lead-in beyond Run's padding, and filters of max(History, 0.3 s).
//
// The lead-in is simulated once and every Respond continues from the state it leaves
// (simretina.State; docs/validation.md, "The truth's lead-in, simulated once (session 10)"),
// re-simulated when Retina, LeadIn or Norm's grey change. Respond is safe from several
// goroutines; a SimResponder is not to be copied after first use.
type SimResponder struct {
	Retina       *simretina.Retina
	History      int
	Cells        []int
	Norm         *datasets.NormStats
	LeadIn       int
	FilterFrames int

	adapted leadInCache // the state after the lead-in, simulated once
}

// TruthAdaptSeconds is how long the simulated truth adapts to grey before each stimulus
// (SimResponder.LeadIn, in seconds): 25 times the circuit's longest time constant
// (ContrastTauMS, 200 ms: the local-contrast estimate, which the step from rest to the grey's
// mean excites). On the small preset at the base data's mean (0.018) the rates are within
// 2·10⁻⁵ Hz of their value on a long grey screen after 3 s and equal to it in float32 after 5 s,
// against 6.8 Hz after a 40-frame history's padding (TestSimResponderLeadIn; docs/validation.md,
// "The truth's lead-in and history (session 9)").
const TruthAdaptSeconds = 5

// truthFilterMass is the share of the envelope filter's impulse response (by absolute value)
// that TruthFilterFrames covers.
const truthFilterMass = 0.99

// TruthFilterFrames is the span in frames of a simulated retina's linear filters at rest, from
// an envelope of its two bipolar classes: a biphasic filter (three low-pass stages of the
// longer Tau1 minus the stronger Transience × three of the longer Tau2, the circuit's
// implicit-Euler stages) through the slower ganglion membrane (Fast/SlowGanglionMS), cut where
// 99 % of the integral of its absolute value is covered. Each class alone is covered (the slow
// one's own filter spans 81 frames at 100 Hz on DefaultCircuit, the fast one's 57; the envelope
// 83), the amacrine stages are faster (5 and 20 ms), and high contrast only shortens the
// bipolar time constants (the speed-up), so this covers every filter of the circuit.
func TruthFilterFrames(c simretina.Circuit, frameRate float64) int {
	dt := 1 / frameRate
	tau1 := max(c.SlowTau1MS, c.FastTau1MS) / 1000
	tau2 := max(c.SlowTau2MS, c.FastTau2MS) / 1000
	beta := max(c.SlowTransience, c.FastTransience)
	taug := max(c.SlowGanglionMS, c.FastGanglionMS) / 1000
	// Long enough for any physiological time constant: 20 s.
	n := max(1, int(math.Round(20*frameRate)))
	stage := func(x []float64, tau float64) []float64 {
		h := dt / tau
		out := make([]float64, len(x))
		s := 0.0
		for t, v := range x {
			s = (s + h*v) / (1 + h)
			out[t] = s
		}
		return out
	}
	imp := make([]float64, n)
	imp[0] = 1
	a, b := imp, imp
	for range 3 {
		a, b = stage(a, tau1), stage(b, tau2)
	}
	lin := make([]float64, n)
	for t := range lin {
		lin[t] = a[t] - beta*b[t]
	}
	out := stage(lin, taug)
	total := 0.0
	for _, v := range out {
		total += math.Abs(v)
	}
	acc := 0.0
	for t, v := range out {
		acc += math.Abs(v)
		if acc >= truthFilterMass*total {
			return t + 1
		}
	}
	return n
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
	return &SimResponder{Retina: ret, History: history, Cells: cells,
		LeadIn:       max(1, int(math.Round(TruthAdaptSeconds*cfg.FrameRate))),
		FilterFrames: TruthFilterFrames(ret.Circuit(), cfg.FrameRate)}, nil
}

// filterFrames implements filterSpanner: the circuit's own filter span, not History.
func (s *SimResponder) filterFrames() int { return s.FilterFrames }

// InputShape implements Responder.
func (s *SimResponder) InputShape() [3]int {
	c := s.Retina.Config()
	return [3]int{s.History, c.H, c.W}
}

// FrameRate implements Responder.
func (s *SimResponder) FrameRate() float64 { return s.Retina.Config().FrameRate }

// PixelSizeUM implements Responder.
func (s *SimResponder) PixelSizeUM() float64 { return s.Retina.Config().PixelSizeUM }

// Respond implements Responder: the circuit's noiseless rates, rows History… , to stim mapped
// through Norm (when set), after LeadIn frames of grey from rest (simulated on the first call
// and reused while Retina, LeadIn and Norm's grey stay the same).
func (s *SimResponder) Respond(stim datasets.Movie) (datasets.Matrix, error) {
	c := s.Retina.Config()
	if stim.H != c.H || stim.W != c.W {
		return datasets.Matrix{}, fmt.Errorf("stimulus frames are %d×%d; the simulated retina expects %d×%d", stim.H, stim.W, c.H, c.W)
	}
	if stim.T <= s.History {
		return datasets.Matrix{}, fmt.Errorf("stimulus of %d frames is not longer than the history of %d frames", stim.T, s.History)
	}
	if s.LeadIn < 0 {
		return datasets.Matrix{}, fmt.Errorf("lead-in %d: expected ≥ 0 frames", s.LeadIn)
	}
	if s.Norm != nil {
		n := *s.Norm
		if !(n.Std > 0) || math.IsInf(n.Std, 0) || math.IsNaN(n.Mean) || math.IsInf(n.Mean, 0) {
			return datasets.Matrix{}, fmt.Errorf("normalisation mean %v std %v: expected a finite mean and a finite positive std", n.Mean, n.Std)
		}
		stim = rawStimulus(n, stim)
	}
	// Grey as the stimulus's z = 0 is mapped, to the bit.
	grey := float32(0)
	if s.Norm != nil {
		grey = rawStimulus(*s.Norm, datasets.NewMovie(1, 1, 1)).Data[0]
	}
	start, err := s.adapted.adapted(s.Retina, s.LeadIn, grey)
	if err != nil {
		return datasets.Matrix{}, err
	}
	skip := s.History
	resp, _, err := s.Retina.RunGanglionFrom(start, stim, nil)
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
	out := datasets.NewMatrix(stim.T-skip, len(cells))
	for t := range out.Rows {
		src, dst := rates.Row(t+skip), out.Row(t)
		for j, c := range cells {
			dst[j] = src[c]
		}
	}
	return out, nil
}
