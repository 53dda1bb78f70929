package runconfig

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestRecordingsConfigErrors: every mistake in the multi-recording keys is refused, naming the
// key (and the entry of recordings) at fault.
func TestRecordingsConfigErrors(t *testing.T) {
	cases := []struct{ name, json, key, want string }{
		{"unknown readout", `{"readout": "gaussian"}`, "readout", `"gaussian" is not dense or factorised`},
		{"factorised LN", `{"model_type": "LN", "readout": "factorised"}`, "readout", "LN has no core"},
		{"recordings with LN", `{"model_type": "LN", "recordings": ["a", "b"]}`, "recordings", "LN has no core"},
		{"from_run with LN", `{"model_type": "LN", "from_run": "runs/x"}`, "from_run", "LN has no core"},
		{"readout_only alone", `{"readout_only": true}`, "readout_only", "needs from_run"},
		{"unfreeze without readout_only", `{"from_run": "r", "unfreeze_after": 2}`, "unfreeze_after", "needs readout_only"},
		{"negative unfreeze", `{"from_run": "r", "readout_only": true, "unfreeze_after": -1}`, "unfreeze_after", "≥ 0"},
		{"same name twice", `{"recordings": ["a", {"dataset": "b", "name": "a"}]}`, "recordings", `entry 1: field "name": "a" is also the name of entry 0`},
		{"same dataset twice", `{"recordings": ["a", "a"]}`, "recordings", `entry 1: field "name"`},
		{"bad name", `{"recordings": [{"dataset": "a", "name": "x/y"}]}`, "recordings", `entry 0: field "name": "x/y" is not a recording name`},
		{"bad stim", `{"recordings": [{"dataset": "a", "stim_type": "movies"}]}`, "recordings", `entry 0: field "stim_type"`},
		{"negative cell", `{"recordings": ["a", {"dataset": "b", "cells": [3, -1]}]}`, "recordings", `entry 1: field "cells": index -1`},
		{"unknown entry key", `{"recordings": [{"dataset": "a", "cell": [1]}]}`, "", `unknown field "cell"`},
		{"not a list", `{"recordings": "a"}`, "", "recordings"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.json), SmallConfig())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			var ce *ConfigError
			if c.key != "" && (!errors.As(err, &ce) || ce.Key != c.key) {
				t.Errorf("error %v is not a ConfigError for %s", err, c.key)
			}
		})
	}
}

// TestRecordingSpecsDefaults: a recording names its dataset (a bare string is one) and takes
// the config's other data keys unless it sets them; its own config loads it.
func TestRecordingSpecsDefaults(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"datapath": "/data", "stim_type": "whitenoise", "cells": [0, 2], "sim_seed": 5,
		"recordings": ["15-10-07", {"name": "b", "dataset": "15-11-21a", "stim_type": "naturalscene", "cells": "all", "datapath": "/other"}]}`), SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	specs := cfg.RecordingSpecs()
	if len(specs) != 2 || specs[0].Name != "15-10-07" || specs[0].DataPath != "/data" || specs[0].StimType != "whitenoise" ||
		!slices.Equal(specs[0].Cells.IDs, []int{0, 2}) || specs[0].SimSeed != 5 {
		t.Fatalf("first recording %+v", specs[0])
	}
	b := cfg.RecordingConfig(specs[1])
	if b.Dataset != "15-11-21a" || b.DataPath != "/other" || b.StimType != "naturalscene" || !b.Cells.Curated ||
		b.Recordings != nil || b.MultiRecording() {
		t.Fatalf("second recording's config %+v", b)
	}
	if !slices.Equal(b.CellIDs(), CuratedCells["15-11-21a"]) {
		t.Errorf("cells \"all\" of 15-11-21a: %v, want the curated list", b.CellIDs())
	}
	// A fine-tuned run without a recordings list has one recording: the config's dataset.
	fine, err := ParseConfig([]byte(`{"dataset": "sim-small", "from_run": "runs/core", "readout_only": true}`), SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	if s := fine.RecordingSpecs(); len(s) != 1 || s[0].Name != "sim-small" {
		t.Errorf("fine-tuning recordings %+v", s)
	}
	if SmallConfig().RecordingSpecs() != nil || SmallConfig().MultiRecording() {
		t.Error("a single-recording config lists recordings")
	}
	// readout "dense" is the default, spelled out or not.
	dense, _ := ParseConfig([]byte(`{"readout": "dense"}`), SmallConfig())
	if diff := ChangedKeys(dense, SmallConfig()); len(diff) > 0 {
		t.Errorf("readout dense differs from the default: %v", diff)
	}
}

// TestRangesKeepRecordings: a sweep over the core's hyper-parameters (a --ranges file over a
// multi-recording config) gives runs on the same recordings.
func TestRangesKeepRecordings(t *testing.T) {
	base, err := ParseConfig([]byte(`{"readout": "factorised", "recordings": ["a", {"name": "b", "dataset": "x", "cells": [1], "sim_seed": 3}]}`), SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := Ranges{"chans": {json.RawMessage(`[4,4]`), json.RawMessage(`[8,8]`)}}.Expand(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfgs {
		specs := c.RecordingSpecs()
		if len(specs) != 2 || specs[1].Name != "b" || specs[1].SimSeed != 3 || !slices.Equal(specs[1].Cells.IDs, []int{1}) || c.Readout != "factorised" {
			t.Errorf("%s: recordings %+v, readout %q", c.ExpName, specs, c.Readout)
		}
	}
}
