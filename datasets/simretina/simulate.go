package simretina

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/deepretina/deepretina/datasets"
)

// Config configures the simulated retina and the recordings simulated from it.
type Config struct {
	Name         string  // experiment name of the recordings, e.g. "sim-small"
	Seed         uint64  // everything (circuit, stimuli, spikes) is a function of the seed
	H, W         int     // stimulus frame size in pixels
	FrameRate    float64 // Hz (100: 10 ms bins)
	PixelSizeUM  float64 // µm per pixel (the circuit itself is specified in pixels)
	TrainSeconds float64 // length of the non-repeated training stimulus
	TestSeconds  float64 // length of the repeated test segment
	Repeats      int     // number of repeats of the test segment
	NCells       int     // number of ganglion cells N
	Contrast     float64 // SD of the stimulus intensity (binary white noise: ±Contrast)

	Binary        bool    // white noise: binary ±Contrast checks (true) or Gaussian (false)
	CheckerPixels int     // white noise (recording, interneurons): side of one check in pixels; ≥ max(H, W) is full-field flicker. The retina's calibration always uses 1-px checks
	ImagesDir     string  // natural scenes: folder of PNG/JPEG photos; empty = procedural dead leaves
	ImageSeconds  float64 // natural scenes: seconds per image
	JitterPixels  float64 // natural scenes: SD (pixels) of the random-walk step per frame
	// MovingObjects: when > 0, each natural image carries this many foreground objects that
	// move independently of it (stimuli.go, addMovingObjects): textured discs of the
	// dead-leaves kind that occlude the image and follow random walks of their own, so some
	// regions move differently from the background, the differential motion that excites
	// object-motion-sensitive cells (Ölveczky, Baccus & Meister 2003). 0: off (the presets);
	// the images and their paths are then those of 0, the objects drawing from streams of
	// their own.
	MovingObjects int
	// ContrastRange: when > 1, each natural image, and each 10-s block (wnBlock frames) of the
	// white-noise recording, is shown at its own contrast, Contrast · ContrastRange^−u with u
	// uniform in [0, 1), so the contrast changes from segment to segment over a range of
	// 1 : ContrastRange. 0 or 1: every segment at Contrast (the presets). The draws come from
	// streams of their own, so the images, their paths and the checks are those of
	// ContrastRange 0; the retina's calibration and the interneuron files do not change. Why: contrast adaptation can only be learned
	// from data whose contrast changes (Smirnakis et al. 1997 and Baccus & Meister 2002 switched
	// the contrast of flicker every few seconds), and natural viewing changes local contrast from
	// one fixation to the next over about a decade (Frazor & Geisler 2006).
	ContrastRange float64

	SmoothMS           float64 // SD (ms) of the Gaussian smoothing spikes → firing_rate_10ms
	InterneuronSeconds float64 // length of the "whitenoise" interneuron group

	// Targets says what the recordings hold as responses (firing_rate_10ms and the test
	// repeats): TargetsSpikes ("" means the same), the spikes smoothed as a lab records them,
	// or TargetsRates, the circuit's noiseless rates (Response.Rates) on train and test, every
	// repeat identical. TargetsRates is a diagnostic, not a recording: no retina gives its
	// expected rate. Response.Rates is the rate before the refractory suppression, the response
	// the phenomena battery judges the truth on, so it is larger than the spikes' mean rate
	// (1.6–2.0× per cell on the small preset's natural-scene test segment). It is the learnability control of issue 19 (docs/validation.md,
	// "Learnability control: noiseless targets"): a model that still misses the truth's
	// phenomena when trained on the noiseless rates is limited by its architecture or training,
	// not by the spikes' noise. The spike counts (spike_binned) are drawn as with TargetsSpikes
	// either way, so bits per spike stays defined, and the provenance says the targets are
	// noiseless.
	Targets string

	// Circuit holds the circuit parameters; the zero value means DefaultCircuit().
	Circuit Circuit
}

// The values of Config.Targets.
const (
	TargetsSpikes = "spikes" // smoothed Poisson spikes, as recorded (the default)
	TargetsRates  = "rates"  // the circuit's noiseless rates: a diagnostic, not a recording
)

// TargetsNames lists the values Config.Targets accepts (besides "", which means TargetsSpikes).
func TargetsNames() []string { return []string{TargetsSpikes, TargetsRates} }

// PresetNames lists the presets known to Preset.
func PresetNames() []string { return []string{"small", "paper"} }

