package runconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina/nn"
)

// This file gives the keys of the reference's hyperparams.json beyond the basic ones their
// meaning here, and rejects, with the key, its value and what is supported, the values that
// ask for something deepretina does not implement.

// CuratedCells are the cells the reference trains on per experiment: what its configs mean by
// "cells": "all" (not every cell in the file).
var CuratedCells = map[string][]int{
	"15-10-07":  {0, 1, 2, 3, 4},
	"15-11-21a": {6, 10, 12, 13},
	"15-11-21b": {0, 1, 3, 5, 8, 9, 13, 14, 16, 17, 18, 20, 21, 22, 23, 24, 25},
	"16-01-07":  {0, 2, 7, 10, 11, 12, 31},
	"16-01-08":  {0, 3, 7, 9, 11},
	"16-05-31":  {2, 3, 4, 14, 16, 18, 20, 25, 27},
}

// CellList is the "cells" key: a list of cell indices, or the string "all" — the experiment's
// curated cells (CuratedCells), or every cell of a dataset the reference has no list for (the
// simulated retina, say). Its JSON form is the list, or "all".
type CellList struct {
	IDs     []int
	Curated bool // "all"
}

// UnmarshalJSON reads a list of indices, "all", or null (which keeps the current value).
func (l *CellList) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		return nil
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		if s != "all" {
			return fmt.Errorf(`cells: %q is not supported; expected a list of cell indices or "all" (the experiment's curated cells)`, s)
		}
		*l = CellList{Curated: true}
		return nil
	}
	var ids []int
	if err := json.Unmarshal(data, &ids); err != nil {
		return fmt.Errorf(`cells: expected a list of cell indices or "all": %w`, err)
	}
	*l = CellList{IDs: ids}
	return nil
}

// MarshalJSON writes "all" or the list.
func (l CellList) MarshalJSON() ([]byte, error) {
	if l.Curated {
		return []byte(`"all"`), nil
	}
	return json.Marshal(l.IDs)
}

// CellIDs resolves the cells key for the config's dataset: the listed indices, the curated
// cells for "all", or nil (every cell) for "all" on a dataset without a curated list.
func (c Config) CellIDs() []int {
	if c.Cells.Curated {
		return slices.Clone(CuratedCells[c.Dataset])
	}
	return c.Cells.IDs
}

// canonicalize stores the keys whose reference default is true (and other defaults written
// out) as absent, so that a config saying them explicitly describes the same run as one that
// does not.
func (c *Config) canonicalize() {
	for _, p := range []**bool{&c.Shuffle, &c.Softplus, &c.Bias, &c.BNorm} {
		if *p != nil && **p {
			*p = nil
		}
	}
	if c.NRepeats == 1 {
		c.NRepeats = 0
	}
	if c.StartingExpNum != nil && *c.StartingExpNum == 0 {
		c.StartingExpNum = nil
	}
	if c.BNormD == 1 {
		c.BNormD = 0
	}
	if c.Readout == nn.ReadoutDense {
		c.Readout = ""
	}
}

// Canonicalize writes the config in the canonical form a run's config is stored in: keys at
// their reference default are left out (see the config keys' documentation).
func (c *Config) Canonicalize() { c.canonicalize() }

func isFalse(b *bool) bool { return b != nil && !*b }

