package torchio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/runconfig"
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

	model, err := retina.LoadModel(dir, retina.LoadOptions{Backend: testutil.GoBackend(t)})
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
	want := testutil.Float64s(t, g["cli.pred"])
	got := make([]float64, len(pred.Data))
	for i, v := range pred.Data {
		got[i] = float64(v)
	}
	t.Logf("predict: rel err %.3g", testutil.RelErr(got, want))
	if e := parityErr(got, want, parityAtol); e > parityTol {
		t.Errorf("predictions of the imported run: rel err %g", e)
	}

	// A run folder is not overwritten, and training does not continue an imported run.
	if _, err := ImportRun(c, dir, ImportOptions{Dataset: "sim-small"}); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("second import into the same folder: %v", err)
	}
	again, err := retina.Train(context.Background(), meta.Config, dir, retina.TrainOptions{Data: testutil.Synthetic(t), Backend: testutil.GoBackend(t)})
	if err != nil || again.Stopped != "imported" || again.Epoch != 7 {
		t.Errorf("train on an imported run: %v, %+v", err, again)
	}
}

// TestImportRefusesWhatItCannotMap: a checkpoint whose "cells" cannot be read, or names a cell
// twice or a negative one, is an error naming cells, its value and --cells (it used to be
// dropped, mapping the outputs to cells 0…N−1); --cells with a repeated cell too; NaN or Inf
// weights are refused at import. Fixtures: scripts/torch_bad_cells.py.
func TestImportRefusesWhatItCannotMap(t *testing.T) {
	for _, tc := range []struct {
		file string
		opts ImportOptions
		want []string
	}{
		{"bad_cells_numpy.pt", ImportOptions{}, []string{"cells", "numpy array", "--cells"}},
		{"bad_cells_string.pt", ImportOptions{}, []string{"cells", `"first eight"`, "--cells"}},
		{"bad_cells_negative.pt", ImportOptions{}, []string{"cells", "[-1,0,1,2,3,4,5,6]", "negative", "--cells"}},
		{"bncnn_newest_zip.pt", ImportOptions{Cells: &runconfig.CellList{IDs: []int{1, 1, 2, 3, 4, 5, 6, 7}}}, []string{"cells", "cell 1 is listed twice"}},
		{"bad_nan_weight.pt", ImportOptions{Dataset: "sim-small"}, []string{"sequential.0.weight", "NaN", "flat index 5"}},
		{"bad_inf_weight.pt", ImportOptions{Dataset: "sim-small"}, []string{"sequential.2.running_var", "+Inf"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c, err := LoadCheckpoint(filepath.Join(torchTestdata, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "run")
			_, err = ImportRun(c, dir, tc.opts)
			if err == nil {
				t.Fatalf("imported")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if refs := checkpointDirs(dir); len(refs) > 0 {
				t.Errorf("a refused import left a checkpoint: %v", refs)
			}
		})
	}
	// The same checkpoint with the cells given explicitly imports: only the cells were wrong.
	c, err := LoadCheckpoint(filepath.Join(torchTestdata, "bad_cells_numpy.pt"))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := ImportRun(c, filepath.Join(t.TempDir(), "run"), ImportOptions{Cells: &runconfig.CellList{IDs: []int{2, 3, 4, 5, 6, 7, 8, 9}}})
	if err != nil || meta.CellIDs[0] != 2 || meta.CellIDs[7] != 9 {
		t.Fatalf("import with --cells: %v %v", err, meta)
	}
}

// TestLoadRefusesNonFiniteWeights: a checkpoint whose weights hold NaN (its hashes intact, as
// a diverged training would save it) is refused by LoadModel, naming the variable.
func TestLoadRefusesNonFiniteWeights(t *testing.T) {
	c, err := LoadCheckpoint(filepath.Join(torchTestdata, "bncnn_newest_zip.pt"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	meta, err := ImportRun(c, dir, ImportOptions{Dataset: "sim-small"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := retina.LoadModel(dir, retina.LoadOptions{Backend: testutil.GoBackend(t)}); err != nil {
		t.Fatalf("the finite run does not load: %v", err)
	}
	// Save the same run again with one weight NaN, through the checkpointer (hashes and all).
	store := model.NewStore()
	if err := c.Import(store.RootScope().In(retina.ModelScope)); err != nil {
		t.Fatal(err)
	}
	var name string
	for v := range store.IterVariables() {
		if strings.HasSuffix(v.Name(), "kernel") || strings.HasSuffix(v.Name(), "weights") {
			val := tensors.MustCopyFlatData[float32](v.MustValue())
			val[0] = float32(math.NaN())
			if err := v.SetValue(tensors.FromFlatDataAndDimensions(val, v.Shape().Dimensions...)); err != nil {
				t.Fatal(err)
			}
			name = v.Path()
			break
		}
	}
	if name == "" {
		t.Fatal("no kernel variable found")
	}
	bad := filepath.Join(t.TempDir(), "bad")
	if err := retina.SaveRun(store, bad, meta); err != nil {
		t.Fatal(err)
	}
	_, err = retina.LoadModel(bad, retina.LoadOptions{Backend: testutil.GoBackend(t)})
	if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("LoadModel of NaN weights: %v (want the variable %s named)", err, name)
	}
}