// Preset returns a named configuration:
//
//   - "small": the CPU default. 20×20 pixels, 8 cells of mixed types, 4 minutes of training
//     data at 100 Hz, a 10 s test segment × 10 repeats. Simulates in a few seconds.
//   - "paper": the layout of the published data. 50×50 pixels, 10 cells, 60 minutes of
//     training data at 100 Hz, a 60 s test segment × 5 repeats (≈3.6 GB of stimulus per
//     stimulus type, like the lab's files).
func Preset(name string) (Config, error) {
	base := Config{
		Seed:               1,
		FrameRate:          datasets.DefaultFrameRate,
		PixelSizeUM:        datasets.DefaultPixelSizeUM,
		Contrast:           1,
		Binary:             true,
		CheckerPixels:      1,
		ImageSeconds:       1.5,
		JitterPixels:       0.5,
		SmoothMS:           10,
		InterneuronSeconds: 20,
		Circuit:            DefaultCircuit(),
	}
	switch name {
	case "small":
		base.Name = "sim-small"
		base.H, base.W = 20, 20
		base.TrainSeconds, base.TestSeconds, base.Repeats = 240, 10, 10
		base.NCells = 8
	case "paper":
		base.Name = "sim-paper"
		base.H, base.W = 50, 50
		base.TrainSeconds, base.TestSeconds, base.Repeats = 3600, 60, 5
		base.NCells = 10
		base.InterneuronSeconds = 60
	default:
		return Config{}, fmt.Errorf("unknown simulation preset %q; valid presets: %s", name, strings.Join(PresetNames(), ", "))
	}
	return base, nil
}

// Validate checks the configuration; the error names the bad field.
func (c Config) Validate() error {
	if c.H < 5 || c.W < 5 {
		return fmt.Errorf("config fields H, W: expected a frame of at least 5×5 pixels, got %d×%d", c.H, c.W)
	}
	if !(c.FrameRate > 0) || math.IsInf(c.FrameRate, 0) {
		return fmt.Errorf("config field FrameRate: expected a positive number of Hz, got %v", c.FrameRate)
	}
	pos := []struct {
		name string
		v    float64
	}{
		{"PixelSizeUM", c.PixelSizeUM}, {"TrainSeconds", c.TrainSeconds}, {"TestSeconds", c.TestSeconds},
		{"Contrast", c.Contrast}, {"ImageSeconds", c.ImageSeconds}, {"SmoothMS", c.SmoothMS},
		{"InterneuronSeconds", c.InterneuronSeconds},
	}
	for _, f := range pos {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%s: expected a positive finite number, got %v", f.name, f.v)
		}
	}
	if c.ContrastRange != 0 && (!(c.ContrastRange >= 1) || math.IsInf(c.ContrastRange, 0)) {
		return fmt.Errorf("config field ContrastRange: expected 0 (off) or a finite ratio ≥ 1, got %v", c.ContrastRange)
	}
	if c.MovingObjects < 0 || c.MovingObjects > MaxMovingObjects {
		return fmt.Errorf("config field MovingObjects: expected a number of objects per image from 0 (off) to %d, got %d", MaxMovingObjects, c.MovingObjects)
	}
	if !(c.JitterPixels >= 0) || math.IsInf(c.JitterPixels, 0) {
		return fmt.Errorf("config field JitterPixels: expected a finite number ≥ 0, got %v", c.JitterPixels)
	}
	if c.Targets != "" && c.Targets != TargetsSpikes && c.Targets != TargetsRates {
		return fmt.Errorf("config field Targets: expected %q (smoothed spikes, the default) or %q (noiseless rates, a diagnostic), got %q", TargetsSpikes, TargetsRates, c.Targets)
	}
	if c.Repeats < 2 {
		return fmt.Errorf("config field Repeats: expected at least 2 repeats of the test segment, got %d", c.Repeats)
	}
	if c.NCells < 1 {
		return fmt.Errorf("config field NCells: expected at least 1 ganglion cell, got %d", c.NCells)
	}
	if c.CheckerPixels < 1 {
		return fmt.Errorf("config field CheckerPixels: expected a check size of at least 1 pixel, got %d", c.CheckerPixels)
	}
	for _, f := range []struct {
		name string
		s    float64
	}{{"TrainSeconds", c.TrainSeconds}, {"TestSeconds", c.TestSeconds}, {"InterneuronSeconds", c.InterneuronSeconds}} {
		if f.s*c.FrameRate < 1 {
			return fmt.Errorf("%s: %v s is less than one frame at %v Hz", f.name, f.s, c.FrameRate)
		}
	}
	if err := c.circuit().validate(); err != nil {
		return err
	}
	return nil
}