// validateReferenceKeys checks the reference's model and training keys, naming the key, its
// value and what is supported.
func (c Config) validateReferenceKeys() error {
	cnn := modelTypes[strings.ToLower(c.ModelType)] != nn.ModelLN
	switch {
	case c.NRepeats < 0:
		return fmt.Errorf("n_repeats: %d: expected a positive number of runs", c.NRepeats)
	case c.StartingExpNum != nil && *c.StartingExpNum < 0:
		return fmt.Errorf("starting_exp_num: %d: expected a number ≥ 0 (or null)", *c.StartingExpNum)
	case isFalse(c.Softplus) && !cnn:
		return fmt.Errorf("softplus: false is not supported with model_type %s: the LN baseline has a softplus output (supported: true)", c.ModelType)
	case isFalse(c.Softplus) && !c.LogPoisson:
		return fmt.Errorf("softplus: false needs log_poisson: true: the reference's exponential output is switched off in training, where the Poisson loss takes log-rates")
	case !isFalse(c.Softplus) && c.LogPoisson:
		return fmt.Errorf("log_poisson: true is supported only with softplus: false (the exponential output); with a softplus output the model outputs rates")
	case isFalse(c.BNorm) && cnn:
		return fmt.Errorf("bnorm: false is not supported with model_type %s: its layers are batch-normalised (supported: true)", c.ModelType)
	case c.BNormD != 0 && c.BNormD != 2:
		return fmt.Errorf("bnorm_d: %d: expected 1 or 2", c.BNormD)
	case c.BNormD == 2 && cnn:
		return fmt.Errorf("bnorm_d: 2 (per-channel BatchNorm2d) is not supported with model_type %s; supported: 1 (batch norm over every unit, BatchNorm1d over C·H·W)", c.ModelType)
	case c.NLayers < 0:
		return fmt.Errorf("n_layers: %d: expected a number ≥ 0", c.NLayers)
	case !(c.DropP >= 0 && c.DropP < 1):
		return fmt.Errorf("drop_p: %g: expected a probability in [0, 1)", c.DropP)
	case c.StackConvs && strings.EqualFold(c.ModelType, "BNCNN"):
		return fmt.Errorf("stackconvs: true is not supported with model_type BNCNN; use model_type LinearStackedBNCNN (stacks of 3×3 convolutions)")
	case c.StackConvs && !cnn:
		return fmt.Errorf("stackconvs: true is not supported with model_type %s (it has no convolutions)", c.ModelType)
	case c.Scheduler == "MultiStepLR" && len(c.SchedulerMilestones) == 0:
		return fmt.Errorf("scheduler_milestones: scheduler MultiStepLR needs a list of epochs")
	case c.TrainLoop != "":
		return fmt.Errorf("train_loop: %q is not supported: deepretina has one training loop, the reference's standard one (leave train_loop out)", c.TrainLoop)
	case c.Retinotopic:
		return fmt.Errorf("retinotopic: true is not supported: the reference's retinotopic models and loss are not implemented (supported: false)")
	case math.IsNaN(c.SemanticScale) || math.IsInf(c.SemanticScale, 0) || c.SemanticScale < 0:
		return fmt.Errorf("semantic_scale: %g: expected a number ≥ 0", c.SemanticScale)
	}
	for _, m := range c.SchedulerMilestones {
		if m <= 0 {
			return fmt.Errorf("scheduler_milestones: %v: expected epoch numbers ≥ 1", c.SchedulerMilestones)
		}
	}
	return nil
}

// ExpandRepeats returns each config n_repeats times, as the reference's hyper-parameter search
// does: repeat i has seed seed+i and its own folder <exp_name>_<starting_exp_num+i>. Configs
// with n_repeats 0 or 1 are returned as they are.
func ExpandRepeats(cfgs []Config) []Config {
	var out []Config
	for _, c := range cfgs {
		if c.NRepeats <= 1 {
			out = append(out, c)
			continue
		}
		start := 0
		if c.StartingExpNum != nil {
			start = *c.StartingExpNum
		}
		for i := range c.NRepeats {
			r := c
			r.Seed = c.Seed + uint64(i)
			r.ExpName = fmt.Sprintf("%s_%d", c.ExpName, start+i)
			out = append(out, r)
		}
	}
	return out
}

// EpochOrder is the order in which epoch visits the training windows train (the shuffle key):
// random, a new one each epoch (datasets.EpochOrder), or with shuffle false in time order.
func (c Config) EpochOrder(train []int, epoch int) []int {
	if isFalse(c.Shuffle) {
		order := slices.Clone(train)
		slices.Sort(order)
		return order
	}
	return datasets.EpochOrder(train, c.Seed, epoch)
}

// MultiStepFactor is the factor MultiStepLR applies to the learning rate after the given epoch:
// scheduler_factor for every milestone equal to it (PyTorch counts repeated milestones), else 1.
func (c Config) MultiStepFactor(epoch int) float64 {
	if c.Scheduler != "MultiStepLR" {
		return 1
	}
	f := 1.0
	for _, m := range c.SchedulerMilestones {
		if m == epoch {
			f *= c.SchedulerFactor
		}
	}
	return f
}

// KeepCheckpoints is how many checkpoints a run keeps besides the best one, given the
// trainer's own limit keep: every one with save_every_epoch.
func (c Config) KeepCheckpoints(keep int) int {
	if c.SaveEveryEpoch {
		return math.MaxInt32
	}
	return keep
}
