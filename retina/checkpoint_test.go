package retina

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/retina/runconfig"
)

func validMeta() *RunMeta {
	cfg := runconfig.SmallConfig()
	m := cfg.ModelConfig(2)
	return &RunMeta{Format: MetaFormat, Config: cfg, Model: m, CellIDs: []int{0, 1}, InputShape: m.ImgShape,
		FrameRate: 100}
}

func TestParseMetaRejectsBadFields(t *testing.T) {
	good := validMeta()
	good.NormStats.Std = 1
	cases := []struct {
		name  string
		edit  func(m *RunMeta)
		field string
	}{
		{"format", func(m *RunMeta) { m.Format = 99 }, `"format"`},
		{"cells", func(m *RunMeta) { m.CellIDs = []int{1} }, `"cell_ids"`},
		{"input shape", func(m *RunMeta) { m.InputShape = [3]int{1, 2, 3} }, `"input_shape"`},
		{"norm", func(m *RunMeta) { m.NormStats.Std = 0 }, `"norm_stats.std"`},
		{"model", func(m *RunMeta) { m.Model.NCells = 0 }, `"model"`},
		{"epoch", func(m *RunMeta) { m.Epoch = -1 }, `"epoch"`},
	}
	data, _ := json.Marshal(good)
	if _, err := ParseMeta(data); err != nil {
		t.Fatalf("valid meta rejected: %v", err)
	}
	for _, c := range cases {
		m := *good
		m.Model.Chans = append([]int(nil), good.Model.Chans...)
		c.edit(&m)
		data, _ := json.Marshal(&m)
		_, err := ParseMeta(data)
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %v does not name %s", c.name, err, c.field)
		}
	}
	if _, err := ParseMeta([]byte("{not json")); err == nil {
		t.Error("garbage accepted")
	}
}

func FuzzParseMeta(f *testing.F) {
	m := validMeta()
	m.NormStats.Std = 2
	good, _ := json.Marshal(m)
	f.Add(good)
	f.Add([]byte(`{"format": 1}`))
	f.Add([]byte(`{"format": 1, "model": {"Type": "ln", "NCells": 1, "ImgShape": [1,1,1]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		meta, err := ParseMeta(data)
		if err != nil {
			return
		}
		if len(meta.CellIDs) != meta.Model.NCells || !(meta.NormStats.Std > 0) {
			t.Fatalf("accepted inconsistent meta: %+v", meta)
		}
	})
}
