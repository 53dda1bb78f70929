// Package phenomena is the battery of retinal phenomena of the reference (torch-deep-retina):
// named experiments that build a stimulus scaled to a model's input, run any Responder — a
// trained model or the simulated retina — measure named metrics, say whether the phenomenon is
// reproduced and draw a figure with the ground truth and the model side by side.
//
// A verdict is taken against the responder's own LN surrogate (FitLNSurrogate: a ridge-fitted
// spatiotemporal filter and a binned static nonlinearity, fitted to the responder's responses to
// white noise) or, in motion anticipation and object motion, against each cell's LN model fitted
// on that experiment's stimulus (package phenomena/stimln). Phenomena belong to cell types: a
// cell shows one when it meets the literature's criterion and beats its reference (its
// surrogate cell, or its LN model) by the experiment's stated margin, on every seed (DefaultSeeds); the responder reproduces it
// when at least MinCells (one) cell does (Result.ModelCells, Result.TruthCells name them). Each
// experiment has a Role: the step response is a sanity check and direction/orientation a
// negative control, both judged on the medians over cells and neither counted by
// CountReproduced; the other ten are phenomena an LN model cannot show.
//
// Each responder's surrogates and receptive-field maps are computed once per seed and shared by
// the experiments (Subject); a responder that sees a bounded window of frames gets each
// experiment's trials in one call.
//
// The experiments, in canonical order (Names, Lookup, Select, Experiments): step_response,
// paired_flash, reversing_grating, contrast_adaptation, omitted_stimulus, motion_anticipation,
// motion_reversal, object_motion, frequency_doubling, latency_encoding,
// fast_contrast_adaptation, direction_orientation. Each constructor's doc comment
// (StepResponseExperiment, …) gives its stimulus, its metrics, its criterion and margin and the
// paper behind them, which Experiment.Criterion repeats and Experiment.Passes applies.
//
// Stimuli are in z-scored intensity units (0 = mean grey, 1 = one SD of the training stimulus),
// which the model and the run's simulated truth (TruthForRun) both map through the run's
// normalisation (raw = mean + std·z), so that both are shown one physical stimulus. They run
// at the responder's frame rate; durations follow the reference at 100 Hz; sizes that span
// its 50×50 field are scaled to the input, bar widths and grating periods stay in pixels. The
// stimulus builders (package phenomena/stimuli: Step, PairedFlash, FlashTrain, Bar, DriftingBar,
// MotionReversal, Grating, DriftingGrating, ReversingGrating, ContrastReversingGrating,
// JitteredGrating, DifferentialCircle, JitteredCircle, ObjectMotionTrials, MovingCircle,
// WhiteNoise, JumpPath, FitToInput, Concat) and the measures (package phenomena/measures: Latency, HarmonicRatio,
// OMSIndex, ReverseCorrelate, PeakTime, PeakTimeSigned, CentreFrequency, PowerCentreFrequency,
// DirectionSelectivity, AnticipationLead, BinnedNonlinearity) are public, so users compose their
// own experiments.
//
// A failing experiment returns its error; nothing is swallowed (the reference hid failures
// behind try/except).
//
// Example: the battery on a trained run, with the simulated retina it was trained on as truth.
//
//	model, err := retina.LoadModel("runs/bncnn-small", retina.LoadOptions{})
//	if err != nil { … }
//	truth, desc, err := phenomena.TruthForRun(model.Meta, "") // nil truth for recorded data
//	if err != nil { … }
//	results, err := phenomena.Battery(phenomena.Experiments(), phenomena.ModelResponder{Model: model}, truth, nil)
//	if err != nil { … }
//	for _, r := range results {
//		fmt.Println(r.Name, r.Role, r.Reproduced, r.Model, r.ModelSurrogate, r.Truth, r.TruthSurrogate)
//	}
//	nModel, nTruth := phenomena.CountReproduced(results)
//	err = phenomena.Report("Retinal phenomena", "truth: "+desc, results).WriteFile("out/report.html")
//
// One experiment on a model and its truth side by side (ExampleCompare), or on one responder:
//
//	res, err := phenomena.Compare(phenomena.StepResponseExperiment(), phenomena.ModelResponder{Model: model}, truth)
//	fmt.Println(res.Reproduced, *res.TruthReproduced, res.Model["onset_peak_hz"])
//	out, err := phenomena.FrequencyDoublingExperiment().Run(truth)
//	fig, err := phenomena.FrequencyDoublingExperiment().Figure(out, nil) // truth column, no model
package phenomena
