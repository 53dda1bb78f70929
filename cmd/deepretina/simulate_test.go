package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/datasets"
)

// simulate --train-seconds lengthens only the training segment: the same retina gives the same
// test segment (stimulus and responses), so runs trained on recordings of different lengths
// are scored on the same test set. A length that is no positive number is refused.
func TestSimulateTrainSeconds(t *testing.T) {
	work := t.TempDir()
	load := func(seconds string) *datasets.Recording {
		t.Helper()
		dir := filepath.Join(work, seconds)
		if out, err := run(t, "simulate", "--out", dir, "--stim", "whitenoise", "--train-seconds", seconds); err != nil {
			t.Fatalf("simulate --train-seconds %s: %v\n%s", seconds, err, out)
		}
		rec, err := datasets.LoadFile(filepath.Join(dir, "sim-small", "whitenoise.h5"), datasets.WhiteNoise, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	short, long := load("3"), load("6")
	if short.Train.Stimulus.T != 300 || long.Train.Stimulus.T != 600 {
		t.Errorf("training frames: got %d and %d; expected 300 and 600 (3 s and 6 s at 100 Hz)", short.Train.Stimulus.T, long.Train.Stimulus.T)
	}
	if !slices.Equal(short.Test.Stimulus.Data, long.Test.Stimulus.Data) || short.Test.Stimulus.T == 0 {
		t.Error("the test stimulus changed with the length of the training segment")
	}
	if !slices.Equal(short.Test.Rates.Data, long.Test.Rates.Data) {
		t.Error("the test responses changed with the length of the training segment")
	}
	for _, bad := range []string{"0", "-5", "NaN"} {
		out, err := run(t, "simulate", "--out", filepath.Join(work, "bad"), "--train-seconds", bad)
		if err == nil || !strings.Contains(out, "--train-seconds") || !strings.Contains(out, "positive") {
			t.Errorf("--train-seconds %s: err %v; expected an error naming the flag:\n%s", bad, err, out)
		}
	}
}

// simulate --contrast-range gives each natural image its own contrast: the movie changes, the
// retina does not (the same cells' white-noise calibration, so the same recording layout), and
// the provenance says so. --image-seconds and --jitter reach the natural scenes. Values out of
// range are refused with the flag's name.
func TestSimulateContrastRange(t *testing.T) {
	work := t.TempDir()
	load := func(name string, args ...string) *datasets.Recording {
		t.Helper()
		dir := filepath.Join(work, name)
		args = append([]string{"simulate", "--out", dir, "--stim", "naturalscene", "--train-seconds", "3"}, args...)
		if out, err := run(t, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		rec, err := datasets.LoadFile(filepath.Join(dir, "sim-small", "naturalscene.h5"), datasets.NaturalScene, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	plain, one, varied := load("plain"), load("one", "--contrast-range", "1"), load("varied", "--contrast-range", "3")
	if !slices.Equal(plain.Train.Stimulus.Data, one.Train.Stimulus.Data) {
		t.Error("--contrast-range 1 changed the training stimulus; expected the preset's")
	}
	if slices.Equal(plain.Train.Stimulus.Data, varied.Train.Stimulus.Data) {
		t.Error("--contrast-range 3 left the training stimulus unchanged")
	}
	if !strings.Contains(varied.Provenance, "÷3^U(0,1) per image") || strings.Contains(plain.Provenance, "^U(0,1)") {
		t.Errorf("provenance %q / %q: expected only the varied recording to name its per-image contrast", varied.Provenance, plain.Provenance)
	}
	for _, bad := range [][2]string{{"--contrast-range", "0.5"}, {"--contrast-range", "NaN"}, {"--contrast-range", "+Inf"},
		{"--image-seconds", "0"}, {"--image-seconds", "NaN"}, {"--jitter", "-1"}, {"--jitter", "+Inf"}} {
		out, err := run(t, "simulate", "--out", filepath.Join(work, "bad"), bad[0], bad[1])
		if err == nil || !strings.Contains(out, bad[0]) {
			t.Errorf("%s %s: err %v; expected an error naming the flag:\n%s", bad[0], bad[1], err, out)
		}
	}
	// --image-seconds and --jitter reach the natural scenes (and their provenance).
	short := load("short", "--image-seconds", "0.5", "--jitter", "1")
	if slices.Equal(plain.Train.Stimulus.Data, short.Train.Stimulus.Data) || !strings.Contains(short.Provenance, "0.5 s per image, jitter 1 px/frame") {
		t.Errorf("--image-seconds 0.5 --jitter 1: stimulus unchanged or provenance %q does not say so", short.Provenance)
	}
}

// simulate --targets rates writes the circuit's noiseless rates as the responses (the
// learnability control of issue 19): the same stimulus and spike counts as --targets spikes,
// test repeats all alike, and a provenance that says the targets are noiseless. --targets
// spikes is the default. An unknown value is refused with the flag's name and both values.
func TestSimulateTargets(t *testing.T) {
	work := t.TempDir()
	load := func(name string, args ...string) *datasets.Recording {
		t.Helper()
		dir := filepath.Join(work, name)
		args = append([]string{"simulate", "--out", dir, "--stim", "whitenoise", "--train-seconds", "3"}, args...)
		if out, err := run(t, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		rec, err := datasets.LoadFile(filepath.Join(dir, "sim-small", "whitenoise.h5"), datasets.WhiteNoise, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	plain, spikes, rates := load("plain"), load("spikes", "--targets", "spikes"), load("rates", "--targets", "rates")
	if plain.Source.SHA256 != spikes.Source.SHA256 {
		t.Error("--targets spikes changed the recording; expected the default's")
	}
	if !slices.Equal(plain.Train.Stimulus.Data, rates.Train.Stimulus.Data) || !slices.Equal(plain.Test.Counts.Data, rates.Test.Counts.Data) {
		t.Error("--targets rates changed the stimulus or the spike counts; expected only the responses to change")
	}
	if slices.Equal(plain.Train.Rates.Data, rates.Train.Rates.Data) {
		t.Error("--targets rates left the training responses unchanged")
	}
	for c, reps := range rates.Test.Repeats {
		for k := 1; k < len(reps); k++ {
			if !slices.Equal(reps[k], reps[0]) {
				t.Fatalf("--targets rates: cell %d repeat %d differs from repeat 0; noiseless repeats are identical", c, k)
			}
		}
	}
	if !strings.Contains(rates.Provenance, "TARGETS ARE NOISELESS") || !strings.Contains(rates.Provenance, "not a recording") ||
		strings.Contains(plain.Provenance, "NOISELESS") {
		t.Errorf("provenance %q / %q: expected only --targets rates to say its targets are noiseless", rates.Provenance, plain.Provenance)
	}
	for _, bad := range []string{"", "rate", "noiseless"} {
		out, err := run(t, "simulate", "--out", filepath.Join(work, "bad"), "--targets", bad)
		if err == nil || !strings.Contains(out, "--targets") || !strings.Contains(out, "spikes") || !strings.Contains(out, "rates") {
			t.Errorf("--targets %q: err %v; expected an error naming the flag and its values:\n%s", bad, err, out)
		}
	}
}

// A run trained on noiseless targets carries that in its record ("data" in run.json), so its
// numbers are not mistaken for a fit to recorded data.
func TestNoiselessTargetsReachTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains a run end to end; runs in the full tier, scripts/test.sh")
	}
	work := t.TempDir()
	data := filepath.Join(work, "data")
	if out, err := run(t, "simulate", "--out", data, "--stim", "whitenoise", "--train-seconds", "3", "--targets", "rates"); err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	cfg := tinyConfig(t, work, `, "n_epochs": 1, "max_train_windows": 128`)
	runs := filepath.Join(work, "runs")
	if out, err := run(t, "train", "--no-ln", "--config", cfg, "--data", data, "--out", runs); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	var meta struct {
		Data string `json:"data"`
	}
	readJSON(t, filepath.Join(runs, "tiny", "run.json"), &meta)
	if !strings.Contains(meta.Data, "TARGETS ARE NOISELESS") {
		t.Errorf("run.json data %q: expected it to say the targets are noiseless", meta.Data)
	}
}

// simulate --checker-pixels sets the white noise's check size and --noise its values: with
// checks as large as the field and Gaussian values the white-noise recording is spatially
// uniform full-field flicker of continuous values, while the natural-scene recording (its
// stimulus and responses, hence the retina) is that of the preset. Values out of range are
// refused with the flag's name.
func TestSimulateCheckerPixels(t *testing.T) {
	work := t.TempDir()
	load := func(name string, args ...string) (wn, ns *datasets.Recording) {
		t.Helper()
		dir := filepath.Join(work, name)
		args = append([]string{"simulate", "--out", dir, "--train-seconds", "3"}, args...)
		if out, err := run(t, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		wn, err := datasets.LoadFile(filepath.Join(dir, "sim-small", "whitenoise.h5"), datasets.WhiteNoise, nil)
		if err != nil {
			t.Fatal(err)
		}
		ns, err = datasets.LoadFile(filepath.Join(dir, "sim-small", "naturalscene.h5"), datasets.NaturalScene, nil)
		if err != nil {
			t.Fatal(err)
		}
		return wn, ns
	}
	plainWN, plainNS := load("plain")
	ffWN, ffNS := load("ff", "--checker-pixels", "20", "--noise", "gaussian")
	if plainNS.Source.SHA256 != ffNS.Source.SHA256 || !slices.Equal(plainNS.Train.Stimulus.Data, ffNS.Train.Stimulus.Data) ||
		!slices.Equal(plainNS.Train.Rates.Data, ffNS.Train.Rates.Data) || !slices.Equal(plainNS.Test.Rates.Data, ffNS.Test.Rates.Data) {
		t.Error("--checker-pixels 20 --noise gaussian changed the natural-scene recording; expected the preset's, the same retina")
	}
	if slices.Equal(plainWN.Train.Stimulus.Data, ffWN.Train.Stimulus.Data) {
		t.Fatal("--checker-pixels 20 --noise gaussian left the white noise unchanged")
	}
	// Every frame is one value over the field (full-field flicker), the values change from
	// frame to frame, and they are Gaussian: not all ±1 as the preset's binary checks are.
	for _, split := range []datasets.Split{ffWN.Train, ffWN.Test} {
		m := split.Stimulus
		distinct := map[float32]bool{}
		for k := 0; k < m.T; k++ {
			f := m.Frame(k)
			for i, v := range f {
				if v != f[0] {
					t.Fatalf("frame %d pixel %d: %v, pixel 0: %v; expected a spatially uniform frame", k, i, v, f[0])
				}
			}
			distinct[f[0]] = true
		}
		if len(distinct) < m.T/2 {
			t.Errorf("%d distinct values over %d frames; expected Gaussian values that change every frame", len(distinct), m.T)
		}
	}
	binary := map[float32]bool{}
	for _, v := range plainWN.Train.Stimulus.Data {
		binary[v] = true
	}
	if len(binary) != 2 {
		t.Errorf("the preset's white noise has %d distinct values; expected binary ±contrast (the default --noise)", len(binary))
	}
	if !strings.Contains(ffWN.Provenance, "Gaussian white noise, 20 px checks = full-field flicker") {
		t.Errorf("provenance %q: expected it to name Gaussian full-field flicker", ffWN.Provenance)
	}
	for _, bad := range [][2]string{{"--checker-pixels", "0"}, {"--checker-pixels", "21"}, {"--checker-pixels", "-3"}, {"--noise", "uniform"}} {
		out, err := run(t, "simulate", "--out", filepath.Join(work, "bad"), bad[0], bad[1])
		if err == nil || !strings.Contains(out, bad[0]) || !strings.Contains(out, "expected") {
			t.Errorf("%s %s: err %v; expected an error naming the flag and what it expects:\n%s", bad[0], bad[1], err, out)
		}
	}
}
