// Package torchio is deepretina's PyTorch interop with the reference torch-deep-retina: state
// dicts and checkpoint files.
//
// State dicts (statedict.go): ExportStateDict writes a model's variables under the reference's
// state-dict names and layouts, in the module order of its newest classes (so that their
// load_state_dict(strict=True) accepts them); ImportStateDict reads that order and the older
// ones, recognising modules by their parameters' names and shapes (torchlayout.go,
// AlignStateDict), strictly, naming every missing or unexpected key and wrong shape;
// InferTorchModel works out the nn.ModelConfig a state dict describes (torchmodel.go). The
// variables and their names come from retina/nn (nn.Vars), the one description of the models.
//
// Checkpoint files (checkpoint.go, importrun.go): LoadCheckpoint reads a file torch.save wrote
// (PyTorch's zip format or the legacy one) and ImportRun makes it a run folder that
// retina.LoadModel, eval, predict and the analyses accept:
//
//	ckpt, err := torchio.LoadCheckpoint("15-10-07_naturalscene.pt")
//	fmt.Println(ckpt.ModelType, ckpt.Model.NCells, ckpt.NormStats, ckpt.Scores["test_pearson"])
//	meta, err := torchio.ImportRun(ckpt, "runs/ref", torchio.ImportOptions{DataPath: "data"})
//	sd, err := torchio.ExportStateDict(model.Scope().At(retina.ModelScope), model.Meta.Model)
//
// The pickle inside the file is decoded by internal/torchpickle, which checks every length
// against the data.
//
// Layering: datasets ← retina/nn ← retina ← torchio ← viz, cmd/deepretina, notebooks; retina
// and retina/nn never import it.
package torchio
