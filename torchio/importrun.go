package torchio

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// ImportOptions adjust the run an import creates: where its data are (eval and the analyses
// load the test set from the run's config) and which cells its outputs are.
type ImportOptions struct {
	DataPath string              // the run config's datapath (root holding <dataset>/<stim_type>.h5)
	Dataset  string              // replaces the checkpoint's dataset
	StimType string              // replaces the checkpoint's stim_type
	Cells    *runconfig.CellList // replaces the checkpoint's cells
}

// configKeysFromHyps are the hyper-parameters an imported run's Config takes from the
// checkpoint; the model's own keys come from the model the state dict describes.
var configKeysFromHyps = []string{"exp_name", "dataset", "cells", "stim_type", "lossfxn", "batch_size", "n_epochs",
	"lr", "l1", "l2", "seed", "scheduler_patience", "scheduler_factor", "shuffle", "n_repeats", "save_every_epoch"}

// ImportRun turns a reference checkpoint into a run folder, the same layout Train writes
// (runDir/checkpoints/epoch-NNNN/ with the model's variables and meta.json, and runDir/run.json),
// so that LoadModel, eval, predict and the analyses accept it. The metadata record the source
// file and its SHA-256 (RunMeta.Imported); the run counts as finished ("imported"), so Train
// refuses to continue it. runDir must not hold a run already.
func ImportRun(c *Checkpoint, runDir string, opts ImportOptions) (*retina.RunMeta, error) {
	cfg, err := importedConfig(c, opts)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", c.Path, err)
	}
	ids := cfg.CellIDs()
	switch {
	case ids == nil:
		ids = make([]int, c.Model.NCells)
		for i := range ids {
			ids[i] = i
		}
	case len(ids) != c.Model.NCells:
		return nil, fmt.Errorf("import %s: cells %v of dataset %q are %d cells, but the model has %d outputs (give the cells with --cells)",
			c.Path, ids, cfg.Dataset, len(ids), c.Model.NCells)
	}

	store := model.NewStore()
	if err := c.Import(store.RootScope().At(retina.ModelScope)); err != nil {
		return nil, fmt.Errorf("import %s: %w", c.Path, err)
	}
	epochs := c.Epoch + 1 // the reference counts epochs from 0; −1 (absent) gives 0
	meta := &retina.RunMeta{
		Format: retina.MetaFormat, Config: cfg, Model: c.Model, NormStats: c.NormStats, CellIDs: ids,
		InputShape: c.Model.ImgShape, FrameRate: 100, PixelSizeUM: 55,
		Data:    fmt.Sprintf("imported from %s (torch-deep-retina, trained on %s/%s)", c.Path, cfg.Dataset, cfg.StimType),
		Backend: "PyTorch (imported)", Epoch: epochs, LR: cfg.LR, BestEpoch: epochs, BestValCorr: retina.NoCorrelation,
		Stopped: "imported",
		Imported: &retina.ImportInfo{From: c.Path, SHA256: c.SHA256, Format: c.Format, ModelType: c.ModelType,
			ModuleOrder: c.ModuleOrder, NoiseParam: c.NoiseParam, Epoch: c.Epoch, Scores: c.Scores, Hyps: c.Hyps},
	}
	if c.LR > 0 {
		meta.LR = c.LR
	}
	if v, ok := c.Scores["val_acc"]; ok {
		meta.BestValCorr = v
	}
	meta.TestCorrAtBest = c.Scores["test_pearson"]
	if epochs > 0 {
		meta.History = []retina.EpochRecord{{Epoch: epochs, TrainLoss: c.Scores["loss"], ValCorr: meta.BestValCorr,
			TestCorr: meta.TestCorrAtBest, LR: meta.LR}}
	}
	if err := retina.SaveRun(store, runDir, meta); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return meta, nil
}