// circuit resolves the zero Circuit to the defaults.
func (c Config) circuit() Circuit {
	if c.Circuit == (Circuit{}) {
		return DefaultCircuit()
	}
	return c.Circuit
}

// frames converts seconds to a whole number of frames (at least 1).
func (c Config) frames(sec float64) int { return max(1, int(math.Round(sec*c.FrameRate))) }

// stream returns the random source for one purpose (tag) and index k: a PCG seeded from the
// configuration's seed, the tag and k. Distinct tags or indices give independent streams.
func (c Config) stream(tag string, k uint64) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(tag))
	return rand.New(rand.NewPCG(c.Seed^(k*0x9E3779B97F4A7C15), h.Sum64()+k))
}

// Simulation is the output of Simulate: recordings in the layout of the lab's data plus the
// simulated interneurons.
type Simulation struct {
	Config Config
	Retina *Retina
	// Recordings, keyed by stimulus type (datasets.WhiteNoise, datasets.NaturalScene).
	Recordings map[string]*datasets.Recording
	// Interneurons: "bipolars" and "amacrines", each with groups "whitenoise" and "flashes".
	Interneurons []*datasets.InterneuronSet
}

// Simulate builds the retina for cfg and records it:
//
//   - for each stimulus type in stims (datasets.WhiteNoise, datasets.NaturalScene) a
//     datasets.Recording with Expt = cfg.Name, CellIDs 0..N−1. Train: TrainSeconds of non-repeated stimulus; Rates = spike
//     counts smoothed with a Gaussian of SD SmoothMS, in Hz ("firing_rate_10ms"); Counts = the
//     spike counts. Test: a distinct TestSeconds segment shown Repeats times; Repeats[c][r] =
//     smoothed rate of repeat r, Rates = their trial average, Counts = spike counts summed
//     over the repeats (CountTrials = Repeats). Source: the preset, the seed and the SHA-256
//     of the arrays. Time[t] = t / FrameRate. The noiseless rate is the same on every repeat
//     (the circuit is deterministic, repeats are played back to back, so each starts in the
//     steady state the previous one left); only the spikes differ. With Targets = TargetsRates
//     the train Rates, the test Rates and every test repeat are the noiseless rates instead
//     (Counts unchanged), and the provenance ends with noiselessTargetsNote.
//   - Interneurons: the potentials of a sample of bipolars (4 types at the subunit locations
//     nearest the field centre) and amacrines (the 4 of each type nearest the centre), with
//     each cell's type in InterneuronSet.Types, for a white-noise segment
//     ("whitenoise", InterneuronSeconds) and full-field flashes ("flashes": grey, +1, grey, −1
//     × Contrast, 0.5 s each), linearly detrended per cell.
//
// progress (may be nil) is called with (frames done, total frames) as work proceeds, where
// generating or simulating one frame counts one.
func Simulate(cfg Config, stims []string, progress func(done, total int)) (*Simulation, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(stims) == 0 {
		return nil, fmt.Errorf("stims: expected at least one of %q, %q", datasets.WhiteNoise, datasets.NaturalScene)
	}
	seen, err := checkStims(stims)
	if err != nil {
		return nil, err
	}
	var photos []grayImage
	if cfg.ImagesDir != "" && seen[datasets.NaturalScene] {
		if photos, err = loadPhotos(cfg.ImagesDir, cfg.H, cfg.W); err != nil {
			return nil, err
		}
	}
	ret, err := New(cfg)
	if err != nil {
		return nil, err
	}
	nTrain, nTest := cfg.frames(cfg.TrainSeconds), cfg.frames(cfg.TestSeconds)
	nInt := cfg.frames(cfg.InterneuronSeconds)
	phase := cfg.frames(0.5)
	nFlash := 4 * phase * 5
	warm := cfg.frames(2)
	total := len(stims)*2*(nTrain+nTest) + 2*(nInt+nFlash)
	done := 0
	tick := func(k int) {
		done += k
		if progress != nil {
			progress(done, total)
		}
	}
	tick(0)

	sim := &Simulation{Config: cfg, Retina: ret, Recordings: map[string]*datasets.Recording{}}
	for _, stim := range stims {
		rec, err := simulateRecording(cfg, ret, stim, photos, nTrain, nTest, warm, tick)
		if err != nil {
			return nil, err
		}
		sim.Recordings[stim] = rec
	}

	// Interneurons.
	sim.Interneurons = simulateInterneurons(cfg, ret, nInt, nFlash, phase, warm, tick)
	return sim, nil
}

