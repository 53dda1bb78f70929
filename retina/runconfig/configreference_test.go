package runconfig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina/nn"
)

// referenceHyperparams is a BNCNN hyperparams.json written with every key of the reference's
// training_scripts/hyperparams.json and its typical values.
const referenceHyperparams = `{
    "exp_name":"bncnn_ref",
    "n_repeats":3,
    "model_type":"BNCNN",
    "dataset":"15-10-07",
    "cells":"all",
    "stim_type":"naturalscene",
    "shuffle":true,
    "starting_exp_num":null,
    "lossfxn":"PoissonNLLLoss",
    "log_poisson":false,
    "softplus":true,
    "batch_size":2600,
    "n_epochs":40,
    "lr":0.01,
    "l1":0.001,
    "l2":0.001,
    "noise":0.05,
    "bias":true,
    "bnorm":true,
    "bnorm_d":1,
    "n_layers":3,
    "drop_p":0.05,
    "bn_moment":0.01,
    "chans":[8,8],
    "ksizes":[15,11],
    "img_shape":[40,50,50],
    "stackconvs":false,
    "save_every_epoch":false,
    "scheduler":"MultiStepLR",
    "scheduler_milestones":[5,15,25],
    "scheduler_factor":0.1
}`

func TestReferenceHyperparamsLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hyperparams.json")
	if err := os.WriteFile(p, []byte(referenceHyperparams), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(p, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.CellIDs(); !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Errorf(`"cells": "all" on 15-10-07 gives %v, want the curated [0 1 2 3 4]`, got)
	}
	m := cfg.ModelConfig(5)
	if m.DenseBias || m.NoConvBias || m.ExpOutput || m.DropP != 0 {
		t.Errorf("reference defaults changed the model: %+v (drop_p only applies to linear stacks)", m)
	}
	if m.ParamCount() != 138362 {
		t.Errorf("BNCNN of 5 cells has %d parameters, want 138,362", m.ParamCount())
	}
	// Keys saying the defaults describe the same run as leaving them out.
	minimal := `{"exp_name":"bncnn_ref","n_repeats":3,"model_type":"BNCNN","dataset":"15-10-07","cells":"all",
	  "stim_type":"naturalscene","batch_size":2600,"n_epochs":40,"lr":0.01,"l1":0.001,"l2":0.001,"n_layers":3,
	  "drop_p":0.05,"scheduler":"MultiStepLR","scheduler_milestones":[5,15,25],"scheduler_factor":0.1}`
	short, err := ParseConfig([]byte(minimal), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(short, cfg) {
		t.Errorf("explicit defaults differ from absent keys:\n%+v\n%+v", cfg, short)
	}
	// n_repeats: three runs with distinct seeds and folders.
	runs := ExpandRepeats([]Config{cfg})
	if len(runs) != 3 {
		t.Fatalf("n_repeats 3 gave %d runs", len(runs))
	}
	for i, r := range runs {
		if r.Seed != cfg.Seed+uint64(i) || r.ExpName != "bncnn_ref_"+string(rune('0'+i)) {
			t.Errorf("repeat %d: seed %d, folder %s", i, r.Seed, r.ExpName)
		}
	}
	// MultiStepLR: ×0.1 after epochs 5, 15 and 25 only.
	for epoch, want := range map[int]float64{1: 1, 4: 1, 5: 0.1, 6: 1, 15: 0.1, 25: 0.1, 40: 1} {
		if got := cfg.MultiStepFactor(epoch); got != want {
			t.Errorf("MultiStepLR after epoch %d: factor %g, want %g", epoch, got, want)
		}
	}
	// The run description keeps "all", so ranges over datasets resolve it per dataset.
	data, _ := json.Marshal(cfg)
	if !strings.Contains(string(data), `"cells":"all"`) {
		t.Errorf("config JSON lost \"all\": %s", data)
	}
	r := Ranges{"dataset": {json.RawMessage(`"15-11-21a"`), json.RawMessage(`"sim-small"`)}}
	expanded, err := r.Expand(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := expanded[0].CellIDs(); !slices.Equal(got, []int{6, 10, 12, 13}) {
		t.Errorf("15-11-21a: cells %v", got)
	}
	if got := expanded[1].CellIDs(); got != nil {
		t.Errorf(`sim-small has no curated list: "all" must mean every cell, got %v`, got)
	}
}

// TestReferenceKeysChangeTheModel: the keys that change the model reach ModelConfig.
func TestReferenceKeysChangeTheModel(t *testing.T) {
	base := SmallConfig()
	ref := base.ModelConfig(8)
	cases := []struct {
		json  string
		check func(m nn.ModelConfig) bool
	}{
		{`{"softplus": false, "log_poisson": true}`, func(m nn.ModelConfig) bool { return m.ExpOutput }},
		{`{"bias": false}`, func(m nn.ModelConfig) bool {
			return m.NoConvBias && m.ParamCount() == ref.ParamCount()-base.Chans[0]-base.Chans[1]
		}},
		{`{"gc_bias": true}`, func(m nn.ModelConfig) bool { return m.DenseBias && m.ParamCount() == ref.ParamCount()+8 }},
		{`{"model_type": "LinearStackedBNCNN", "drop_p": 0.1, "stackconvs": true}`, func(m nn.ModelConfig) bool {
			return m.Type == nn.ModelLinearStacked && m.DropP == 0.1
		}},
		{`{"drop_p": 0.1}`, func(m nn.ModelConfig) bool { return m.DropP == 0 }}, // BNCNN: no stacks, as in the reference
		{`{"n_layers": 3, "bnorm": true, "bnorm_d": 1, "stackconvs": false}`, func(m nn.ModelConfig) bool { return reflect.DeepEqual(m, ref) }},
	}
	for _, c := range cases {
		cfg, err := ParseConfig([]byte(c.json), base)
		if err != nil {
			t.Errorf("%s: %v", c.json, err)
			continue
		}
		if m := cfg.ModelConfig(8); !c.check(m) {
			t.Errorf("%s: model %+v", c.json, m)
		}
	}
}

func TestReferenceKeysTraining(t *testing.T) {
	train := []int{9, 2, 7, 4, 0}
	shuffled, err := ParseConfig([]byte(`{"shuffle": true}`), SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	inOrder, err := ParseConfig([]byte(`{"shuffle": false}`), SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	if got := inOrder.EpochOrder(train, 3); !slices.Equal(got, []int{0, 2, 4, 7, 9}) {
		t.Errorf("shuffle false: order %v, want time order", got)
	}
	if got := shuffled.EpochOrder(train, 3); !slices.Equal(got, datasets.EpochOrder(train, shuffled.Seed, 3)) {
		t.Errorf("shuffle true: order %v, want the random epoch order", got)
	}
	every, err := ParseConfig([]byte(`{"save_every_epoch": true}`), SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	if every.KeepCheckpoints(2) < 1000 || SmallConfig().KeepCheckpoints(2) != 2 {
		t.Errorf("save_every_epoch: keeps %d checkpoints", every.KeepCheckpoints(2))
	}
}

func TestReferenceKeysRejected(t *testing.T) {
	cases := []struct{ json, want string }{
		{`{"bnorm": false}`, "bnorm: false is not supported with model_type BNCNN"},
		{`{"bnorm_d": 2}`, "bnorm_d: 2 (per-channel BatchNorm2d) is not supported with model_type BNCNN; supported: 1"},
		{`{"bnorm_d": 3}`, "bnorm_d: 3: expected 1 or 2"},
		{`{"stackconvs": true}`, "stackconvs: true is not supported with model_type BNCNN; use model_type LinearStackedBNCNN"},
		{`{"softplus": false}`, "softplus: false needs log_poisson: true"},
		{`{"log_poisson": true}`, "log_poisson: true is supported only with softplus: false"},
		{`{"model_type": "LN", "softplus": false, "log_poisson": true}`, "softplus: false is not supported with model_type LN"},
		{`{"retinotopic": true}`, "retinotopic: true is not supported"},
		{`{"train_loop": "retinotopic_loop"}`, `train_loop: "retinotopic_loop" is not supported`},
		{`{"scheduler": "MultiStepLR"}`, "scheduler_milestones: scheduler MultiStepLR needs a list of epochs"},
		{`{"scheduler": "MultiStepLR", "scheduler_milestones": [0, 5]}`, "scheduler_milestones: [0 5]: expected epoch numbers ≥ 1"},
		{`{"scheduler": "CosineAnnealingLR"}`, "scheduler: expected ReduceLROnPlateau, MultiStepLR or none"},
		{`{"drop_p": 1}`, "drop_p: 1: expected a probability in [0, 1)"},
		{`{"cells": "some"}`, `cells: "some" is not supported; expected a list of cell indices or "all"`},
		{`{"n_repeats": -2}`, "n_repeats: -2"},
		{`{"starting_exp_num": -1}`, "starting_exp_num: -1"},
		{`{"semantic_scale": -7}`, "semantic_scale: -7"},
		{`{"model_type": "RetinotopicModel"}`, "model_type"},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.json), SmallConfig())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to say %q", c.json, err, c.want)
		}
	}
	// The reference's own retinotopic hyperparams.json names what it asks for.
	retino := strings.Replace(referenceHyperparams, `"model_type":"BNCNN"`, `"model_type":"BNCNN", "train_loop":"retinotopic_loop", "retinotopic":true, "semantic_scale":7`, 1)
	if _, err := ParseConfig([]byte(retino), DefaultConfig()); err == nil || !strings.Contains(err.Error(), "train_loop") {
		t.Errorf("retinotopic config: %v", err)
	}
}
