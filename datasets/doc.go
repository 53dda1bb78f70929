// Package datasets holds the data of deepretina: ganglion-cell recordings in the layout of the
// Baccus lab's files (a training stimulus with its firing rates, a repeated test stimulus with
// trial-averaged rates and single-trial repeats), interneuron recordings (bipolar and amacrine
// membrane potentials), their HDF5 reading and writing, and the stimulus-history windows that
// models train on. The project's built-in data source, a simulated ground-truth retina, is the
// package datasets/simretina: it makes recordings of these types.
//
// A recording from a data root (<root>/<expt>/<stim>.h5, e.g. one `deepretina simulate`
// wrote), some of its cells, and the stimulus-history windows a model trains on (see
// ExampleLoad):
//
//	rec, err := datasets.Load("data", "sim-small", datasets.WhiteNoise, []int{0, 2, 5}) // nil: all cells
//	if err != nil { … }                                // names the file, the dataset, the bad value
//	fmt.Println(rec.CellIDs, rec.Train.Len(), rec.Test.Len(), rec.Test.CountTrials)
//	w, err := datasets.NewWindows(rec.Train.Stimulus, datasets.ComputeNormStats(rec.Train.Stimulus), rec.Train.Rates, 40)
//	fmt.Println(w.Len(), w.NCells())                  // T−40 windows of [40, H, W] → N cells
//
// # Types
//
// A Recording is one stimulus type (WhiteNoise or NaturalScene) of one experiment, with Train and
// Test Splits. Movies are [T, H, W] float32 stimuli, Matrices [T, N] responses (time × cells).
// An InterneuronSet is one interneuron file: one cell type with several stimulus groups.
//
// # Checks and identity
//
// Readers check every value as they read it: NaN, ±Inf, float64 values beyond float32's range
// and negative rates, spike counts or repeats are errors that name the file, the dataset and the
// value's position in the file's own layout; Recording.Validate applies the same rules (and
// refuses a constant stimulus) to recordings built in memory. Test sets with fewer than two
// repeats are valid: the scores that need repeats are then unavailable (NaN), never 0.
// Split.CountTrials says how many trials the spike counts sum (one repeat's counts or their
// sum), so that bits per spike is computed right. Recording.Source identifies the data — file,
// size, SHA-256 of exactly what was read, simulator preset and seed — so that a model can
// refuse to be scored on a recording other than its own:
//
//	rec, err := datasets.LoadFile("data/15-10-07/whitenoise.h5", "", nil)
//	if err != nil { … }                  // e.g. dataset "test/repeats/cell02": value at [1, 3] is NaN (repeat 1, frame 3)
//	fmt.Println(rec.Source.SHA256, rec.Test.CountTrials)
//	fmt.Println(old.Changes(rec.Source)) // [size 100 → 104 bytes content hash 3f2a…→9b1c…]
package datasets