// checkStims checks the stimulus types asked for and returns them as a set.
func checkStims(stims []string) (map[string]bool, error) {
	seen := map[string]bool{}
	for _, s := range stims {
		if s != datasets.WhiteNoise && s != datasets.NaturalScene {
			return nil, fmt.Errorf("stims: unknown stimulus type %q; expected %q or %q", s, datasets.WhiteNoise, datasets.NaturalScene)
		}
		if seen[s] {
			return nil, fmt.Errorf("stims: %q given twice", s)
		}
		seen[s] = true
	}
	return seen, nil
}

// simulateRecording records the ganglion cells' responses to the train and test movies of one
// stimulus type (the test movie repeated cfg.Repeats times).
func simulateRecording(cfg Config, ret *Retina, stim string, photos []grayImage, nTrain, nTest, warm int, tick func(int)) (*datasets.Recording, error) {
	preset := strings.TrimPrefix(cfg.Name, "sim-")
	rec := &datasets.Recording{
		Expt: cfg.Name, Stim: stim, CellIDs: make([]int, cfg.NCells),
		FrameRate: cfg.FrameRate, PixelSizeUM: cfg.PixelSizeUM,
		Provenance: fmt.Sprintf("simulated retina preset=%s seed=%d (%dx%d px, %d cells, %s)",
			preset, cfg.Seed, cfg.H, cfg.W, cfg.NCells, stimDescription(cfg, stim)),
	}
	if cfg.Targets == TargetsRates {
		// After the preset and seed, which phenomena.TruthFor parses from the start.
		rec.Provenance += noiselessTargetsNote
	}
	for i := range rec.CellIDs {
		rec.CellIDs[i] = i
	}
	for _, part := range []struct {
		split *datasets.Split
		n     int
		tag   string
	}{{&rec.Train, nTrain, "train"}, {&rec.Test, nTest, "test"}} {
		var movie datasets.Movie
		tag := stim + "/" + part.tag
		if stim == datasets.WhiteNoise {
			movie = whiteNoiseMovie(cfg, part.n, cfg.Binary, cfg.stream(tag, 0))
			varyNoiseContrast(cfg, movie, tag)
		} else {
			movie = naturalSceneMovie(cfg, part.n, tag, photos)
		}
		tick(part.n)
		resp := ret.run(movie, nil, nil, nil, warm, tick)
		sp := datasets.Split{Time: frameTimes(part.n, cfg.FrameRate), Stimulus: movie}
		if part.tag == "train" {
			sp.Counts = ret.Spikes(resp.Rates, cfg.stream(tag+"/spikes", 0))
			sp.Rates = smoothRates(sp.Counts, cfg)
			sp.CountTrials = 1
		} else {
			sp.Counts, sp.Rates, sp.Repeats, sp.CountTrials = repeatedTrials(cfg, ret, resp, tag, part.n)
		}
		if cfg.Targets == TargetsRates {
			// The spikes are still drawn (above), from the same streams, so the counts are
			// those of TargetsSpikes; only the responses a model is fitted and scored on change.
			sp.Rates = resp.Rates
			for c := range sp.Repeats {
				col := resp.Rates.Column(c)
				for k := range sp.Repeats[c] {
					sp.Repeats[c][k] = slices.Clone(col)
				}
			}
		}
		*part.split = sp
	}
	// The stimulus is finite by construction; check the responses (cheap) rather than
	// reading gigabytes of stimulus again.
	if err := rec.ValidateResponses(); err != nil {
		return nil, fmt.Errorf("simulated %s recording: %w (circuit parameters out of range?)", stim, err)
	}
	rec.Source = datasets.Source{SimPreset: preset, SimSeed: cfg.Seed, SHA256: rec.ContentHash()}
	return rec, nil
}

// noiselessTargetsNote ends the provenance of a recording simulated with TargetsRates, so that
// the file, and every run trained on it (its "data"), says that its responses are not spikes.
const noiselessTargetsNote = "; TARGETS ARE NOISELESS: firing_rate_10ms and test repeats are the circuit's expected rates, not smoothed spikes (simulate --targets rates, a learnability diagnostic, not a recording)"

