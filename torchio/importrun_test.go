package torchio

import (
	"github.com/deepretina/deepretina/retina"

	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/deepretina/deepretina/datasets"
)

// TestImportTorchRunPredictsLikePyTorch imports a reference checkpoint into a run folder, loads
// it as any trained run, and predicts the raw movie PyTorch predicted (z-scored with the
// checkpoint's norm stats).
func TestImportTorchRunPredictsLikePyTorch(t *testing.T) {
	g := torchGolden(t)
	path := filepath.Join(torchTestdata, "bncnn_newest_zip.pt")
	c, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")

	// The checkpoint's hyper-parameters say 15-10-07, whose curated cells are 5: not the
	// model's 8 outputs.
	if _, err := ImportRun(c, dir, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "8 outputs") {
		t.Fatalf("import with mismatched cells: %v", err)
	}
	meta, err := ImportRun(c, dir, ImportOptions{Dataset: "sim-small", StimType: "whitenoise", DataPath: "/data"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	sum := sha256.Sum256(raw)
	if meta.Imported == nil || meta.Imported.SHA256 != hex.EncodeToString(sum[:]) || meta.Imported.From != path ||
		meta.Imported.ModelType != "BNCNN" || meta.Stopped != "imported" || meta.Epoch != 7 {
		t.Fatalf("run metadata: %+v, imported %+v", meta, meta.Imported)
	}
	if cfg := meta.Config; cfg.Dataset != "sim-small" || cfg.DataPath != "/data" || cfg.ExpName != "import_bncnn_newest_zip" ||
		cfg.BatchSize != 512 || !cfg.Cells.Curated || !slices.Equal(meta.CellIDs, []int{0, 1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("run config %+v, cells %v", cfg, meta.CellIDs)
	}

	model, err := retina.LoadModel(dir, retina.LoadOptions{Backend: goBackend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if model.Meta.Imported == nil || model.Meta.Imported.SHA256 != meta.Imported.SHA256 {
		t.Errorf("the checkpoint's meta.json lost the import record: %+v", model.Meta.Imported)
	}
	mv := g["cli.movie"]
	d := mv.Shape().Dimensions
	movie := datasets.Movie{T: d[0], H: d[1], W: d[2], Data: tensors.MustCopyFlatData[float32](mv)}
	pred, err := model.Predict(movie)
	if err != nil {
		t.Fatal(err)
	}
	want := mustFloat64s(t, g["cli.pred"])
	got := make([]float64, len(pred.Data))
	for i, v := range pred.Data {
		got[i] = float64(v)
	}
	t.Logf("predict: rel err %.3g", relErr(got, want))
	if e := parityErr(got, want, parityAtol); e > parityTol {
		t.Errorf("predictions of the imported run: rel err %g", e)
	}

	// A run folder is not overwritten, and training does not continue an imported run.
	if _, err := ImportRun(c, dir, ImportOptions{Dataset: "sim-small"}); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("second import into the same folder: %v", err)
	}
	again, err := retina.Train(context.Background(), meta.Config, dir, retina.TrainOptions{Data: synthetic(t), Backend: goBackend(t)})
	if err != nil || again.Stopped != "imported" || again.Epoch != 7 {
		t.Errorf("train on an imported run: %v, %+v", err, again)
	}
}
