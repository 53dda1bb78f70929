package retina

import (
	stdcontext "context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/metrics"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// TestTrainGainControlSaveLoad trains a tiny BNCNN with "gain_control": true for one short
// epoch: the run description and the checkpoint's meta.json carry the key, the checkpoint holds
// the stage's learned strengths gain1/a (moved from their initial −3), the reloaded model
// reproduces the test correlation the trainer logged for its best checkpoint. A run without the key writes no such field, and its
// meta.json loads as a model without the stage.
func TestTrainGainControlSaveLoad(t *testing.T) {
	rec := testutil.Synthetic(t)
	for _, on := range []bool{true, false} {
		cfg := tinyTrainConfig()
		cfg.NEpochs, cfg.MaxTrainWindows, cfg.GainControl = 1, 256, on
		dir := t.TempDir()
		meta, err := Train(stdcontext.Background(), cfg, dir, TrainOptions{Data: rec, Backend: testutil.GoBackend(t)})
		if err != nil {
			t.Fatal(err)
		}
		if meta.Model.GainControl != on || meta.Config.GainControl != on {
			t.Fatalf("gain_control %v: trained model %+v, config gain_control %v", on, meta.Model, meta.Config.GainControl)
		}
		best, err := bestCheckpoint(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(best, metaFile))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(raw), `"gain_control": true`) && strings.Contains(string(raw), `"GainControl": true`); got != on {
			t.Errorf("gain_control %v: meta.json carries the key (config and model): %v", on, got)
		}
		if !on && strings.Contains(string(raw), "ain_control") || !on && strings.Contains(string(raw), "GainControl") {
			t.Error("a run without the stage writes a gain-control field: old and new meta.json would differ")
		}
		vars, err := CheckpointVariables(best)
		if err != nil {
			t.Fatal(err)
		}
		var a []float64
		for path, v := range vars {
			if strings.HasSuffix(path, "/gain1/a") {
				a = testutil.Float64s(t, v)
			}
		}
		if on && (len(a) != cfg.Chans[0] || a[0] == -3) {
			t.Errorf("checkpoint's gain1/a = %v, want %d trained values", a, cfg.Chans[0])
		}
		if !on && a != nil {
			t.Errorf("a run without the stage saved gain1/a = %v", a)
		}
		m, err := LoadModel(dir, LoadOptions{Backend: testutil.GoBackend(t)})
		if err != nil {
			t.Fatal(err)
		}
		if m.Meta.Model.GainControl != on {
			t.Errorf("reloaded model: GainControl %v, want %v", m.Meta.Model.GainControl, on)
		}
		pred, err := m.Predict(rec.Test.Stimulus)
		if err != nil {
			t.Fatal(err)
		}
		hist := cfg.ImgShape[0]
		r := metrics.Mean(metrics.PearsonPerCell(pred.Data, rec.Test.Rates.Data[hist*pred.Cols:], pred.Cols))
		if math.Abs(r-m.Meta.TestCorrAtBest) > 1e-5 {
			t.Errorf("gain_control %v: reloaded model scores %.6f, the trainer logged %.6f", on, r, m.Meta.TestCorrAtBest)
		}
	}
}

// The key is parsed, and refused on the LN model, naming it.
func TestGainControlConfigKey(t *testing.T) {
	cfg, err := runconfig.ParseConfig([]byte(`{"gain_control": true}`), runconfig.SmallConfig())
	if err != nil || !cfg.GainControl || !cfg.ModelConfig(2).GainControl {
		t.Fatalf("parse gain_control: %v, %+v", err, cfg)
	}
	if _, err := runconfig.ParseConfig([]byte(`{"gain_control": true, "model_type": "LN"}`), runconfig.SmallConfig()); err == nil ||
		!strings.HasPrefix(err.Error(), "gain_control:") {
		t.Errorf("gain_control with LN: %v, want an error about gain_control", err)
	}
	if _, err := runconfig.ParseConfig([]byte(`{"gain_control": 1}`), runconfig.SmallConfig()); err == nil || !strings.Contains(err.Error(), "gain_control") {
		t.Errorf("gain_control 1: %v, want an error naming the key", err)
	}
	if off, _ := runconfig.ParseConfig([]byte(`{}`), runconfig.SmallConfig()); off.ModelConfig(2).GainControl {
		t.Error("without the key the model has the stage")
	}
}