// repeatedTrials draws cfg.Repeats spike trains from the rates of resp: their summed counts,
// their mean smoothed rate and each trial's smoothed rate per cell ([cell][trial][T]).
func repeatedTrials(cfg Config, ret *Retina, resp Response, tag string, T int) (counts, rates datasets.Matrix, repeats [][][]float32, trials int) {
	n := cfg.NCells
	counts = datasets.NewMatrix(T, n)
	rates = datasets.NewMatrix(T, n)
	repeats = make([][][]float32, n)
	for c := range repeats {
		repeats[c] = make([][]float32, cfg.Repeats)
	}
	for k := 0; k < cfg.Repeats; k++ {
		trial := ret.Spikes(resp.Rates, cfg.stream(tag+"/spikes", uint64(k)))
		sm := smoothRates(trial, cfg)
		for i := range trial.Data {
			counts.Data[i] += trial.Data[i]
			rates.Data[i] += sm.Data[i] / float32(cfg.Repeats)
		}
		for c := 0; c < n; c++ {
			repeats[c][k] = sm.Column(c)
		}
	}
	return counts, rates, repeats, cfg.Repeats
}

// simulateInterneurons records the noiseless potentials of the central bipolar and amacrine
// cells under white noise and full-field flashes.
func simulateInterneurons(cfg Config, ret *Retina, nInt, nFlash, phase, warm int, tick func(int)) []*datasets.InterneuronSet {
	preset := strings.TrimPrefix(cfg.Name, "sim-")
	recB, recA := ret.centralInterneurons()
	wn := whiteNoiseMovie(cfg, nInt, cfg.Binary, cfg.stream("interneurons/whitenoise", 0))
	fl := flashesMovie(cfg.H, cfg.W, nFlash, phase, float32(cfg.Contrast))
	tick(nInt + nFlash)
	bip := &datasets.InterneuronSet{CellType: "bipolars"}
	am := &datasets.InterneuronSet{CellType: "amacrines"}
	for _, g := range []struct {
		name  string
		movie datasets.Movie
	}{{"whitenoise", wn}, {"flashes", fl}} {
		resp := ret.run(g.movie, nil, recB, recA, warm, tick)
		detrend(resp.Bipolar)
		detrend(resp.Amacrine)
		bip.Groups = append(bip.Groups, datasets.InterneuronGroup{Name: g.name, Stimuli: g.movie, Potentials: resp.Bipolar})
		am.Groups = append(am.Groups, datasets.InterneuronGroup{Name: g.name, Stimuli: g.movie, Potentials: resp.Amacrine})
	}
	btypes, bcent := ret.BipolarTypes(), ret.BipolarCentres()
	var desc []string
	for _, i := range recB {
		desc = append(desc, fmt.Sprintf("%d:%s@(%.1f,%.1f)", i, btypes[i], bcent[i].Y, bcent[i].X))
	}
	bip.Provenance = fmt.Sprintf("simulated retina preset=%s seed=%d; bipolar potentials (noiseless, before rectification), cells %s",
		preset, cfg.Seed, strings.Join(desc, " "))
	for _, i := range recB {
		bip.Types = append(bip.Types, btypes[i])
	}
	desc = desc[:0]
	atypes := ret.AmacrineTypes()
	for _, i := range recA {
		desc = append(desc, fmt.Sprintf("%d:%s@(%.1f,%.1f)", i, atypes[i], ret.amacs[i].Y, ret.amacs[i].X))
		am.Types = append(am.Types, atypes[i])
	}
	am.Provenance = fmt.Sprintf("simulated retina preset=%s seed=%d; amacrine potentials (noiseless), cells %s",
		preset, cfg.Seed, strings.Join(desc, " "))
	return []*datasets.InterneuronSet{bip, am}
}

func stimDescription(cfg Config, stim string) string {
	if stim == datasets.WhiteNoise {
		kind := "Gaussian"
		if cfg.Binary {
			kind = "binary"
		}
		checks := fmt.Sprintf("%d px checks", cfg.CheckerPixels)
		if cfg.CheckerPixels >= max(cfg.H, cfg.W) {
			checks += " = full-field flicker"
		}
		if cfg.ContrastRange > 1 {
			return fmt.Sprintf("%s white noise, %s, contrast %g÷%g^U(0,1) per %d frames", kind, checks, cfg.Contrast, cfg.ContrastRange, wnBlock)
		}
		return fmt.Sprintf("%s white noise, %s, contrast %g", kind, checks, cfg.Contrast)
	}
	src := "dead-leaves images"
	if cfg.ImagesDir != "" {
		src = "photos from " + cfg.ImagesDir
	}
	src += objectsDescription(cfg)
	if cfg.ContrastRange > 1 {
		return fmt.Sprintf("natural scenes: %s, %g s per image, jitter %g px/frame, contrast %g÷%g^U(0,1) per image", src, cfg.ImageSeconds, cfg.JitterPixels, cfg.Contrast, cfg.ContrastRange)
	}
	return fmt.Sprintf("natural scenes: %s, %g s per image, jitter %g px/frame, contrast %g", src, cfg.ImageSeconds, cfg.JitterPixels, cfg.Contrast)
}

