package retina

import (
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/retina/nn/nntest"
)

// gomlx026Fixture is a checkpoint written by GoMLX v0.26.0 (testdata/gomlx026-checkpoint/gen):
// /model/w = 0, 0.5, 1, … (1000 float32) and /model/n = 7 (int64).
const gomlx026Fixture = "testdata/gomlx026-checkpoint"

func checkFixtureValues(t *testing.T, store *model.Store) {
	t.Helper()
	w := store.GetVariable("/model/w")
	n := store.GetVariable("/model/n")
	if w == nil || n == nil {
		t.Fatalf("variables /model/w, /model/n not loaded (got %v, %v)", w, n)
	}
	got := tensors.MustCopyFlatData[float32](w.MustValue())
	if len(got) != 1000 {
		t.Fatalf("/model/w has %d values, want 1000", len(got))
	}
	for i, v := range got {
		if v != float32(i)*0.5 {
			t.Fatalf("/model/w[%d] = %v, want %v", i, v, float32(i)*0.5)
		}
	}
	if got := n.MustValue().Value().(int64); got != 7 {
		t.Fatalf("/model/n = %d, want 7", got)
	}
}

// TestCheckpointHeaderShim: loadVariables reads GoMLX v0.26.0 checkpoints exactly; GoMLX's own
// loader (v0.28.8) still cannot (an error here; garbage weights where the gzip stream is not
// shorter than the raw values), and GoMLX still writes the header the shim converts to. The
// test fails, naming what to do, as soon as either changes upstream.
func TestCheckpointHeaderShim(t *testing.T) {
	store := model.NewStore()
	if err := loadVariables(store, gomlx026Fixture, true); err != nil {
		t.Fatalf("loading the GoMLX v0.26.0 checkpoint: %v", err)
	}
	checkFixtureValues(t, store)

	// Upstream alone, on the same files.
	func() {
		defer func() { _ = recover() }()
		raw := model.NewStore()
		if _, err := checkpoint.Build(raw).Dir(gomlx026Fixture).Immediate().Done(); err != nil {
			t.Logf("GoMLX's own loader on a v0.26.0 checkpoint: %v", err)
			return
		}
		w := raw.GetVariable("/model/w")
		if w != nil && w.HasValue() {
			got := tensors.MustCopyFlatData[float32](w.MustValue())
			if len(got) == 1000 && got[999] == 499.5 && got[1] == 0.5 {
				t.Error("GoMLX now reads GoMLX v0.26.0 checkpoints itself: delete retina/checkpointcompat.go, its use in loadVariables and this test")
			}
		}
	}()

	// The header GoMLX writes today, which the shim converts to.
	current, err := writingHeader()
	if err != nil {
		t.Fatal(err)
	}
	if current != gomlx028BinHeader {
		t.Errorf("GoMLX now writes the checkpoint header %q, not %q: re-check retina/checkpointcompat.go", current, gomlx028BinHeader)
	}
}

// TestCheckVariableShapes: a checkpoint whose weights do not fit its model description is
// refused by name before any graph is built.
func TestCheckVariableShapes(t *testing.T) {
	mcfg := nntest.SmallConfig(nn.ModelBNCNN)
	m, err := NewModel(mcfg, datasets.NormStats{Mean: 0, Std: 1}, 1, LoadOptions{Backend: testutil.GoBackend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkVariableShapes(m.Store(), mcfg); err != nil {
		t.Errorf("the model's own description: %v", err)
	}
	other := mcfg
	other.Chans = []int{mcfg.Chans[0] + 1, mcfg.Chans[1]}
	err = checkVariableShapes(m.Store(), other)
	if err == nil || !strings.Contains(err.Error(), "/model/conv1/kernel") {
		t.Errorf("chans %v against weights of chans %v: %v, want an error naming /model/conv1/kernel", other.Chans, mcfg.Chans, err)
	}
}
