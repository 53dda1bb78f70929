// Package retina trains and uses deepretina's models of retinal ganglion cells on GoMLX: the
// training loop (Poisson loss, Adam, plateau schedule on the validation correlation, early
// stopping), atomic self-describing checkpoints with resumption, prediction from raw stimulus,
// and hidden-unit read-out by layer name. The models themselves (BNCNN of McIntosh et al.
// 2016, LinearStackedBNCNN of Maheswaranathan et al. 2023, the dense LN model) and their
// layers are package retina/nn; PyTorch state dicts and torch-deep-retina's checkpoint files
// are package torchio. What a run trains — its configuration, the reference's hyperparams.json
// keys, their defaults and checks — is package retina/runconfig.
//
// Layering: retina/nn (layers → models) and retina/runconfig (configs) → training (run.go,
// train.go, resident.go, checkpoint.go) → use (model.go, hidden.go). The engine is chosen in
// backend.go.
//
// Several recordings, one model (trainrecordings.go, runrecordings.go): a config
// listing recordings trains one core on all of them with a readout per recording, and from_run
// with readout_only fits new recordings' readouts on a trained, frozen core; the run describes
// each recording, and LoadOptions.Recording chooses the one a Model serves
// (docs/multirecording.md).
//
// From a notebook or a Go program: simulate a retina, train with a live callback (cancel the
// context to stop; the same call resumes), then predict and read hidden units (Example runs
// this path on a tiny model):
//
//	cfg := runconfig.SmallConfig()                     // BNCNN on the simulated "small" retina
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
// PyTorch interchange is package torchio: a model's state dict in the reference's names
// (torchio.ExportStateDict, ImportStateDict), and a checkpoint file of torch-deep-retina
// (torch.save, zip or legacy format) made a run folder in two calls:
//
//	ckpt, err := torchio.LoadCheckpoint("15-10-07_naturalscene.pt")
//	fmt.Println(ckpt.ModelType, ckpt.Model.NCells, ckpt.NormStats, ckpt.Scores["test_pearson"])
//	meta, err := torchio.ImportRun(ckpt, "runs/ref", torchio.ImportOptions{DataPath: "data"})
//	model, err := retina.LoadModel("runs/ref", retina.LoadOptions{}) // as any trained run
package retina
