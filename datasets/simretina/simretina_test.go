package simretina

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/metrics"
)

// simSmall simulates the "small" preset (a few seconds of CPU).
func simSmall(t *testing.T, stims ...string) *Simulation {
	t.Helper()
	cfg, err := Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	sim, err := Simulate(cfg, stims, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sim
}

// tinyConfig is a short configuration for tests that only need shapes or determinism.
func tinyConfig(t *testing.T) Config {
	t.Helper()
	cfg, err := Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	cfg.H, cfg.W = 16, 18
	cfg.TrainSeconds, cfg.TestSeconds, cfg.Repeats = 6, 2, 4
	cfg.NCells = 5
	cfg.InterneuronSeconds = 2
	return cfg
}

func TestPresets(t *testing.T) {
	for _, name := range PresetNames() {
		cfg, err := Preset(name)
		if err != nil {
			t.Fatalf("preset %s: %v", name, err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("preset %s does not validate: %v", name, err)
		}
		if cfg.Name != "sim-"+name {
			t.Errorf("preset %s: Name = %q", name, cfg.Name)
		}
	}
	small, _ := Preset("small")
	paper, _ := Preset("paper")
	if small.H != 20 || small.NCells != 8 || small.TrainSeconds != 240 || small.Repeats != 10 {
		t.Errorf("small preset: unexpected %+v", small)
	}
	if paper.H != 50 || paper.W != 50 || paper.NCells != 10 || paper.TrainSeconds != 3600 || paper.Repeats != 5 {
		t.Errorf("paper preset: unexpected %+v", paper)
	}
	_, err := Preset("huge")
	if err == nil {
		t.Fatal("unknown preset: expected an error")
	}
	for _, want := range []string{"huge", "small", "paper"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("unknown preset error %q does not mention %q", err, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		field string
		mod   func(*Config)
	}{
		{"H, W", func(c *Config) { c.H = 3 }},
		{"FrameRate", func(c *Config) { c.FrameRate = 0 }},
		{"PixelSizeUM", func(c *Config) { c.PixelSizeUM = -1 }},
		{"TrainSeconds", func(c *Config) { c.TrainSeconds = math.NaN() }},
		{"TestSeconds", func(c *Config) { c.TestSeconds = 0 }},
		{"TestSeconds", func(c *Config) { c.TestSeconds = 0.001 }},
		{"Repeats", func(c *Config) { c.Repeats = 1 }},
		{"NCells", func(c *Config) { c.NCells = 0 }},
		{"Contrast", func(c *Config) { c.Contrast = 0 }},
		{"CheckerPixels", func(c *Config) { c.CheckerPixels = 0 }},
		{"ImageSeconds", func(c *Config) { c.ImageSeconds = -2 }},
		{"JitterPixels", func(c *Config) { c.JitterPixels = -1 }},
		{"ContrastRange", func(c *Config) { c.ContrastRange = 0.5 }},
		{"ContrastRange", func(c *Config) { c.ContrastRange = math.Inf(1) }},
		{"MovingObjects", func(c *Config) { c.MovingObjects = -1 }},
		{"MovingObjects", func(c *Config) { c.MovingObjects = MaxMovingObjects + 1 }},
		{"SmoothMS", func(c *Config) { c.SmoothMS = 0 }},
		{"Circuit.SubunitSigma", func(c *Config) { c.Circuit.SubunitSigma = 0 }},
		{"Circuit.SpeedUp", func(c *Config) { c.Circuit.SpeedUp = 1.5 }},
		{"Circuit.MaxMeanHz", func(c *Config) { c.Circuit.MaxMeanHz = 1 }},
	}
	for _, tc := range cases {
		cfg, _ := Preset("small")
		tc.mod(&cfg)
		err := cfg.Validate()
		if err == nil {
			t.Errorf("%s: expected a validation error", tc.field)
			continue
		}
		if msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "config fields "), "config field "); !strings.HasPrefix(msg, tc.field) {
			t.Errorf("%s: error %q does not name the field", tc.field, err)
		}
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted an invalid config", tc.field)
		}
	}
	// The zero Circuit means the defaults.
	cfg, _ := Preset("small")
	cfg.Circuit = Circuit{}
	if err := cfg.Validate(); err != nil {
		t.Errorf("zero Circuit should mean the defaults: %v", err)
	}
	// Bad stimulus lists.
	for _, stims := range [][]string{nil, {"movies"}, {datasets.WhiteNoise, datasets.WhiteNoise}} {
		if _, err := Simulate(tinyConfig(t), stims, nil); err == nil || !strings.HasPrefix(err.Error(), "stims") {
			t.Errorf("Simulate(stims=%v): expected a stims error, got %v", stims, err)
		}
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestDeterministic(t *testing.T) {
	cfg := tinyConfig(t)
	stims := []string{datasets.WhiteNoise, datasets.NaturalScene}
	var calls, lastDone, lastTotal int
	a, err := Simulate(cfg, stims, func(done, total int) { calls++; lastDone, lastTotal = done, total })
	if err != nil {
		t.Fatal(err)
	}
	if calls < 3 || lastDone != lastTotal || lastTotal == 0 {
		t.Errorf("progress: %d calls, last %d/%d; want several calls ending at done == total", calls, lastDone, lastTotal)
	}
	b, err := Simulate(cfg, stims, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg2 := cfg
	cfg2.Seed++
	c, err := Simulate(cfg2, stims, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stims {
		ra, rb, rc := a.Recordings[s], b.Recordings[s], c.Recordings[s]
		for _, pair := range []struct {
			name       string
			x, y, z    []float32
			mustDiffer bool
		}{
			{"train stimulus", ra.Train.Stimulus.Data, rb.Train.Stimulus.Data, rc.Train.Stimulus.Data, true},
			{"train rates", ra.Train.Rates.Data, rb.Train.Rates.Data, rc.Train.Rates.Data, true},
			{"train counts", ra.Train.Counts.Data, rb.Train.Counts.Data, rc.Train.Counts.Data, true},
			{"test stimulus", ra.Test.Stimulus.Data, rb.Test.Stimulus.Data, rc.Test.Stimulus.Data, true},
			{"test rates", ra.Test.Rates.Data, rb.Test.Rates.Data, rc.Test.Rates.Data, true},
			{"test repeat 1 of cell 0", ra.Test.Repeats[0][1], rb.Test.Repeats[0][1], rc.Test.Repeats[0][1], true},
		} {
			if !equalF32(pair.x, pair.y) {
				t.Errorf("%s %s: same seed gave different data", s, pair.name)
			}
			if pair.mustDiffer && equalF32(pair.x, pair.z) {
				t.Errorf("%s %s: different seeds gave identical data", s, pair.name)
			}
		}
		if equalF32(ra.Train.Stimulus.Data[:ra.Test.Stimulus.FrameSize()*ra.Test.Len()], ra.Test.Stimulus.Data) {
			t.Errorf("%s: the test segment repeats the start of the training stimulus", s)
		}
	}
	for i := range a.Interneurons {
		for g := range a.Interneurons[i].Groups {
			if !equalF32(a.Interneurons[i].Groups[g].Potentials.Data, b.Interneurons[i].Groups[g].Potentials.Data) {
				t.Errorf("interneurons %s/%s: same seed gave different data", a.Interneurons[i].CellType, a.Interneurons[i].Groups[g].Name)
			}
		}
	}
	if slices.Equal(a.Retina.CellCentres(), c.Retina.CellCentres()) {
		t.Error("different seeds placed the cells identically")
	}
}

// TestDeterministicAcrossWorkers: the goroutine split must not change any bit.
func TestDeterministicAcrossWorkers(t *testing.T) {
	cfg := tinyConfig(t)
	ret, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stim := whiteNoiseMovie(cfg, 700, true, rand.New(rand.NewPCG(5, 5)))
	many := mustRun(t, ret, stim, rand.New(rand.NewPCG(1, 1)))
	prev := runtime.GOMAXPROCS(1)
	one := mustRun(t, ret, stim, rand.New(rand.NewPCG(1, 1)))
	runtime.GOMAXPROCS(max(prev, 3))
	three := mustRun(t, ret, stim, rand.New(rand.NewPCG(1, 1)))
	runtime.GOMAXPROCS(prev)
	for _, r := range []Response{one, three} {
		if !equalF32(r.Rates.Data, many.Rates.Data) || !equalF32(r.Spikes.Data, many.Spikes.Data) ||
			!equalF32(r.Bipolar.Data, many.Bipolar.Data) || !equalF32(r.Amacrine.Data, many.Amacrine.Data) {
			t.Fatal("Run gives different results for different GOMAXPROCS")
		}
	}
	again := whiteNoiseMovie(cfg, 700, true, rand.New(rand.NewPCG(5, 5)))
	if !equalF32(again.Data, stim.Data) {
		t.Fatal("white noise differs between calls with the same seed")
	}
}

func TestRecordingLayout(t *testing.T) {
	cfg := tinyConfig(t)
	sim, err := Simulate(cfg, []string{datasets.NaturalScene}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sim.Recordings) != 1 || sim.Recordings[datasets.NaturalScene] == nil {
		t.Fatalf("recordings: got keys %v, want [%s]", keys(sim.Recordings), datasets.NaturalScene)
	}
	rec := sim.Recordings[datasets.NaturalScene]
	if err := rec.Validate(); err != nil {
		t.Fatal(err)
	}
	nTrain, nTest := int(cfg.TrainSeconds*cfg.FrameRate), int(cfg.TestSeconds*cfg.FrameRate)
	if rec.Expt != cfg.Name || rec.Stim != datasets.NaturalScene || rec.NCells() != cfg.NCells ||
		rec.Train.Len() != nTrain || rec.Test.Len() != nTest || rec.Train.Stimulus.H != cfg.H || rec.Train.Stimulus.W != cfg.W {
		t.Errorf("recording header/shapes wrong: expt %q stim %q cells %d train %d test %d", rec.Expt, rec.Stim, rec.NCells(), rec.Train.Len(), rec.Test.Len())
	}
	if !strings.Contains(rec.Provenance, "preset=small") || !strings.Contains(rec.Provenance, "seed=1") {
		t.Errorf("provenance %q", rec.Provenance)
	}
	if rec.Train.Time[10] != 10/cfg.FrameRate {
		t.Errorf("time[10] = %v, want %v", rec.Train.Time[10], 10/cfg.FrameRate)
	}
	// Test rates are the trial average of the repeats; counts the sum of the repeats' counts.
	for c := 0; c < rec.NCells(); c++ {
		if len(rec.Test.Repeats[c]) != cfg.Repeats {
			t.Fatalf("cell %d: %d repeats, want %d", c, len(rec.Test.Repeats[c]), cfg.Repeats)
		}
		for _, tt := range []int{0, nTest / 2, nTest - 1} {
			s := 0.0
			for r := 0; r < cfg.Repeats; r++ {
				s += float64(rec.Test.Repeats[c][r][tt])
			}
			if got := float64(rec.Test.Rates.At(tt, c)); math.Abs(got-s/float64(cfg.Repeats)) > 1e-3*(1+math.Abs(got)) {
				t.Errorf("cell %d t %d: test rate %v is not the repeat mean %v", c, tt, got, s/float64(cfg.Repeats))
			}
		}
	}
	// Rates are the smoothed counts, in Hz: total spikes agree.
	var cs, rs float64
	for i := range rec.Train.Counts.Data {
		cs += float64(rec.Train.Counts.Data[i])
		rs += float64(rec.Train.Rates.Data[i]) / cfg.FrameRate
	}
	if cs == 0 || math.Abs(cs-rs) > 0.01*cs {
		t.Errorf("train: %v spikes but the smoothed rate integrates to %v", cs, rs)
	}
	// Interneurons: bipolars and amacrines with whitenoise and flashes groups.
	if len(sim.Interneurons) != 2 || sim.Interneurons[0].CellType != "bipolars" || sim.Interneurons[1].CellType != "amacrines" {
		t.Fatalf("interneuron sets: %v", sim.Interneurons)
	}
	for _, set := range sim.Interneurons {
		var names []string
		for _, g := range set.Groups {
			names = append(names, g.Name)
			if g.Stimuli.T != g.Potentials.Rows || g.Stimuli.H != cfg.H || g.Potentials.Cols == 0 {
				t.Errorf("%s/%s: stimuli [%d,%d,%d] potentials [%d,%d]", set.CellType, g.Name, g.Stimuli.T, g.Stimuli.H, g.Stimuli.W, g.Potentials.Rows, g.Potentials.Cols)
			}
			for c := 0; c < g.Potentials.Cols; c++ {
				m, sd := colMeanSD(g.Potentials.Column(c))
				if math.Abs(m) > 1e-3*(sd+1e-6) || !(sd > 0) {
					t.Errorf("%s/%s cell %d: mean %v SD %v, want detrended (mean 0) and varying", set.CellType, g.Name, c, m, sd)
				}
			}
		}
		if !slices.Equal(names, []string{"whitenoise", "flashes"}) {
			t.Errorf("%s groups %v", set.CellType, names)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func colMeanSD(x []float32) (mean, sd float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	for _, v := range x {
		sd += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, math.Sqrt(sd / float64(len(x)))
}

func TestRatesAndReliability(t *testing.T) {
	sim := simSmall(t, datasets.WhiteNoise, datasets.NaturalScene)
	for _, s := range []string{datasets.WhiteNoise, datasets.NaturalScene} {
		rec := sim.Recordings[s]
		if err := rec.Validate(); err != nil { // also rejects NaN/Inf
			t.Fatal(err)
		}
		var rel []float64
		for c := 0; c < rec.NCells(); c++ {
			m, sd := colMeanSD(rec.Train.Rates.Column(c))
			if m < 1 || m > 60 || sd <= 0 {
				t.Errorf("%s cell %d (%s): mean rate %.2f Hz (SD %.2f), want 1–60 Hz", s, c, sim.Retina.CellTypes()[c], m, sd)
			}
			if tm, _ := colMeanSD(rec.Test.Rates.Column(c)); tm < 1 || tm > 60 {
				t.Errorf("%s cell %d: mean test rate %.2f Hz, want 1–60 Hz", s, c, tm)
			}
			if slices.Min(rec.Train.Rates.Column(c)) < 0 {
				t.Errorf("%s cell %d: negative rate", s, c)
			}
			rel = append(rel, metrics.SplitHalfReliability(rec.Test.Repeats[c]))
		}
		mr := metrics.Mean(rel)
		t.Logf("%s: split-half reliability per cell %.2f, mean %.2f", s, rel, mr)
		if mr < 0.4 || mr > 0.95 {
			t.Errorf("%s: mean split-half reliability %.3f, want 0.4–0.95", s, mr)
		}
		if slices.Min(rel) < 0.2 {
			t.Errorf("%s: a cell has split-half reliability %.3f < 0.2", s, slices.Min(rel))
		}
	}
}

// sta returns the spike-triggered average of the mean stimulus over the pixels within 1.5 px of
// centre, for lags 0..nLag-1 frames before each spike (lag 0: the spike's own frame).
func sta(stim datasets.Movie, counts []float32, centre Point, nLag int) []float64 {
	var pix []int
	for y := 0; y < stim.H; y++ {
		for x := 0; x < stim.W; x++ {
			if (float64(y)-centre.Y)*(float64(y)-centre.Y)+(float64(x)-centre.X)*(float64(x)-centre.X) <= 2.25 {
				pix = append(pix, y*stim.W+x)
			}
		}
	}
	out := make([]float64, nLag)
	var n float64
	for t := nLag; t < stim.T; t++ {
		k := float64(counts[t])
		if k == 0 {
			continue
		}
		n += k
		for lag := 0; lag < nLag; lag++ {
			f := stim.Frame(t - lag)
			s := 0.0
			for _, p := range pix {
				s += float64(f[p])
			}
			out[lag] += k * s / float64(len(pix))
		}
	}
	for i := range out {
		out[i] /= n
	}
	return out
}

func TestSTAPolarity(t *testing.T) {
	sim := simSmall(t, datasets.WhiteNoise)
	rec := sim.Recordings[datasets.WhiteNoise]
	types, centres := sim.Retina.CellTypes(), sim.Retina.CellCentres()
	checked := map[string]int{}
	for c, typ := range types {
		s := sta(rec.Train.Stimulus, rec.Train.Counts.Column(c), centres[c], 25)
		peak := 0
		for i := range s {
			if math.Abs(s[i]) > math.Abs(s[peak]) {
				peak = i
			}
		}
		on := strings.HasPrefix(typ, "ON")
		t.Logf("cell %d %s: STA peak %.3f at lag %d frames", c, typ, s[peak], peak)
		if on && s[peak] <= 0 || !on && s[peak] >= 0 {
			t.Errorf("cell %d (%s): STA peak %.3f at lag %d has the wrong sign", c, typ, s[peak], peak)
		}
		if peak < 1 || peak > 15 {
			t.Errorf("cell %d (%s): STA peak at lag %d frames, want 1–15 (10–150 ms)", c, typ, peak)
		}
		checked[typ[:2]]++
	}
	if checked["ON"] == 0 || checked["OF"] == 0 {
		t.Fatalf("need both ON and OFF cells in the small preset, got types %v", types)
	}
}

// reversingGrating: square-wave bars of the given width along x, with a bar edge (edge=true)
// or a bar centre at column x0, polarity flipping every half frames; T frames of contrast c.
func reversingGrating(h, w, T, half int, width, x0 float64, edge bool, c float32) datasets.Movie {
	m := datasets.NewMovie(T, h, w)
	off := x0 - width/2
	if edge {
		off = x0
	}
	for t := 0; t < T; t++ {
		sign := float32(1)
		if (t/half)%2 == 1 {
			sign = -1
		}
		f := m.Frame(t)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := c * sign
				if int(math.Floor((float64(x)-off)/width))%2 != 0 {
					v = -v
				}
				f[y*w+x] = v
			}
		}
	}
	return m
}

// harmonics returns the amplitudes of the response x at the reversal frequency's first (F1 =
// 1/(2·half) cycles/frame) and second harmonic, skipping the first `skip` frames.
func harmonics(x []float32, half, skip int) (f1, f2 float64) {
	seg := x[skip:]
	n := len(seg)
	amp := func(k float64) float64 {
		var s complex128
		for t, v := range seg {
			s += complex(float64(v), 0) * cmplx.Exp(complex(0, -2*math.Pi*k*float64(t)))
		}
		return 2 * cmplx.Abs(s) / float64(n)
	}
	return amp(1 / float64(2*half)), amp(1 / float64(half))
}

func TestFrequencyDoubling(t *testing.T) {
	cfg, _ := Preset("small")
	ret, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	types, centres := ret.CellTypes(), ret.CellCentres()
	const half, T, skip = 25, 500, 100 // reversal every 250 ms: F1 = 2 Hz, F2 = 4 Hz
	barW := 2.0
	found := map[string]bool{}
	for c, typ := range types {
		switch typ {
		case OFFFast, ONFast:
			// Hochstein & Shapley's test: over the grating's spatial phases, the largest second
			// harmonic exceeds the largest first harmonic (F2/F1 > 1) for cells pooling
			// rectified subunits; a linear cell has F2 ≈ 0 at every phase.
			maxF1, maxF2 := 0.0, 0.0
			for k := 0; k < 8; k++ {
				x0 := centres[c].X + float64(k)*2*barW/8
				g := reversingGrating(cfg.H, cfg.W, T, half, barW, x0, true, 1)
				f1, f2 := harmonics(mustRun(t, ret, g, nil).Rates.Column(c), half, skip)
				maxF1, maxF2 = math.Max(maxF1, f1), math.Max(maxF2, f2)
			}
			t.Logf("cell %d %s: %.0f px bars: max F1 %.2f Hz, max F2 %.2f Hz over phases", c, typ, barW, maxF1, maxF2)
			if !(maxF2 > maxF1) {
				t.Errorf("cell %d (%s): reversing grating of %.0f px bars: max F2 %.3f ≤ max F1 %.3f over phases, want frequency doubling", c, typ, barW, maxF2, maxF1)
			}
			// Control: a bar much wider than the centre, centred on the cell, drives the cell
			// linearly: F1 dominates.
			g := reversingGrating(cfg.H, cfg.W, T, half, 4*barW, centres[c].X, false, 1)
			f1, f2 := harmonics(mustRun(t, ret, g, nil).Rates.Column(c), half, skip)
			t.Logf("cell %d %s: wide bar F1 %.2f Hz, F2 %.2f Hz", c, typ, f1, f2)
			if !(f1 > f2) {
				t.Errorf("cell %d (%s): wide centred bar: F1 %.3f ≤ F2 %.3f, want a linear (F1) response", c, typ, f1, f2)
			}
		default:
			continue
		}
		found[typ] = true
	}
	if !found[OFFFast] || !found[ONFast] {
		t.Fatalf("small preset lacks an OFF-fast or ON-fast cell: %v", types)
	}
}

// flicker returns T frames of full-field Gaussian flicker of SD c.
func flicker(h, w, T int, c float64, rng *rand.Rand) datasets.Movie {
	m := datasets.NewMovie(T, h, w)
	for t := 0; t < T; t++ {
		v := float32(c * rng.NormFloat64())
		f := m.Frame(t)
		for i := range f {
			f[i] = v
		}
	}
	return m
}

// linearFilter estimates the linear filter from stimulus s to response r by reverse correlation
// (cross-covariance / stimulus variance), lags 0..nLag-1.
func linearFilter(s, r []float64, nLag int) []float64 {
	ms, _ := meanSD64(s)
	mr, _ := meanSD64(r)
	var vs float64
	for _, v := range s {
		vs += (v - ms) * (v - ms)
	}
	vs /= float64(len(s))
	out := make([]float64, nLag)
	for lag := range out {
		var acc float64
		for t := nLag; t < len(s); t++ {
			acc += (r[t] - mr) * (s[t-lag] - ms)
		}
		out[lag] = acc / float64(len(s)-nLag) / vs
	}
	return out
}

func meanSD64(x []float64) (float64, float64) {
	var m, v float64
	for _, a := range x {
		m += a
	}
	m /= float64(len(x))
	for _, a := range x {
		v += (a - m) * (a - m)
	}
	return m, math.Sqrt(v / float64(len(x)))
}

// peakTime is the sub-frame position of the largest |h| (parabolic interpolation).
func peakTime(h []float64) float64 {
	p := 0
	for i := range h {
		if math.Abs(h[i]) > math.Abs(h[p]) {
			p = i
		}
	}
	if p == 0 || p == len(h)-1 {
		return float64(p)
	}
	a, b, c := math.Abs(h[p-1]), math.Abs(h[p]), math.Abs(h[p+1])
	return float64(p) + 0.5*(a-c)/(a-2*b+c)
}

func TestContrastAdaptation(t *testing.T) {
	cfg, _ := Preset("small")
	ret, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const T, skip = 6000, 200
	low, high := 0.1, 0.7
	type result struct {
		rateGain []float64 // per ganglion cell: SD(rate)/contrast
		bipGain  float64   // filter amplitude of a central ON-fast bipolar
		bipPeak  float64   // peak time (frames) of that filter
	}
	bipIdx := -1
	bc := ret.BipolarCentres()
	for i, typ := range ret.BipolarTypes() {
		if typ == ONFast && (bipIdx < 0 || math.Hypot(bc[i].Y-9.5, bc[i].X-9.5) < math.Hypot(bc[bipIdx].Y-9.5, bc[bipIdx].X-9.5)) {
			bipIdx = i
		}
	}
	measure := func(c float64) result {
		// Both contrasts see the same (scaled) noise sequence.
		stim := flicker(cfg.H, cfg.W, T, c, rand.New(rand.NewPCG(7, 7)))
		resp := mustRun(t, ret, stim, nil)
		var res result
		for i := 0; i < ret.NCells(); i++ {
			_, sd := colMeanSD(resp.Rates.Column(i)[skip:])
			res.rateGain = append(res.rateGain, sd/c)
		}
		s := make([]float64, T-skip)
		v := make([]float64, T-skip)
		for t := skip; t < T; t++ {
			s[t-skip] = float64(stim.Frame(t)[0])
			v[t-skip] = float64(resp.Bipolar.At(t, bipIdx))
		}
		h := linearFilter(s, v, 30)
		for _, x := range h {
			res.bipGain = math.Max(res.bipGain, math.Abs(x))
		}
		res.bipPeak = peakTime(h)
		return res
	}
	lo, hi := measure(low), measure(high)
	t.Logf("bipolar filter peak %.3f → %.3f, time to peak %.2f → %.2f frames; ganglion gain %.1f → %.1f Hz/contrast",
		lo.bipGain, hi.bipGain, lo.bipPeak, hi.bipPeak, lo.rateGain, hi.rateGain)
	if !(hi.bipGain < 0.8*lo.bipGain) {
		t.Errorf("bipolar gain %.4f at contrast %.1f is not below 0.8 × %.4f at contrast %.1f", hi.bipGain, high, lo.bipGain, low)
	}
	if !(hi.bipPeak < lo.bipPeak) {
		t.Errorf("bipolar filter does not speed up at high contrast: time to peak %.2f (c=%.1f) vs %.2f (c=%.1f) frames", hi.bipPeak, high, lo.bipPeak, low)
	}
	for i := range lo.rateGain {
		if !(hi.rateGain[i] < lo.rateGain[i]) {
			t.Errorf("cell %d (%s): gain %.1f at contrast %.1f ≥ %.1f at contrast %.1f", i, ret.CellTypes()[i], hi.rateGain[i], high, lo.rateGain[i], low)
		}
	}
}

// TestTemporalIntegration: the small preset is modelled with a 20-frame (200 ms) history, so
// the ganglion cells' linear filters must lie mostly within it and peak at a realistic latency.
func TestTemporalIntegration(t *testing.T) {
	cfg, _ := Preset("small")
	ret, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stim := flicker(cfg.H, cfg.W, 20000, 0.35, rand.New(rand.NewPCG(3, 3)))
	resp := mustRun(t, ret, stim, nil)
	s := make([]float64, stim.T)
	for i := range s {
		s[i] = float64(stim.Frame(i)[0])
	}
	for c, typ := range ret.CellTypes() {
		r := make([]float64, stim.T)
		for i := range r {
			r[i] = float64(resp.Rates.At(i, c))
		}
		h := linearFilter(s, r, 60)
		var e, tail float64
		for i, x := range h {
			e += x * x
			if i >= 20 {
				tail += x * x
			}
		}
		peak := peakTime(h)
		t.Logf("cell %d %s: filter peak at %.1f frames, %.1f%% of its energy beyond 20 frames", c, typ, peak, 100*tail/e)
		if tail/e > 0.2 {
			t.Errorf("cell %d (%s): %.0f%% of the filter energy lies beyond 200 ms, want < 20%%", c, typ, 100*tail/e)
		}
		if peak < 1 || peak > 10 {
			t.Errorf("cell %d (%s): filter peak at %.1f frames, want 1–10 (10–100 ms)", c, typ, peak)
		}
		if on := strings.HasPrefix(typ, "ON"); on != (h[int(math.Round(peak))] > 0) {
			t.Errorf("cell %d (%s): full-field filter peak has the wrong sign", c, typ)
		}
	}
}

func TestRetinaRun(t *testing.T) {
	cfg := tinyConfig(t)
	ret, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := ret.NCells()
	if n != cfg.NCells || len(ret.CellTypes()) != n || len(ret.CellCentres()) != n {
		t.Fatalf("%d cells, %d types, %d centres; want %d", n, len(ret.CellTypes()), len(ret.CellCentres()), cfg.NCells)
	}
	for i, p := range ret.CellCentres() {
		if p.Y < 0.25*float64(cfg.H) || p.Y > 0.75*float64(cfg.H) || p.X < 0.25*float64(cfg.W) || p.X > 0.75*float64(cfg.W) {
			t.Errorf("cell %d centre %v is not in the central region of the %dx%d field", i, p, cfg.H, cfg.W)
		}
	}
	want := []string{OFFFast, ONFast, OFFSlow, OMS, ONSlow}
	if !slices.Equal(ret.CellTypes(), want) {
		t.Errorf("cell types %v, want %v", ret.CellTypes(), want)
	}
	stim := datasets.NewMovie(300, cfg.H, cfg.W)
	for t := 100; t < 200; t++ { // dark full-field step
		for i := range stim.Frame(t) {
			stim.Frame(t)[i] = -1
		}
	}
	resp, err := ret.Run(stim, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rates.Rows != 300 || resp.Rates.Cols != n || resp.Spikes.Rows != 300 || resp.Spikes.Cols != n ||
		resp.Bipolar.Rows != 300 || resp.Bipolar.Cols != ret.NBipolars() || len(ret.BipolarCentres()) != ret.NBipolars() ||
		resp.Amacrine.Rows != 300 || resp.Amacrine.Cols != ret.NAmacrines() || len(ret.AmacrineCentres()) != ret.NAmacrines() {
		t.Fatalf("Run shapes: rates %dx%d spikes %dx%d bipolar %dx%d amacrine %dx%d",
			resp.Rates.Rows, resp.Rates.Cols, resp.Spikes.Rows, resp.Spikes.Cols, resp.Bipolar.Rows, resp.Bipolar.Cols, resp.Amacrine.Rows, resp.Amacrine.Cols)
	}
	// Step response: OFF cells fire more just after the dark step than before, ON cells less
	// (and more after the return to grey); OFF-OMS cells are checked with a spot below as well.
	for i, typ := range ret.CellTypes() {
		before := avg(resp.Rates.Column(i)[80:100])
		after := avg(resp.Rates.Column(i)[100:120])
		back := avg(resp.Rates.Column(i)[200:220])
		switch {
		case strings.HasPrefix(typ, "OFF") && !(after > 2*before):
			t.Errorf("cell %d (%s): rate %.1f → %.1f Hz at a dark step; want an OFF response", i, typ, before, after)
		case strings.HasPrefix(typ, "ON-") && !(back > 2*before && after < before+1):
			t.Errorf("cell %d (%s): rate %.1f, dark %.1f, back to grey %.1f Hz; want an ON response", i, typ, before, after, back)
		}
	}
	// OFF-OMS cells, whose wide-field inhibition grows with the stimulated area, answer a dark
	// spot on their centre more than the full-field step of the same contrast.
	for i, typ := range ret.CellTypes() {
		if typ != OMS {
			continue
		}
		c := ret.CellCentres()[i]
		spot := datasets.NewMovie(300, cfg.H, cfg.W)
		for t := 100; t < 200; t++ {
			f := spot.Frame(t)
			for y := 0; y < cfg.H; y++ {
				for x := 0; x < cfg.W; x++ {
					if math.Hypot(float64(y)-c.Y, float64(x)-c.X) <= 2.5 {
						f[y*cfg.W+x] = -1
					}
				}
			}
		}
		y := mustRun(t, ret, spot, nil).Rates.Column(i)
		before, after := avg(y[80:100]), avg(y[100:120])
		full := avg(resp.Rates.Column(i)[100:120])
		t.Logf("cell %d (%s): rate %.1f Hz, dark spot %.1f Hz, dark full field %.1f Hz", i, typ, before, after, full)
		if !(after > 2*before && after > full) {
			t.Errorf("cell %d (%s): rate %.1f, dark spot %.1f, dark full field %.1f Hz; want a spot response above the full-field one", i, typ, before, after, full)
		}
	}
	g, err := ret.RunGanglion(stim, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.Bipolar.Data != nil || g.Amacrine.Data != nil || g.Spikes.Data != nil || !equalF32(g.Rates.Data, resp.Rates.Data) {
		t.Error("RunGanglion: want the same rates as Run and no interneurons or spikes")
	}
	// A wrong stimulus is a validation error naming both sizes, never a panic.
	bad := datasets.NewMovie(10, cfg.H+1, cfg.W)
	short := datasets.Movie{T: 10, H: cfg.H, W: cfg.W, Data: make([]float32, 7)}
	for name, c := range map[string]struct {
		m    datasets.Movie
		want string
	}{
		"wrong frame size": {bad, fmt.Sprintf("stimulus frames are %dx%d, the retina expects %dx%d", cfg.H+1, cfg.W, cfg.H, cfg.W)},
		"too few values":   {short, "7 values for a [10,"},
	} {
		for _, run := range []func(datasets.Movie, *rand.Rand) (Response, error){ret.Run, ret.RunGanglion} {
			if _, err := run(c.m, nil); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: error %v, want one saying %q", name, err, c.want)
			}
		}
	}
}

// A simulated recording says what it is: its preset, seed and content hash (different for
// another seed), and how many trials its test spike counts sum; a file written from it keeps the
// preset and seed.
func TestRecordingSource(t *testing.T) {
	cfg := tinyConfig(t)
	a, err := Simulate(cfg, []string{datasets.WhiteNoise}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed++
	b, err := Simulate(cfg, []string{datasets.WhiteNoise}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ra, rb := a.Recordings[datasets.WhiteNoise], b.Recordings[datasets.WhiteNoise]
	if ra.Source.SimPreset != strings.TrimPrefix(cfg.Name, "sim-") || ra.Source.SimSeed != cfg.Seed-1 || len(ra.Source.SHA256) != 64 {
		t.Fatalf("source %+v", ra.Source)
	}
	if ra.Source.SHA256 == rb.Source.SHA256 {
		t.Fatal("two seeds give the same content hash")
	}
	changes := strings.Join(ra.Source.Changes(rb.Source), "; ")
	if !strings.Contains(changes, fmt.Sprintf("simulator seed %d → %d", cfg.Seed-1, cfg.Seed)) || !strings.Contains(changes, "content hash") {
		t.Fatalf("changes: %q", changes)
	}
	if len(ra.Source.Changes(ra.Source)) != 0 {
		t.Fatal("a source differs from itself")
	}
	if ra.Train.CountTrials != 1 || ra.Test.CountTrials != cfg.Repeats {
		t.Fatalf("count trials: train %d test %d, want 1 and %d", ra.Train.CountTrials, ra.Test.CountTrials, cfg.Repeats)
	}
	path := filepath.Join(t.TempDir(), "w.h5")
	if err := datasets.WriteFile(path, ra); err != nil {
		t.Fatal(err)
	}
	got, err := datasets.LoadFile(path, datasets.WhiteNoise, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source.SimPreset != ra.Source.SimPreset || got.Source.SimSeed != ra.Source.SimSeed || got.Test.CountTrials != cfg.Repeats {
		t.Fatalf("reloaded source %+v, count trials %d", got.Source, got.Test.CountTrials)
	}
}

// mustRun is Retina.Run for stimuli that are valid by construction.
func mustRun(t *testing.T, ret *Retina, stim datasets.Movie, rng *rand.Rand) Response {
	t.Helper()
	resp, err := ret.Run(stim, rng)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func avg(x []float32) float64 { m, _ := colMeanSD(x); return m }

// TestDeadLeavesSpectrum checks that the procedural natural images have a power spectrum
// falling roughly as 1/f² (amplitude ∝ 1/f), like natural images.
func TestDeadLeavesSpectrum(t *testing.T) {
	const size = 64
	power := make([]float64, size/2)
	count := make([]float64, size/2)
	for k := 0; k < 8; k++ {
		img := deadLeaves(size, rand.New(rand.NewPCG(uint64(k), 3)))
		m, sd := colMeanSD(img.Pix)
		if math.Abs(m) > 0.5 || sd < 0.4 || sd > 2 {
			t.Errorf("image %d: mean %.2f SD %.2f, want ≈ 0 and ≈ 1", k, m, sd)
		}
		// 2-D DFT via rows then columns.
		f := make([]complex128, size*size)
		for i, v := range img.Pix {
			f[i] = complex(float64(v)-m, 0)
		}
		dft2(f, size)
		for u := 0; u < size; u++ {
			for v := 0; v < size; v++ {
				fu, fv := min(u, size-u), min(v, size-v)
				r := int(math.Round(math.Hypot(float64(fu), float64(fv))))
				if r >= 1 && r < size/2 {
					power[r] += cmplx.Abs(f[u*size+v]) * cmplx.Abs(f[u*size+v])
					count[r]++
				}
			}
		}
	}
	// Least-squares slope of log power vs log frequency over 2..size/4.
	var xs, ys []float64
	for r := 2; r <= size/4; r++ {
		xs = append(xs, math.Log(float64(r)))
		ys = append(ys, math.Log(power[r]/count[r]))
	}
	mx, _ := meanSD64(xs)
	my, _ := meanSD64(ys)
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	slope := sxy / sxx
	t.Logf("dead-leaves power spectrum slope %.2f", slope)
	if slope < -3 || slope > -1.4 {
		t.Errorf("power spectrum slope %.2f, want ≈ −2 (in [−3, −1.4])", slope)
	}
}

func dft2(f []complex128, n int) {
	tmp := make([]complex128, n)
	line := func(get func(i int) complex128, set func(i int, v complex128)) {
		for k := 0; k < n; k++ {
			var s complex128
			for j := 0; j < n; j++ {
				s += get(j) * cmplx.Exp(complex(0, -2*math.Pi*float64(j*k)/float64(n)))
			}
			tmp[k] = s
		}
		for k := 0; k < n; k++ {
			set(k, tmp[k])
		}
	}
	for r := 0; r < n; r++ {
		line(func(i int) complex128 { return f[r*n+i] }, func(i int, v complex128) { f[r*n+i] = v })
	}
	for c := 0; c < n; c++ {
		line(func(i int) complex128 { return f[i*n+c] }, func(i int, v complex128) { f[i*n+c] = v })
	}
}

func TestImagesDir(t *testing.T) {
	dir := t.TempDir()
	// Two photos: left half dark / right half bright, and a smooth gradient.
	for k := 0; k < 2; k++ {
		img := image.NewGray(image.Rect(0, 0, 80, 70))
		for y := 0; y < 70; y++ {
			for x := 0; x < 80; x++ {
				v := uint8(40)
				if k == 0 && x >= 40 {
					v = 200
				}
				if k == 1 {
					v = uint8(2*x + y)
				}
				img.SetGray(x, y, color.Gray{Y: v})
			}
		}
		f, err := os.Create(filepath.Join(dir, []string{"a.png", "b.PNG"}[k]))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644)
	cfg := tinyConfig(t)
	cfg.ImagesDir = dir
	sim, err := Simulate(cfg, []string{datasets.NaturalScene}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := sim.Recordings[datasets.NaturalScene]
	if !strings.Contains(rec.Provenance, dir) {
		t.Errorf("provenance %q does not name the images folder", rec.Provenance)
	}
	// The dark/bright photo gives at most 2 distinct grey levels per frame; dead leaves would
	// give many.
	levels := map[float32]bool{}
	for _, v := range rec.Train.Stimulus.Data {
		levels[v] = true
	}
	if len(levels) > 2+int(70+2*80) {
		t.Errorf("%d distinct stimulus values: the photos were not used", len(levels))
	}
	m, sd := colMeanSD(rec.Train.Stimulus.Data)
	if math.Abs(m) > 0.7 || sd < 0.3 || sd > 2 {
		t.Errorf("photo stimulus mean %.2f SD %.2f, want roughly z-scored", m, sd)
	}
	cfg.ImagesDir = t.TempDir() // empty
	if _, err := Simulate(cfg, []string{datasets.NaturalScene}, nil); err == nil || !errors.Is(err, ErrImages) ||
		!strings.Contains(err.Error(), "images folder "+cfg.ImagesDir) || strings.Contains(err.Error(), "ImagesDir:") {
		t.Errorf("empty images folder: expected an error naming the images folder (not a Go field), got %v", err)
	}
}

// ContrastRange changes each natural image's contrast and nothing else: with it off (0 or 1)
// the movie is bit for bit the presets' (existing seeds keep their data); with it on, every
// image is the same image on the same path scaled by one factor in (1/ContrastRange, 1], the
// factors differ between images, and they spread over most of the range.
func TestContrastRange(t *testing.T) {
	cfg, _ := Preset("small")
	const T = 3000 // 20 images of 150 frames
	per := cfg.frames(cfg.ImageSeconds)
	base := naturalSceneMovie(cfg, T, "naturalscene/train", nil)
	one := cfg
	one.ContrastRange = 1
	if got := naturalSceneMovie(one, T, "naturalscene/train", nil); !slices.Equal(got.Data, base.Data) {
		t.Fatal("ContrastRange 1 changed the movie; expected the presets' movie")
	}
	var3 := cfg
	var3.ContrastRange = 3
	got := naturalSceneMovie(var3, T, "naturalscene/train", nil)
	lo, hi := math.Inf(1), math.Inf(-1)
	factors := map[float64]bool{}
	for k := 0; k < T/per; k++ {
		b, g := base.Slice(k*per, (k+1)*per), got.Slice(k*per, (k+1)*per)
		// The factor of this image: the ratio of the two movies' SDs; every pixel must
		// follow it.
		var sb, sg float64
		for i := range b.Data {
			sb += float64(b.Data[i]) * float64(b.Data[i])
			sg += float64(g.Data[i]) * float64(g.Data[i])
		}
		f := math.Sqrt(sg / sb)
		if !(f > 1/3.0-1e-6 && f <= 1+1e-6) {
			t.Fatalf("image %d: contrast factor %.4f; expected one in (1/3, 1]", k, f)
		}
		for i := range b.Data {
			if d := math.Abs(float64(g.Data[i]) - f*float64(b.Data[i])); d > 1e-4*(1+math.Abs(float64(b.Data[i]))) {
				t.Fatalf("image %d, value %d: %v, expected %v × %v: not the same image scaled", k, i, g.Data[i], f, b.Data[i])
			}
		}
		lo, hi = math.Min(lo, f), math.Max(hi, f)
		factors[math.Round(f*1e4)] = true
	}
	if len(factors) < T/per-1 {
		t.Errorf("%d distinct contrast factors over %d images; expected one per image", len(factors), T/per)
	}
	if hi/lo < 2 {
		t.Errorf("contrast factors span %.3f–%.3f over %d images; expected most of the range 1/3–1", lo, hi, T/per)
	}
}

// With ContrastRange on, the white-noise recording's training stimulus is the same checks
// with each block of wnBlock frames scaled by its own factor, while the retina (its
// calibration, hence its response to a fixed movie) and the interneuron files are those of the
// same seed without it.
func TestContrastRangeWhiteNoise(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.TrainSeconds = 35 // 3500 frames: 4 blocks
	stims := []string{datasets.WhiteNoise}
	plain, err := Simulate(cfg, stims, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ContrastRange = 4
	varied, err := Simulate(cfg, stims, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := plain.Recordings[datasets.WhiteNoise].Train.Stimulus, varied.Recordings[datasets.WhiteNoise].Train.Stimulus
	var factors []float64
	for k := 0; k*wnBlock < a.T; k++ {
		pa, pb := a.Slice(k*wnBlock, min((k+1)*wnBlock, a.T)), b.Slice(k*wnBlock, min((k+1)*wnBlock, b.T))
		f := math.Abs(float64(pb.Data[0] / pa.Data[0])) // binary checks: |value| is the contrast
		if !(f > 0.25-1e-6 && f <= 1+1e-6) {
			t.Fatalf("block %d: contrast factor %v; expected one in (1/4, 1]", k, f)
		}
		for i := range pa.Data {
			if d := math.Abs(float64(pb.Data[i]) - f*float64(pa.Data[i])); d > 1e-5 {
				t.Fatalf("block %d, value %d: %v, expected %v × %v: not the same checks scaled", k, i, pb.Data[i], f, pa.Data[i])
			}
		}
		factors = append(factors, f)
	}
	if slices.Min(factors) == slices.Max(factors) {
		t.Errorf("contrast factors %v: expected them to differ between blocks", factors)
	}
	probe := a.Slice(0, 300)
	ra, err := plain.Retina.Run(probe, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := varied.Retina.Run(probe, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ra.Rates.Data, rb.Rates.Data) {
		t.Error("the retina's responses to the same movie changed with ContrastRange: its calibration must not")
	}
	for i, set := range plain.Interneurons {
		for j, g := range set.Groups {
			h := varied.Interneurons[i].Groups[j]
			if !slices.Equal(g.Stimuli.Data, h.Stimuli.Data) || !slices.Equal(g.Potentials.Data, h.Potentials.Data) {
				t.Errorf("%s group %s changed with ContrastRange", set.CellType, g.Name)
			}
		}
	}
}

// The retina of a configuration does not depend on the white noise's check size: it is
// calibrated on 1-px checks whatever CheckerPixels the recordings use, so that a recording of
// full-field flicker (CheckerPixels ≥ max(H, W)) comes from the retina that phenomena.TruthFor
// rebuilds from the preset and seed.
func TestCheckerPixelsKeepsTheRetina(t *testing.T) {
	cfg := tinyConfig(t)
	plain, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CheckerPixels = max(cfg.H, cfg.W)
	ff, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A probe with spatial structure (1-px checks), so that centres and surrounds are compared.
	pcfg := cfg
	pcfg.CheckerPixels = 1
	probe := whiteNoiseMovie(pcfg, 300, false, rand.New(rand.NewPCG(3, 4)))
	ra, err := plain.Run(probe, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := ff.Run(probe, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ra.Rates.Data, rb.Rates.Data) {
		t.Error("the retina's responses to the same movie changed with CheckerPixels: its calibration must not")
	}
	// Full-field: every frame of the recorded white noise is one value.
	m := whiteNoiseMovie(cfg, 50, false, rand.New(rand.NewPCG(5, 6)))
	for k := 0; k < m.T; k++ {
		f := m.Frame(k)
		if slices.Min(f) != slices.Max(f) {
			t.Fatalf("frame %d spans %v–%v; expected one value over the field with CheckerPixels %d", k, slices.Min(f), slices.Max(f), cfg.CheckerPixels)
		}
	}
}