// importedConfig is the run config of an imported checkpoint: the model keys from the model
// the state dict describes, the data and training keys from its hyper-parameters (those that
// do not validate are left at their defaults), then opts.
func importedConfig(c *Checkpoint, opts ImportOptions) (runconfig.Config, error) {
	m := c.Model
	cfg := runconfig.DefaultConfig()
	cfg.ExpName = "imported"
	for name, goType := range torchModelTypes {
		if goType == m.Type {
			cfg.ModelType = name
		}
	}
	cfg.ImgShape = []int{m.ImgShape[0], m.ImgShape[1], m.ImgShape[2]}
	cfg.Chans, cfg.KSizes = append([]int(nil), m.Chans...), append([]int(nil), m.KSizes...)
	if len(cfg.Chans) == 0 { // LN: keep the defaults, unused
		cfg.Chans, cfg.KSizes = runconfig.DefaultConfig().Chans, runconfig.DefaultConfig().KSizes
	}
	cfg.Noise, cfg.BNMoment = m.Noise, m.BNMomentum
	cfg.GCBias, cfg.DropP = m.DenseBias, m.DropP
	if m.NoConvBias {
		cfg.Bias = new(false)
	}
	if m.ExpOutput {
		cfg.Softplus, cfg.LogPoisson = new(false), true
	}
	keys := make([]string, 0, len(configKeysFromHyps))
	for _, k := range configKeysFromHyps {
		if _, ok := c.Hyps[k]; ok && k != "cells" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := c.Hyps[k]
		if f, ok := v.(float64); ok && f == math.Trunc(f) && k != "lr" && k != "l1" && k != "l2" && k != "scheduler_factor" {
			v = int64(f) // integers went through float64
		}
		data, err := json.Marshal(map[string]any{k: v})
		if err != nil {
			continue
		}
		if next, err := runconfig.ParseConfig(data, cfg); err == nil {
			cfg = next
		}
	}
	if opts.DataPath != "" {
		cfg.DataPath = opts.DataPath
	}
	if opts.Dataset != "" {
		cfg.Dataset = opts.Dataset
	}
	if opts.StimType != "" {
		cfg.StimType = opts.StimType
	}
	if opts.Cells != nil {
		cfg.Cells = *opts.Cells
		if err := checkCellIDs(cfg.Cells.IDs); err != nil {
			return cfg, fmt.Errorf("cells %v: %w", cfg.Cells.IDs, err)
		}
	} else {
		cells, err := checkpointCells(c)
		if err != nil {
			return cfg, err
		}
		cfg.Cells = cells
	}
	cfg.Canonicalize()
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("the run's config: %w", err)
	}
	return cfg, nil
}

// checkpointCells reads the checkpoint's "cells": which recorded cells its outputs are. A value
// that is not a list of distinct indices or "all" is an error: dropping it would map the
// outputs to cells 0…N−1, silently the wrong cells.
func checkpointCells(c *Checkpoint) (runconfig.CellList, error) {
	const fix = `give the recorded cells of the model's outputs with --cells (indices separated by commas, or all)`
	if what, ok := c.unread["cells"]; ok {
		return runconfig.CellList{}, fmt.Errorf("hyper-parameter cells is %s, not a list of cell indices or \"all\": %s", what, fix)
	}
	v, ok := c.Hyps["cells"]
	if !ok || v == nil {
		return runconfig.DefaultConfig().Cells, nil
	}
	raw, _ := json.Marshal(v)
	var l runconfig.CellList
	if err := json.Unmarshal(raw, &l); err != nil {
		return runconfig.CellList{}, fmt.Errorf("hyper-parameter cells is %s, not a list of cell indices or \"all\": %s", raw, fix)
	}
	if err := checkCellIDs(l.IDs); err != nil {
		return runconfig.CellList{}, fmt.Errorf("hyper-parameter cells %s: %w: %s", raw, err, fix)
	}
	return l, nil
}

// checkCellIDs refuses negative and repeated cell indices.
func checkCellIDs(ids []int) error {
	seen := map[int]bool{}
	for _, id := range ids {
		switch {
		case id < 0:
			return fmt.Errorf("index %d is negative", id)
		case seen[id]:
			return fmt.Errorf("cell %d is listed twice (each output is a different cell)", id)
		}
		seen[id] = true
	}
	return nil
}
