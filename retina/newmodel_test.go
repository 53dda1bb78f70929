package retina

import (
	"slices"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/retina/nn/nntest"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// An untrained control describes itself like a run does: cells 0…N−1 (so that it can be scored
// against a recording of those cells), its input shape and that it is untrained; bad arguments
// are errors naming what is wrong.
func TestNewModelDescribesItself(t *testing.T) {
	cfg := runconfig.SmallConfig()
	cfg.Chans = []int{2, 2}
	mcfg := cfg.ModelConfig(3)
	m, err := NewModel(mcfg, datasets.NormStats{Mean: 0.5, Std: 2}, 7, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Meta.CellIDs, []int{0, 1, 2}) || m.Meta.InputShape != mcfg.ImgShape || m.Dir != "" ||
		m.Meta.NormStats.Std != 2 || m.Meta.Config.Seed != 7 {
		t.Errorf("meta: cells %v, input %v, dir %q, norm %+v, seed %d", m.Meta.CellIDs, m.Meta.InputShape, m.Dir, m.Meta.NormStats, m.Meta.Config.Seed)
	}
	for _, tc := range []struct {
		name string
		mcfg nn.ModelConfig
		norm datasets.NormStats
		want string
	}{
		{"zero std", mcfg, datasets.NormStats{Std: 0}, "norm stats std must be > 0"},
		{"no cells", cfg.ModelConfig(0), datasets.NormStats{Std: 1}, "new model"},
	} {
		if _, err := NewModel(tc.mcfg, tc.norm, 1, LoadOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// An untrained control is labelled with its own architecture, in the reference's terms.
func TestNewModelNamesItsArchitecture(t *testing.T) {
	for typ, want := range map[string]string{nn.ModelBNCNN: "BNCNN", nn.ModelLinearStacked: "LinearStackedBNCNN", nn.ModelLN: "LN"} {
		mcfg := nntest.SmallConfig(typ)
		m, err := NewModel(mcfg, datasets.NormStats{Std: 1}, 1, LoadOptions{Backend: testutil.GoBackend(t)})
		if err != nil {
			t.Fatal(err)
		}
		if m.Meta.Config.ModelType != want || !slices.Equal(m.Meta.Config.ImgShape, mcfg.ImgShape[:]) {
			t.Errorf("%s control: model_type %q img_shape %v, want %q %v", typ, m.Meta.Config.ModelType, m.Meta.Config.ImgShape, want, mcfg.ImgShape)
		}
	}
}
