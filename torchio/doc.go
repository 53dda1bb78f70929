// Package torchio reads the checkpoints of the reference torch-deep-retina (files torch.save
// wrote, in PyTorch's zip format or the legacy one) and imports them as run folders that
// retina.LoadModel, eval, predict and the analyses accept:
//
//	ckpt, err := torchio.LoadCheckpoint("15-10-07_naturalscene.pt")
//	fmt.Println(ckpt.ModelType, ckpt.Model.NCells, ckpt.NormStats, ckpt.Scores["test_pearson"])
//	meta, err := torchio.ImportRun(ckpt, "runs/ref", torchio.ImportOptions{DataPath: "data"})
//
// The pickle inside the file is decoded by internal/torchpickle, which checks every length
// against the data; the state dict's modules are recognised, in any of the reference's module
// orders, by retina.InferTorchModel, and the weights go in through retina.ImportStateDict.
// Exporting a model as a state dict is retina.ExportStateDict.
//
// Layering: datasets ← retina ← torchio ← cmd/deepretina, notebooks; retina never imports it.
package torchio