// centralInterneurons picks the interneurons recorded for the InterneuronSets: all four bipolar
// types at the (up to) 4 subunit locations nearest the field centre, and the (up to) 4
// amacrines of each type (wide-field, narrow-field ON, narrow-field OFF) nearest the centre.
// Indices are sorted, so the amacrines come grouped by type in AmacrineTypes order.
func (r *Retina) centralInterneurons() (bip, am []int) {
	c := Point{float64(r.cfg.H-1) / 2, float64(r.cfg.W-1) / 2}
	for _, l := range nearest(r.locs, c, 4) {
		bip = append(bip, 4*l, 4*l+1, 4*l+2, 4*l+3)
	}
	sort.Ints(bip)
	for _, typ := range []string{WideFieldAmacrine, NarrowONAmacrine, NarrowOFFAmacrine} {
		var idx []int
		var pts []Point
		for i, tt := range r.amacTyp {
			if tt == typ {
				idx, pts = append(idx, i), append(pts, r.amacs[i])
			}
		}
		for _, k := range nearest(pts, c, 4) {
			am = append(am, idx[k])
		}
	}
	sort.Ints(am)
	return bip, am
}

// nearest returns the indices of the k points nearest c (ties by index).
func nearest(pts []Point, c Point, k int) []int {
	idx := make([]int, len(pts))
	for i := range idx {
		idx[i] = i
	}
	d := func(i int) float64 { return (pts[i].Y-c.Y)*(pts[i].Y-c.Y) + (pts[i].X-c.X)*(pts[i].X-c.X) }
	sort.SliceStable(idx, func(a, b int) bool { return d(idx[a]) < d(idx[b]) })
	return idx[:min(k, len(idx))]
}

func frameTimes(n int, rate float64) []float64 {
	t := make([]float64, n)
	for i := range t {
		t[i] = float64(i) / rate
	}
	return t
}

// smoothRates converts spike counts [T, N] to a firing rate in Hz: convolution with a
// normalised Gaussian of SD cfg.SmoothMS (truncated at ±4 SD, renormalised at the ends),
// times the frame rate.
func smoothRates(counts datasets.Matrix, cfg Config) datasets.Matrix {
	sigma := cfg.SmoothMS / 1000 * cfg.FrameRate // in frames
	rad := int(math.Ceil(4 * sigma))
	kern := make([]float64, 2*rad+1)
	for i := range kern {
		d := float64(i - rad)
		kern[i] = math.Exp(-d * d / (2 * sigma * sigma))
	}
	out := datasets.NewMatrix(counts.Rows, counts.Cols)
	T := counts.Rows
	for c := 0; c < counts.Cols; c++ {
		for t := 0; t < T; t++ {
			s, w := 0.0, 0.0
			for j := max(0, t-rad); j <= min(T-1, t+rad); j++ {
				k := kern[j-t+rad]
				s += k * float64(counts.Data[j*counts.Cols+c])
				w += k
			}
			out.Data[t*counts.Cols+c] = float32(s / w * cfg.FrameRate)
		}
	}
	return out
}

// detrend removes the least-squares linear trend from each column of m in place.
func detrend(m datasets.Matrix) {
	T := m.Rows
	if T < 2 {
		return
	}
	tm := float64(T-1) / 2
	var stt float64
	for t := 0; t < T; t++ {
		stt += (float64(t) - tm) * (float64(t) - tm)
	}
	for c := 0; c < m.Cols; c++ {
		var s, sty float64
		for t := 0; t < T; t++ {
			y := float64(m.Data[t*m.Cols+c])
			s += y
			sty += (float64(t) - tm) * y
		}
		mean, slope := s/float64(T), sty/stt
		for t := 0; t < T; t++ {
			m.Data[t*m.Cols+c] -= float32(mean + slope*(float64(t)-tm))
		}
	}
}
