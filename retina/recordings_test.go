package retina

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/retina/nn"
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

func multiMeta() *RunMeta {
	m := validMeta()
	m.NormStats.Std = 1
	m.Config.Recordings = []RecordingSpec{{Dataset: "a"}, {Dataset: "b"}}
	for _, s := range m.Config.RecordingSpecs() {
		mcfg := m.Config.ModelConfig(2)
		mcfg.ReadoutScope = nn.ReadoutScopeOf(s.Name)
		m.Recordings = append(m.Recordings, RecordingMeta{Name: s.Name, Spec: s, Model: mcfg, NormStats: datasets.NormStats{Mean: 1, Std: 2},
			CellIDs: []int{4, 5}, InputShape: mcfg.ImgShape, FrameRate: 100})
	}
	m.Model = m.Recordings[0].Model
	m.History = []EpochRecord{{Epoch: 1, ValCorr: 0.5, TestCorr: 0.6,
		Recordings: []RecordingScore{{Name: "a", ValCorr: 0.4, TestCorr: 0.5}, {Name: "b", ValCorr: 0.6, TestCorr: 0.7}}}}
	return m
}

func TestParseMetaRejectsBadRecordings(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(m *RunMeta)
		field string
	}{
		{"name", func(m *RunMeta) { m.Recordings[1].Name = "a" }, `"recordings[1].name"`},
		{"model", func(m *RunMeta) { m.Recordings[0].Model.NCells = 0 }, `"recordings[0].model"`},
		{"scope", func(m *RunMeta) { m.Recordings[1].Model.ReadoutScope = "readout/a" }, `"recordings[1].model": readout scope`},
		{"cells", func(m *RunMeta) { m.Recordings[1].CellIDs = []int{1} }, `"recordings[1].cell_ids"`},
		{"input shape", func(m *RunMeta) { m.Recordings[0].InputShape = [3]int{1, 2, 3} }, `"recordings[0].input_shape"`},
		{"norm", func(m *RunMeta) { m.Recordings[1].NormStats.Std = 0 }, `"recordings[1].norm_stats.std"`},
	}
	data, _ := json.Marshal(multiMeta())
	if _, err := ParseMeta(data); err != nil {
		t.Fatalf("valid meta rejected: %v", err)
	}
	for _, c := range cases {
		m := multiMeta()
		c.edit(m)
		data, _ := json.Marshal(m)
		if _, err := ParseMeta(data); err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %v does not name %s", c.name, err, c.field)
		}
	}
}

// TestForRecording: one recording's description is what a single-recording run of it would
// hold; asking for none of several, or for one the run lacks, lists the run's.
func TestForRecording(t *testing.T) {
	m := multiMeta()
	v, err := m.ForRecording("b")
	if err != nil {
		t.Fatal(err)
	}
	if v.Recording() != "b" || v.Model.ReadoutScope != "readout/b" || v.Config.Dataset != "b" || v.Config.MultiRecording() ||
		v.NormStats.Std != 2 || !slices.Equal(v.CellIDs, []int{4, 5}) || v.History[0].TestCorr != 0.7 || v.History[0].ValCorr != 0.6 {
		t.Fatalf("view of b: %+v", v)
	}
	if m.History[0].TestCorr != 0.6 || m.Recordings[1].Name != "b" || len(m.History[0].Recordings) != 2 {
		t.Error("the view changed the run's own description")
	}
	if again, err := v.ForRecording(""); err != nil || again.Recording() != "b" {
		t.Errorf("a view serves its recording without a name: %v", err)
	}
	for _, name := range []string{"", "c"} {
		_, err := m.ForRecording(name)
		var choice *RecordingChoiceError
		if !errors.As(err, &choice) || !strings.Contains(err.Error(), "a, b") {
			t.Errorf("ForRecording(%q): %v, want the list of recordings", name, err)
		}
	}
	single := validMeta()
	if v, err := single.ForRecording(""); err != nil || v != single {
		t.Errorf("single-recording run: %v", err)
	}
	if _, err := single.ForRecording(single.Config.Dataset); err != nil {
		t.Errorf("single-recording run named by its dataset: %v", err)
	}
	if _, err := single.ForRecording("other"); err == nil {
		t.Error("a single-recording run served a recording it does not hold")
	}
}

// TestCheckStartFromRun: a from_run that is no run, or whose core is another architecture, is
// refused before anything is created, naming from_run.
func TestCheckStartFromRun(t *testing.T) {
	rec := tinyRetina(t, 1)
	cfg := multiConfig(1)
	cfg.FromRun = filepath.Join(t.TempDir(), "missing")
	err := CheckStartRecordings(cfg, filepath.Join(t.TempDir(), "new"), []*datasets.Recording{rec})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "from_run" {
		t.Fatalf("missing from_run: %v", err)
	}
	// A run whose core has other channels.
	from := t.TempDir()
	other := multiConfig(1)
	other.Chans = []int{2, 2}
	meta := newRunMeta(other, []*datasets.Recording{rec})
	meta.Epoch, meta.BestEpoch = 1, 1
	model, err := NewModel(meta.Model, meta.NormStats, 1, LoadOptions{Backend: testutil.GoBackend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveRun(model.Store(), from, meta); err != nil {
		t.Fatal(err)
	}
	cfg.FromRun = from
	err = CheckStartRecordings(cfg, filepath.Join(t.TempDir(), "new"), []*datasets.Recording{rec})
	if !errors.As(err, &ce) || ce.Key != "from_run" || !strings.Contains(err.Error(), "chans: [2 2] there, [4 4] here") {
		t.Fatalf("another architecture: %v", err)
	}
	if err := CheckStartRecordings(cfg, t.TempDir(), []*datasets.Recording{rec, rec}); err == nil {
		t.Error("two recordings for a run of one accepted")
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
