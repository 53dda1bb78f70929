package datasets_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
)

// writeSmallRecording writes a short simulated recording, <root>/sim-small/whitenoise.h5, in
// the lab's layout: the stand-in for a folder of the lab's files.
func writeSmallRecording(root string) error {
	cfg, err := simretina.Preset("small")
	if err != nil {
		return err
	}
	cfg.TrainSeconds, cfg.TestSeconds, cfg.Repeats = 20, 5, 4
	sim, err := simretina.Simulate(cfg, []string{datasets.WhiteNoise}, nil)
	if err != nil {
		return err
	}
	return datasets.WriteFile(filepath.Join(root, "sim-small", "whitenoise.h5"), sim.Recordings[datasets.WhiteNoise])
}

// Load a recording from a data root (<root>/<expt>/<stim>.h5), keep some of its cells, and cut
// its training split into the stimulus-history windows a model trains on.
func ExampleLoad() {
	root, err := os.MkdirTemp("", "deepretina-data-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	if err := writeSmallRecording(root); err != nil {
		log.Fatal(err)
	}

	rec, err := datasets.Load(root, "sim-small", datasets.WhiteNoise, []int{0, 2, 5}) // nil: every cell
	if err != nil {
		log.Fatal(err) // errors name the file, the dataset and the position of a bad value
	}
	fmt.Println(rec.Expt, rec.Stim, "cells", rec.CellIDs, "at", rec.FrameRate, "Hz")
	st := rec.Train.Stimulus
	fmt.Printf("train: stimulus [%d, %d, %d], rates [%d, %d]\n", st.T, st.H, st.W, rec.Train.Rates.Rows, rec.Train.Rates.Cols)
	fmt.Printf("test: %d frames, %d repeats per cell, counts summed over %d trials\n",
		rec.Test.Len(), len(rec.Test.Repeats[0]), rec.Test.CountTrials)
	fmt.Println("simulated:", rec.Source.SimPreset, "seed", rec.Source.SimSeed, "sha256 of", len(rec.Source.SHA256)/2, "bytes")

	w, err := datasets.NewWindows(rec.Train.Stimulus, datasets.ComputeNormStats(rec.Train.Stimulus), rec.Train.Rates, 40)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("windows: %d of [%d, %d, %d] → %d cells\n", w.Len(), w.History, st.H, st.W, w.NCells())
	// Output:
	// sim-small whitenoise cells [0 2 5] at 100 Hz
	// train: stimulus [2000, 20, 20], rates [2000, 3]
	// test: 500 frames, 4 repeats per cell, counts summed over 4 trials
	// simulated: small seed 1 sha256 of 32 bytes
	// windows: 1960 of [40, 20, 20] → 3 cells
}

// Recordings built in memory are checked with the vocabulary of the files.
func ExampleRecording_Validate() {
	rec := &datasets.Recording{Expt: "demo", Stim: datasets.WhiteNoise, CellIDs: []int{0}, FrameRate: 100}
	for _, sp := range []*datasets.Split{&rec.Train, &rec.Test} {
		sp.Stimulus = datasets.NewMovie(4, 2, 2)
		for i := range sp.Stimulus.Data {
			sp.Stimulus.Data[i] = float32(i % 3)
		}
		sp.Rates = datasets.NewMatrix(4, 1)
	}
	fmt.Println(rec.Validate())
	rec.Test.Rates.Set(2, 0, -1)
	fmt.Println(rec.Validate())
	// Output:
	// <nil>
	// dataset "test/response/firing_rate_10ms": value at [0, 2] is -1 (cell 0, frame 2); firing rates and spike counts cannot be negative
}
