package runconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfigKeepsBaseAndOverrides(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"lr": 0.005, "cells": [1, 3], "model_type": "LinearStackedBNCNN"}`), SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LR != 0.005 || len(cfg.Cells.IDs) != 2 || cfg.ModelConfig(2).Type != "linearstacked" {
		t.Fatalf("overrides not applied: %+v", cfg)
	}
	if cfg.BatchSize != SmallConfig().BatchSize || cfg.Dataset != "sim-small" {
		t.Fatalf("base values lost: %+v", cfg)
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := []struct{ name, json, want string }{
		{"unknown key lists valid ones", `{"learning_rate": 1}`, `unknown key "learning_rate"; valid keys: `},
		{"not an object", `[1,2]`, "not a JSON object"},
		{"wrong type", `{"lr": "fast"}`, "lr: expected a number, got a string"},
		{"negative lr", `{"lr": -1}`, "lr: expected a positive number"},
		{"bad model", `{"model_type": "ResNet"}`, "model_type"},
		{"bad stim", `{"stim_type": "movies"}`, "stim_type"},
		{"bad img_shape", `{"img_shape": [40, 50]}`, "img_shape"},
		{"kernel too big", `{"img_shape": [20, 10, 10], "ksizes": [9, 7]}`, ""},
		{"bad momentum", `{"bn_moment": 0}`, "bn_moment"},
		{"negative cell", `{"cells": [-1]}`, "cells"},
		{"truncated", `{"lr": 0.1`, "not a JSON object"},
		// The run folder is <out>/<exp_name>: one non-empty folder name, nothing that escapes.
		{"exp_name escaping", `{"exp_name": "../../escape"}`, `exp_name: "../../escape" is not a single folder name`},
		{"exp_name empty", `{"exp_name": ""}`, `exp_name: "" is not a single folder name`},
		{"exp_name dot", `{"exp_name": "."}`, `exp_name: "." is not a single folder name`},
		{"exp_name nested", `{"exp_name": "a/b"}`, `exp_name: "a/b"`},
		{"exp_name backslash", `{"exp_name": "a\\b"}`, `exp_name:`},
		// Batch norm estimates a variance from the batch: one sample is not a batch.
		{"batch of one", `{"batch_size": 1}`, "batch_size: expected at least 2"},
		// Type errors speak of the key and JSON types, never of Go struct fields.
		{"string for an integer", `{"batch_size": "big"}`, "batch_size: expected an integer, got a string"},
		{"fraction for an integer", `{"n_epochs": 1.5}`, "n_epochs: expected an integer, got the number 1.5"},
		{"negative seed", `{"seed": -1}`, "seed: expected an integer ≥ 0, got the number -1"},
		{"strings in a list of integers", `{"chans": ["a", "b"]}`, "chans: expected a list of integers, got a string in it"},
		{"number for a string", `{"stim_type": 3}`, "stim_type: expected a string, got a number"},
		{"kernel larger than the frame", `{"img_shape": [20, 10, 10], "ksizes": [11, 3]}`, "ksizes: 11 (first layer) is larger than the 10×10 frame of img_shape"},
		{"second kernel too large", `{"img_shape": [20, 10, 10], "ksizes": [5, 7]}`, "ksizes: 7 (second layer) is larger than the 6×6 output of the first layer"},
		{"even stacked kernel", `{"model_type": "LinearStackedBNCNN", "ksizes": [8, 7]}`, "ksizes: 8 (first layer): LinearStackedBNCNN stacks 3×3 convolutions"},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.json), SmallConfig())
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
		for _, goName := range []string{"Go struct", "Config.", "ModelConfig", "KSizes", "ImgShape"} {
			if strings.Contains(err.Error(), goName) {
				t.Errorf("%s: error %q speaks of Go names (%s)", c.name, err, goName)
			}
		}
	}
	// The error carries its key, so a caller can say where the value came from.
	_, err := ParseConfig([]byte(`{"batch_size": 1}`), SmallConfig())
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "batch_size" {
		t.Errorf("batch_size 1: error %v is not a ConfigError for batch_size", err)
	}
	// The LN model has no batch norm: a batch of one is fine there.
	if _, err := ParseConfig([]byte(`{"batch_size": 1, "model_type": "LN"}`), SmallConfig()); err != nil {
		t.Errorf("LN with batch_size 1: %v", err)
	}
	for _, k := range []string{"exp_name", "model_type", "dataset", "cells", "stim_type", "lossfxn", "log_poisson",
		"batch_size", "n_epochs", "lr", "l1", "l2", "noise", "bn_moment", "chans", "ksizes", "img_shape", "seed", "datapath"} {
		if _, err := ParseConfig([]byte(`{"`+k+`": null}`), SmallConfig()); err != nil && strings.Contains(err.Error(), "unknown key") {
			t.Errorf("reference key %q is not accepted", k)
		}
	}
}

func TestLoadConfigNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hp.json")
	_ = os.WriteFile(p, []byte(`{"bogus": 1}`), 0o644)
	if _, err := LoadConfig(p, SmallConfig()); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("error %v does not name %s", err, p)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.json"), SmallConfig()); err == nil {
		t.Fatal("missing file: no error")
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"lr": 0.01, "cells": [0, 1], "chans": [4, 4]}`))
	f.Add([]byte(`{"img_shape": [40, 50, 50], "ksizes": [15, 11]}`))
	f.Add([]byte(`{"model_type": "LN", "n_epochs": 1e9}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data, SmallConfig())
		if err != nil {
			return
		}
		// Anything accepted must be valid and describe a buildable model.
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		if cfg.ModelConfig(1).ParamCount() <= 0 {
			t.Fatalf("accepted a config with no parameters: %+v", cfg)
		}
	})
}
