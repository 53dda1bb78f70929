package torchio

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/nlpodyssey/gopickle/types"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/torchpickle"
	"github.com/deepretina/deepretina/retina/nn"
)

// Checkpoint is a checkpoint of the reference torch-deep-retina, as its training loop writes
// it with torch.save: a dict holding "model_type" ("BNCNN", "LinearStackedBNCNN"),
// "model_state_dict", the hyper-parameters ("hyps" or "model_hyps", and usually copied to the
// top level as well), "norm_stats" ({mean, std} of the training stimulus), scores ("loss",
// "val_loss", "val_acc", "test_pearson", …), "epoch" and usually "optim_state_dict".
//
// LoadCheckpoint reads PyTorch's zip format and the legacy one and works out the equivalent
// Go model (Model) from the state dict's shapes and the hyper-parameters; Import puts the
// weights into a model. ImportRun turns a checkpoint into a run folder.
type Checkpoint struct {
	Path   string // the file it was read from ("" when parsed from bytes)
	SHA256 string // of the file's bytes
	Format string // "zip" or "legacy"

	ModelType string             // the reference's model_type, e.g. "BNCNN"
	Model     nn.ModelConfig     // the equivalent Go model
	NormStats datasets.NormStats // z-scoring of the stimulus the model was trained on
	Epoch     int                // the reference's epoch index (0-based; the number of epochs trained is Epoch+1); −1 if absent
	Scores    map[string]float64 // the finite scores among loss, val_loss, val_acc, exp_val_acc, test_pearson, test_acc
	LR        float64            // the optimizer's learning rate at the checkpoint (optim_state_dict), 0 if absent
	Hyps      map[string]any     // hyper-parameters as JSON values (float64, string, bool, nil, []any, map[string]any)

	ModuleOrder string // "newest", "older" or "other": the module indices of the state dict
	NoiseParam  string // the noise modules' parameter name: "sigma", "cuda_param" or "" (none)

	stateDict map[string]*tensors.Tensor // as in the file (PyTorch names and layouts)
	unread    map[string]string          // hyper-parameters that are no JSON value (a numpy array, an object): key → what they are
}

// Supported model types of the reference, and the Go model they become.
var torchModelTypes = map[string]string{"BNCNN": nn.ModelBNCNN, "LinearStackedBNCNN": nn.ModelLinearStacked, "LN": nn.ModelLN}

