// Package retina holds deepretina's models of retinal ganglion cells and everything needed to
// train and use them on GoMLX: the reference architectures (BNCNN of McIntosh et al. 2016,
// LinearStackedBNCNN of Maheswaranathan et al. 2023, and the dense LN model), layers that train
// on every GoMLX backend (a gather-based convolution, faster on the pure-Go backend than its
// own, and a PyTorch-semantics batch norm, which GoMLX's batchnorm package is not), the training loop (Poisson loss, Adam, plateau schedule on the validation correlation,
// early stopping), atomic self-describing checkpoints with resumption, prediction from raw
// stimulus, hidden-unit read-out by layer name, and import/export of PyTorch state dicts.
//
// Layering: layers (conv.go, batchnorm.go) → models (structure.go, the one
// description of layer names, variable scopes and state-dict names; models.go, model_*.go) →
// training (run.go, train.go, resident.go, checkpoint.go) → use (model.go, hidden.go,
// statedict.go; torchlayout.go recognises the reference's modules in any of its module orders,
// torchmodel.go works out the Go model they describe). Reading torch-deep-retina's checkpoint
// files and importing them as runs is package torchio. The engine is chosen in backend.go.
//
// From a notebook or a Go program: simulate a retina, train with a live callback (cancel the
// context to stop; the same call resumes), then predict and read hidden units (Example runs
// this path on a tiny model):
//
//	cfg := retina.SmallConfig()                        // BNCNN on the simulated "small" retina
//	cfg.NEpochs, cfg.MaxTrainWindows = 1, 1024         // any config key, e.g. a quick run
//	rec, err := retina.LoadData(cfg, os.Stderr)         // simulated in memory: no files needed
//	meta, err := retina.Train(ctx, cfg, "runs/bncnn-small", retina.TrainOptions{
//		Data:    rec,
//		OnStep:  func(s retina.StepInfo) { chart.Add(s.MeanLoss) },
//		OnEpoch: func(e retina.EpochRecord) { fmt.Println(e.Epoch, e.ValCorr) },
//	})
//	model, err := retina.LoadModel("runs/bncnn-small", retina.LoadOptions{Log: os.Stderr})
//	rates, err := model.Predict(rec.Test.Stimulus)     // [T−history, cells]; stimulus [T, H, W] raw units
//	acts, err := model.Hidden(rec.Test.Stimulus, retina.HiddenOptions{})
//	fmt.Println(acts[0].Layer, acts[0].Shape)          // conv1 [T−history C H W]: model "bipolar" units
//	control, err := retina.NewModel(model.Meta.Model, model.Meta.NormStats, 1, retina.LoadOptions{})
//
// Every model and baseline of a process runs on one engine, DefaultBackend: XLA (the project's
// CPU plugin, or a GPU plugin named by $GOMLX_BACKEND) or, failing that, GoMLX's pure-Go backend.
//
// Before a run starts or is scored, CheckStart checks a config against the data and against an
// existing run folder (naming only the keys that differ) without creating anything, and
// CheckSameData checks that a recording is the one a run was trained on (RunMeta.DataSource):
//
//	if err := retina.CheckSameData(model.Meta, rec); err != nil { … } // *DataChangedError: what changed
//
// Models read their input as [B, History, H, W] z-scored windows (oldest frame first) and
// output firing rates [B, NCells]; every variable lives under the context scope ModelScope.
//
// PyTorch interchange is symmetric: ExportStateDict writes the reference's state-dict names in
// the module order of its newest classes (so their load_state_dict(strict=True) accepts them),
// and ImportStateDict reads that order and the older ones, recognising modules by their
// parameters' names and shapes. A checkpoint file of torch-deep-retina (torch.save, zip or
// legacy format) becomes a run folder in two calls of package torchio:
//
//	ckpt, err := torchio.LoadCheckpoint("15-10-07_naturalscene.pt")
//	fmt.Println(ckpt.ModelType, ckpt.Model.NCells, ckpt.NormStats, ckpt.Scores["test_pearson"])
//	meta, err := torchio.ImportRun(ckpt, "runs/ref", torchio.ImportOptions{DataPath: "data"})
//	model, err := retina.LoadModel("runs/ref", retina.LoadOptions{}) // as any trained run
package retina
