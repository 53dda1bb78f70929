// Package datasets holds the data of deepretina: ganglion-cell recordings in the layout of the
// Baccus lab's files (a training stimulus with its firing rates, a repeated test stimulus with
// trial-averaged rates and single-trial repeats), interneuron recordings (bipolar and amacrine
// membrane potentials), their HDF5 reading and writing, the stimulus-history windows that models
// train on, and a simulated ground-truth retina that is the project's built-in data source: no
// download, deterministic from a seed.
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
//
// # Simulated retina
//
//	cfg, _ := datasets.SimPreset("small") // or "paper" for the published 50×50 layout
//	cfg.Seed = 7
//	sim, err := datasets.Simulate(cfg, []string{datasets.WhiteNoise, datasets.NaturalScene},
//		func(done, total int) { fmt.Printf("\r%d/%d", done, total) })
//	if err != nil { … }
//	rec := sim.Recordings[datasets.NaturalScene] // Expt "sim-small", cells 0..N−1
//	fmt.Println(sim.Retina.CellTypes(), rec.Train.Len(), rec.Test.Len())
//
//	// Any stimulus [T, H, W] (z-scored intensity, 0 = mean grey) can be run through the circuit:
//	resp, err := sim.Retina.Run(myMovie, rand.New(rand.NewPCG(1, 2))) // error: wrong frame size
//	// resp.Rates [T, N] Hz, resp.Spikes [T, N], resp.Bipolar [T, Nb], resp.Amacrine [T, Na]
//
// The presets: "small" (20×20 px, 8 cells, 240 s training, 10 s test × 10 repeats; a few
// seconds of CPU) and "paper" (50×50 px, 10 cells, 3600 s training, 60 s test × 5 repeats;
// about a minute on 2 cores and 3.6 GB of stimulus per stimulus type, like the lab's files).
// Stimuli: white noise is a checkerboard (CheckerPixels) of binary ±Contrast or Gaussian values,
// new every frame; natural scenes are images (procedural dead leaves — occluding discs with
// radii ∝ r⁻³, giving a ≈1/f² power spectrum and log-normal intensities — or photos from
// ImagesDir) viewed through a jittering random walk (JitterPixels per frame), a new image every
// ImageSeconds. The test segment comes from random streams distinct from the training ones.
//
// # The circuit
//
// Time is discretised at dt = 1/FrameRate; the stimulus s(t, p) is in z-scored units. Space is
// in pixels; time constants are given in ms, so the circuit does not depend on the frame rate.
//
// Bipolar subunits sit on a square grid (spacing SubunitSpacing). Location l pools the stimulus
// with a Gaussian of SD SubunitSigma (weights w_lp, sum 1, precomputed and sparse):
//
//	u_l(t) = Σ_p w_lp s(t, p)
//
// Each location has a fast (transient) and a slow (sustained) class. A class filters u with a
// biphasic filter made of two cascades of three first-order low-pass stages (IIR, O(1) per step;
// each stage x ← (x + h·in)/(1 + h), h = dt/τ, the stable implicit-Euler update):
//
//	lin = L³_τ1[u] − β · L³_τ2[u]       (τ1 < τ2; β = Transience, 0.9 fast, 0.75 slow)
//
// Contrast adaptation: a running estimate of local contrast
//
//	c²(t) = a·c²(t−1) + (1−a)·lin(t)²,  a = exp(−dt/ContrastTauMS)
//	g = ContrastHalf / (ContrastHalf + c)   (divisive gain, 1 at rest, → 0 at high contrast)
//
// scales the output and speeds the filter up: both cascades run with time constants
// τ·(SpeedUp + (1 − SpeedUp)·g), so at high contrast gain falls and the filter gets faster.
// The bipolar potential (what SimResponse.Bipolar records; OFF cells carry −v) is
//
//	v = BipolarGain · g · lin / ContrastHalf = BipolarGain · lin / (ContrastHalf + c)
//
// and the synaptic output is a smooth half-wave rectification (threshold θ = BipolarThresh,
// softness ε = RectSoftness), for ON and OFF bipolars of each class (4 bipolars per location):
//
//	b_ON  = ½ (v − θ + √((v − θ)² + ε²)),   b_OFF = ½ (−v − θ + √((−v − θ)² + ε²))
//
// Amacrine cells (grid spacing AmacrineSpacing) pool the fast ON and OFF bipolar outputs with
// a wide Gaussian (AmacrineSigma) and low-pass them through two stages (AmacrineTauMS):
//
//	A_j = L²_τa[ Σ_l w_jl · ½ (b_ON-fast,l + b_OFF-fast,l) ]
//
// Ganglion cells have centres drawn uniformly in the central 40 % of the field (so that a
// model's valid-convolution output covers them) and types dealt in the order OFF-fast, ON-fast,
// OFF-slow, ON-OFF, ON-slow, … . Cell i pools the bipolars of its type (ON-OFF: ON-fast and
// OFF-fast) with a Gaussian centre of SD GanglionSigma·U(0.8, 1.2), is inhibited by the
// amacrines with a Gaussian of SD InhibitionSigma (wide-field inhibition, the basis of object
// motion sensitivity), and low-pass filters the difference with its membrane time constant
// (FastGanglionMS or SlowGanglionMS):
//
//	x_i = L_τg[ Σ_k W_ik b_k − Inhibition · Σ_j V_ij A_j ]     (W, V: weights summing to 1)
//	λ_i = MaxRateHz · softplus(NonlinSlope · (x_i − μ_i)/σ_i + β_i)    [Hz]
//
// μ_i, σ_i standardise the drive on a 20 s Gaussian white-noise calibration stimulus, and the
// bias β_i sets the mean rate on it to a target drawn from [MinMeanHz, MaxMeanHz]. λ is the
// noiseless rate (SimResponse.Rates). Spikes are Poisson per frame with a relative refractory
// period:
//
//	n_i(t) ~ Poisson(λ_i(t)·dt·exp(−κ·h_i(t))),  h_i(t+1) = e^(−dt/RefractoryMS)·h_i(t) + n_i(t)
//
// and the recorded firing rate (firing_rate_10ms) is the spike train smoothed with a Gaussian
// of SD SmoothMS, in Hz. Test rates are trial averages over the repeats.
//
// Everything is float32, stage by stage over chunks of frames; the stages run in parallel over
// frames, locations or cells, each item on one goroutine, so the results are bitwise identical
// for every GOMAXPROCS. Random numbers come from math/rand/v2 PCG streams derived from the seed
// and a purpose tag (stimulus blocks, images, spike trains of each repeat).
package datasets
