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
	"github.com/deepretina/deepretina/retina/runconfig"
)

func multiMeta() *RunMeta {
	m := validMeta()
	m.NormStats.Std = 1
	m.Config.Recordings = []runconfig.RecordingSpec{{Dataset: "a"}, {Dataset: "b"}}
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
	var ce *runconfig.ConfigError
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
