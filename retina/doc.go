// Package retina holds deepretina's models of retinal ganglion cells and everything needed to
// train and use them on GoMLX: the reference architectures (BNCNN of McIntosh et al. 2016,
// LinearStackedBNCNN of Maheswaranathan et al. 2023, and the dense LN model), layers that train
// on every GoMLX backend (a gather-based convolution with an exact, cheap gradient and a
// PyTorch-semantics batch norm, since the pure-Go backend lacks the ops GoMLX's own versions
// need), the training loop (Poisson loss, Adam, plateau schedule on the validation correlation,
// early stopping), atomic self-describing checkpoints with resumption, prediction from raw
// stimulus, hidden-unit read-out by layer name, and import/export of PyTorch state dicts.
//
// Layering: layers (conv.go, batchnorm.go, gradients.go) → models (models.go, model_*.go) →
// training (train.go, checkpoint.go) → use (predict.go, statedict.go).
//
// Training the CPU default and predicting from it:
//
//	cfg := retina.SmallConfig()                       // BNCNN on the simulated "small" retina
//	meta, err := retina.Train(cfg, "runs/bncnn-small", retina.TrainOptions{Log: os.Stderr})
//	if err != nil { … }
//	fmt.Println(meta.BestValCorr, meta.TestCorrAtBest)
//
//	model, err := retina.LoadModel("runs/bncnn-small", nil)
//	rates, err := model.Predict(stimulus)              // stimulus: datasets.Movie [T, H, W], raw units
//	conv1, err := model.Hidden(stimulus, "conv1")      // [T−history, C·H·W] model "bipolar" units
//
// Before a run starts or is scored, CheckStart checks a config against the data and against an
// existing run folder (naming only the keys that differ) without creating anything, and
// CheckSameData checks that a recording is the one a run was trained on (RunMeta.DataSource):
//
//	if err := retina.CheckSameData(model.Meta, rec); err != nil { … } // *DataChangedError: what changed
//
// Models read their input as [B, History, H, W] z-scored windows (oldest frame first) and
// output firing rates [B, NCells]; every variable lives under the context scope ModelScope.
package retina
