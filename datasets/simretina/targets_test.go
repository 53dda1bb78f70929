package simretina

import (
	"slices"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/datasets"
)

// circuitRates runs the circuit through its public Run as simulateRecording runs it: from rest,
// first `warm` frames taken from the end of the movie (not kept), then the movie. It is the
// expected rate the recordings' responses are derived from.
func circuitRates(t *testing.T, ret *Retina, movie datasets.Movie, warm int) datasets.Matrix {
	t.Helper()
	warm = min(warm, movie.T)
	frame := movie.H * movie.W
	lead := datasets.Movie{T: warm + movie.T, H: movie.H, W: movie.W}
	lead.Data = append(slices.Clone(movie.Data[(movie.T-warm)*frame:]), movie.Data...)
	resp := mustRun(t, ret, lead, nil)
	n := resp.Rates.Cols
	return datasets.Matrix{Rows: movie.T, Cols: n, Data: resp.Rates.Data[warm*n:]}
}

// Targets = TargetsRates (the learnability control of issue 19) replaces the responses of both
// splits, and every test repeat, by the circuit's noiseless rates for the same seed, bit for bit;
// the stimuli and spike counts stay those of the spikes targets, and the provenance says the
// targets are noiseless (after the preset and seed, which phenomena.TruthFor parses). The
// default ("" or TargetsSpikes) still smooths the spikes the circuit's rates give, and the two
// spellings give the same recording. An unknown value is refused, naming the field.
func TestTargetsRates(t *testing.T) {
	cfg := tinyConfig(t)
	stims := []string{datasets.WhiteNoise, datasets.NaturalScene}
	spikes, err := Simulate(cfg, stims, nil)
	if err != nil {
		t.Fatal(err)
	}
	explicit := cfg
	explicit.Targets = TargetsSpikes
	spikes2, err := Simulate(explicit, stims, nil)
	if err != nil {
		t.Fatal(err)
	}
	noiseless := cfg
	noiseless.Targets = TargetsRates
	rates, err := Simulate(noiseless, stims, nil)
	if err != nil {
		t.Fatal(err)
	}
	warm := cfg.frames(2)
	for _, stim := range stims {
		s, s2, r := spikes.Recordings[stim], spikes2.Recordings[stim], rates.Recordings[stim]
		if s.Source.SHA256 != s2.Source.SHA256 || s.Provenance != s2.Provenance {
			t.Errorf("%s: Targets %q and %q gave different recordings", stim, "", TargetsSpikes)
		}
		if !strings.HasPrefix(r.Provenance, "simulated retina preset=small seed=1 ") || !strings.HasSuffix(r.Provenance, noiselessTargetsNote) ||
			strings.Contains(s.Provenance, "NOISELESS") {
			t.Errorf("%s: provenance %q (rates) / %q (spikes): expected only the rates recording to say its targets are noiseless, after the preset and seed", stim, r.Provenance, s.Provenance)
		}
		if s.Source.SHA256 == r.Source.SHA256 {
			t.Errorf("%s: the rates targets have the content hash of the spikes targets", stim)
		}
		for _, part := range []struct {
			name       string
			spk, noisy *datasets.Split
			tag        string
		}{{"train", &r.Train, &s.Train, "train"}, {"test", &r.Test, &s.Test, "test"}} {
			sp, noisy := part.spk, part.noisy
			if !equalF32(sp.Stimulus.Data, noisy.Stimulus.Data) || !equalF32(sp.Counts.Data, noisy.Counts.Data) || sp.CountTrials != noisy.CountTrials {
				t.Errorf("%s %s: stimulus, counts or count trials differ between the targets; expected only the responses to", stim, part.name)
			}
			want := circuitRates(t, rates.Retina, sp.Stimulus, warm)
			if !equalF32(sp.Rates.Data, want.Data) {
				t.Errorf("%s %s: rates targets are not the circuit's noiseless rates", stim, part.name)
			}
			if equalF32(noisy.Rates.Data, want.Data) {
				t.Errorf("%s %s: spikes targets equal the noiseless rates; expected smoothed spikes", stim, part.name)
			}
			if part.name == "train" {
				// The default's responses, recomputed from the circuit's rates: the spikes of the
				// train stream, smoothed.
				smoothed := smoothRates(spikes.Retina.Spikes(want, cfg.stream(stim+"/train/spikes", 0)), cfg)
				if !equalF32(noisy.Rates.Data, smoothed.Data) {
					t.Errorf("%s train: spikes targets are not the smoothed spikes of the circuit's rates", stim)
				}
				continue
			}
			if len(sp.Repeats) != cfg.NCells {
				t.Fatalf("%s test: %d cells of repeats, want %d", stim, len(sp.Repeats), cfg.NCells)
			}
			for c, reps := range sp.Repeats {
				if len(reps) != cfg.Repeats {
					t.Fatalf("%s test cell %d: %d repeats, want %d", stim, c, len(reps), cfg.Repeats)
				}
				for k, rep := range reps {
					if !equalF32(rep, want.Column(c)) {
						t.Errorf("%s test cell %d repeat %d: not the noiseless rate", stim, c, k)
					}
				}
				// Each repeat its own slice: a caller that edits one does not edit the others.
				if len(reps) > 1 && &reps[0][0] == &reps[1][0] {
					t.Errorf("%s test cell %d: repeats share storage", stim, c)
				}
			}
		}
	}
	bad := cfg
	bad.Targets = "noise-free"
	if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "config field Targets") ||
		!strings.Contains(err.Error(), TargetsSpikes) || !strings.Contains(err.Error(), TargetsRates) {
		t.Errorf("Targets %q: error %v; expected one naming the field and its values", bad.Targets, err)
	}
	if _, err := Simulate(bad, stims, nil); err == nil {
		t.Error("Simulate accepted Targets \"noise-free\"")
	}
}