func supportedTorchModelTypes() string {
	names := make([]string, 0, len(torchModelTypes))
	for k := range torchModelTypes {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// LoadCheckpoint reads a reference checkpoint file. Errors name the file and the field.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("PyTorch checkpoint %s: %w", path, err)
	}
	c, err := ParseCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("PyTorch checkpoint %s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// ParseCheckpoint decodes the bytes of a reference checkpoint file (see LoadCheckpoint).
func ParseCheckpoint(data []byte) (*Checkpoint, error) {
	obj, format, err := torchpickle.Decode(data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	c := &Checkpoint{SHA256: hex.EncodeToString(sum[:]), Format: format, Epoch: -1,
		Scores: map[string]float64{}, Hyps: map[string]any{}, unread: map[string]string{}}
	top, ok := torchpickle.Dict(obj)
	if !ok {
		return nil, fmt.Errorf("expected the reference's checkpoint dict (model_type, model_state_dict, norm_stats, …), found %s", torchpickle.Describe(obj))
	}

	// Hyper-parameters: the "hyps"/"model_hyps" dict, completed by the top-level copies.
	if err := c.readHyps(top); err != nil {
		return nil, err
	}

	goType, err := c.readModelType(top)
	if err != nil {
		return nil, err
	}
	if err := c.readStateDict(top); err != nil {
		return nil, err
	}
	if c.Model, c.ModuleOrder, c.NoiseParam, err = InferTorchModel(c.stateDict, goType, c.ModelType, c.Hyps); err != nil {
		return nil, fmt.Errorf("field \"model_state_dict\": %w", err)
	}

	// Normalisation of the stimulus.
	ns, ok := top["norm_stats"]
	if !ok {
		return nil, fmt.Errorf("field \"norm_stats\" is missing (found %s): the training stimulus' mean and std are needed to feed the model raw stimulus", fieldList(top))
	}
	if c.NormStats, err = parseNormStats(ns); err != nil {
		return nil, fmt.Errorf("field \"norm_stats\": %w", err)
	}

	// Epoch, scores, learning rate.
	if err := c.readProgress(top); err != nil {
		return nil, err
	}
	return c, nil
}

// fieldList names the checkpoint dict's keys, for messages.
func fieldList(top map[string]any) string {
	names := make([]string, 0, len(top))
	for k := range top {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) > 20 {
		names = append(names[:20], "…")
	}
	return strings.Join(names, ", ")
}

// readHyps reads the hyper-parameters: the "hyps"/"model_hyps" dict, completed by the
// top-level copies; values that are no JSON value go to unread.
func (c *Checkpoint) readHyps(top map[string]any) error {
	for _, name := range []string{"hyps", "model_hyps"} {
		if v, ok := top[name]; ok {
			d, ok := torchpickle.Dict(v)
			if !ok {
				return fmt.Errorf("field %q: expected a dict of hyper-parameters, found %s", name, torchpickle.Describe(v))
			}
			for k, hv := range d {
				if j, ok := torchpickle.JSON(hv, 4); ok {
					if _, seen := c.Hyps[k]; !seen {
						c.Hyps[k] = j
					}
				} else if _, seen := c.unread[k]; !seen {
					c.unread[k] = torchpickle.Describe(hv)
				}
			}
		}
	}
	skip := map[string]bool{"model_state_dict": true, "optim_state_dict": true, "hyps": true, "model_hyps": true,
		"norm_stats": true, "y_stats": true, "state_dict": true}
	for k, v := range top {
		if _, seen := c.Hyps[k]; seen || skip[k] || c.unread[k] != "" {
			continue // the hyper-parameters dict's value comes first, even one that cannot be read
		}
		if j, ok := torchpickle.JSON(v, 4); ok {
			c.Hyps[k] = j
		} else if _, seen := c.unread[k]; !seen {
			c.unread[k] = torchpickle.Describe(v)
		}
	}
	return nil
}

// readModelType reads model_type (from the dict, else the hyper-parameters) and returns the
// Go model type it becomes.
func (c *Checkpoint) readModelType(top map[string]any) (string, error) {
	mt, ok := top["model_type"]
	if !ok {
		if h, ok := c.Hyps["model_type"].(string); ok {
			mt = h
		} else {
			return "", fmt.Errorf("field \"model_type\" is missing (found %s); supported model types: %s", fieldList(top), supportedTorchModelTypes())
		}
	}
	c.ModelType, ok = mt.(string)
	if !ok {
		return "", fmt.Errorf("field \"model_type\": expected a string, found %s", torchpickle.Describe(mt))
	}
	goType, ok := torchModelTypes[c.ModelType]
	if !ok {
		return "", fmt.Errorf("field \"model_type\": %q is not supported; supported: %s", c.ModelType, supportedTorchModelTypes())
	}
	return goType, nil
}

// readStateDict reads model_state_dict (or state_dict): tensors under PyTorch names, without
// DataParallel's "module." prefix.
func (c *Checkpoint) readStateDict(top map[string]any) error {
	rawSD, ok := top["model_state_dict"]
	if !ok {
		if rawSD, ok = top["state_dict"]; !ok {
			return fmt.Errorf("field \"model_state_dict\" is missing (found %s)", fieldList(top))
		}
	}
	sdDict, ok := torchpickle.Dict(rawSD)
	if !ok {
		return fmt.Errorf("field \"model_state_dict\": expected a dict of tensors, found %s", torchpickle.Describe(rawSD))
	}
	c.stateDict = map[string]*tensors.Tensor{}
	for k, v := range sdDict {
		t, ok := v.(*torchpickle.Tensor)
		if !ok {
			return fmt.Errorf("field \"model_state_dict\", entry %q: expected a tensor, found %s", k, torchpickle.Describe(v))
		}
		c.stateDict[strings.TrimPrefix(k, "module.")] = toGoMLX(t)
	}
	return nil
}

// readProgress reads the epoch, the finite scores and the optimizer's learning rate.
func (c *Checkpoint) readProgress(top map[string]any) error {
	if v, ok := top["epoch"]; ok && v != nil {
		e, ok := torchpickle.Number(v)
		if !ok || e < 0 || e != math.Trunc(e) || e > 1e9 {
			return fmt.Errorf("field \"epoch\": expected a non-negative integer, found %s", torchpickle.Describe(v))
		}
		c.Epoch = int(e)
	}
	for _, k := range []string{"loss", "val_loss", "val_acc", "exp_val_acc", "test_pearson", "test_acc"} {
		if x, ok := torchpickle.Number(top[k]); ok && !math.IsNaN(x) && !math.IsInf(x, 0) {
			c.Scores[k] = x
		}
	}
	c.LR = optimizerLR(top["optim_state_dict"])
	return nil
}

// StateDict returns the model's weights as in the file: PyTorch names (of the file's module
// order) and layouts.
func (c *Checkpoint) StateDict() map[string]*tensors.Tensor { return c.stateDict }

// Import sets the model's variables in ctx (as ImportStateDict does for c.Model).
func (c *Checkpoint) Import(ctx *model.Scope) error {
	return ImportStateDict(ctx, c.Model, c.stateDict)
}

// toGoMLX converts a decoded tensor: float types to float32 (float64 stays float64), integer
// and bool types to int64.
func toGoMLX(t *torchpickle.Tensor) *tensors.Tensor {
	shape := slices.Clone(t.Shape())
	f := t.Floats()
	switch {
	case t.DType() == "float64":
		return tensors.FromFlatDataAndDimensions(slices.Clone(f), shape...)
	case f != nil:
		f32 := make([]float32, len(f))
		for i, v := range f {
			f32[i] = float32(v)
		}
		return tensors.FromFlatDataAndDimensions(f32, shape...)
	}
	return tensors.FromFlatDataAndDimensions(slices.Clone(t.Ints()), shape...)
}

// parseNormStats reads {mean, std} (or [mean, std]) as numbers, numpy scalars or tensors.
func parseNormStats(v any) (datasets.NormStats, error) {
	var mean, std any
	if d, ok := torchpickle.Dict(v); ok {
		var okM, okS bool
		mean, okM = d["mean"]
		std, okS = d["std"]
		if !okM || !okS {
			return datasets.NormStats{}, fmt.Errorf("expected keys mean and std, found %s", torchpickle.Describe(v))
		}
	} else {
		items, _ := torchpickle.List(v)
		if len(items) != 2 {
			return datasets.NormStats{}, fmt.Errorf("expected {mean, std} or [mean, std], found %s", torchpickle.Describe(v))
		}
		mean, std = items[0], items[1]
	}
	m, ok := torchpickle.Number(mean)
	if !ok || math.IsNaN(m) || math.IsInf(m, 0) {
		return datasets.NormStats{}, fmt.Errorf("mean: expected a finite number, found %s", torchpickle.Describe(mean))
	}
	s, ok := torchpickle.Number(std)
	if !ok || !(s > 0) || math.IsInf(s, 0) {
		return datasets.NormStats{}, fmt.Errorf("std: expected a positive number, found %s", torchpickle.Describe(std))
	}
	return datasets.NormStats{Mean: m, Std: s}, nil
}

// optimizerLR reads param_groups[0]["lr"] of an optimizer state dict (0 if absent).
func optimizerLR(v any) float64 {
	d, ok := torchpickle.Dict(v)
	if !ok {
		return 0
	}
	groups, ok := d["param_groups"].(*types.List)
	if !ok || groups.Len() == 0 {
		return 0
	}
	g, ok := torchpickle.Dict(groups.Get(0))
	if !ok {
		return 0
	}
	lr, ok := torchpickle.Number(g["lr"])
	if !ok || !(lr > 0) || math.IsInf(lr, 0) {
		return 0
	}
	return lr
}
