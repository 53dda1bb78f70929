package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/datasets"
)

// simulate --object-motion N puts N independently moving objects over each natural image:
// --object-motion 0 writes the same stimulus and provenance as no flag, N > 0 changes the
// stimulus and says so in the provenance, the white-noise recording is untouched, and values
// out of range are refused naming the flag and the range.
func TestSimulateObjectMotion(t *testing.T) {
	work := t.TempDir()
	load := func(name, stim string, args ...string) *datasets.Recording {
		t.Helper()
		dir := filepath.Join(work, name)
		args = append([]string{"simulate", "--out", dir, "--train-seconds", "3"}, args...)
		if out, err := run(t, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		rec, err := datasets.LoadFile(filepath.Join(dir, "sim-small", stim+".h5"), stim, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	plain, zero, three := load("plain", datasets.NaturalScene), load("zero", datasets.NaturalScene, "--object-motion", "0"),
		load("three", datasets.NaturalScene, "--object-motion", "3")
	if !slices.Equal(plain.Train.Stimulus.Data, zero.Train.Stimulus.Data) || !slices.Equal(plain.Test.Stimulus.Data, zero.Test.Stimulus.Data) || !sameProvenance(plain.Provenance, zero.Provenance) {
		t.Errorf("--object-motion 0 changed the natural-scene recording; expected the preset's (provenance %q vs %q)", zero.Provenance, plain.Provenance)
	}
	if slices.Equal(plain.Train.Stimulus.Data, three.Train.Stimulus.Data) || slices.Equal(plain.Test.Stimulus.Data, three.Test.Stimulus.Data) {
		t.Error("--object-motion 3 left the training or test stimulus unchanged")
	}
	if !strings.Contains(three.Provenance, "3 independently moving objects per image") {
		t.Errorf("provenance %q: expected it to name the moving objects", three.Provenance)
	}
	wnPlain, wnThree := load("plain", datasets.WhiteNoise), load("three", datasets.WhiteNoise)
	if !slices.Equal(wnPlain.Train.Stimulus.Data, wnThree.Train.Stimulus.Data) || !slices.Equal(wnPlain.Train.Rates.Data, wnThree.Train.Rates.Data) {
		t.Error("--object-motion changed the white-noise recording; expected the same retina and checks")
	}
	for _, bad := range []string{"-1", "101"} {
		out, err := run(t, "simulate", "--out", filepath.Join(work, "bad"), "--object-motion", bad)
		if err == nil || !strings.Contains(out, "--object-motion "+bad) || !strings.Contains(out, "from 0 (off) to 100") {
			t.Errorf("--object-motion %s: err %v; expected an error naming the flag and the range:\n%s", bad, err, out)
		}
	}
	if out, err := run(t, "simulate", "--out", filepath.Join(work, "bad"), "--object-motion", "1.5"); err == nil || !strings.Contains(out, "object-motion") {
		t.Errorf("--object-motion 1.5: err %v; expected an error naming the flag:\n%s", err, out)
	}
}

// sameProvenance compares two recordings' provenance up to the "; loaded from PATH" the loader
// appends.
func sameProvenance(a, b string) bool {
	a, _, _ = strings.Cut(a, "; loaded from ")
	b, _, _ = strings.Cut(b, "; loaded from ")
	return a == b
}
