package retina

import (
	"encoding/json"
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
		{"wrong type", `{"lr": "fast"}`, "bad value"},
		{"negative lr", `{"lr": -1}`, "lr: expected a positive number"},
		{"bad model", `{"model_type": "ResNet"}`, "model_type"},
		{"bad stim", `{"stim_type": "movies"}`, "stim_type"},
		{"bad img_shape", `{"img_shape": [40, 50]}`, "img_shape"},
		{"kernel too big", `{"img_shape": [20, 10, 10], "ksizes": [9, 7]}`, ""},
		{"bad momentum", `{"bn_moment": 0}`, "bn_moment"},
		{"negative cell", `{"cells": [-1]}`, "cells"},
		{"truncated", `{"lr": 0.1`, "not a JSON object"},
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

func TestRangesExpandCartesianProduct(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ranges.json")
	_ = os.WriteFile(p, []byte(`{"stim_type": ["whitenoise", "naturalscene"], "lr": [0.001, 0.01, 0.1]}`), 0o644)
	r, err := LoadRanges(p)
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := r.Expand(SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 6 {
		t.Fatalf("%d runs, want 2×3 = 6", len(cfgs))
	}
	names := map[string]bool{}
	seen := map[string]bool{}
	for _, c := range cfgs {
		names[c.ExpName] = true
		key, _ := json.Marshal([]any{c.StimType, c.LR})
		seen[string(key)] = true
	}
	if len(names) != 6 || len(seen) != 6 {
		t.Fatalf("runs are not distinct: names %v combos %v", names, seen)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"lrate": [1]}`), 0o644)
	if _, err := LoadRanges(bad); err == nil || !strings.Contains(err.Error(), "lrate") {
		t.Fatalf("unknown ranges key: %v", err)
	}
	_ = os.WriteFile(bad, []byte(`{"lr": [-1]}`), 0o644)
	r, _ = LoadRanges(bad)
	if _, err := r.Expand(SmallConfig()); err == nil {
		t.Fatal("invalid value in ranges: no error")
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
