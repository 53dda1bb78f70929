package torchio

import (
	"github.com/deepretina/deepretina/retina"

	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

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
		{"bncnn_newest_zip.pt", ImportOptions{Cells: &retina.CellList{IDs: []int{1, 1, 2, 3, 4, 5, 6, 7}}}, []string{"cells", "cell 1 is listed twice"}},
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
	meta, err := ImportRun(c, filepath.Join(t.TempDir(), "run"), ImportOptions{Cells: &retina.CellList{IDs: []int{2, 3, 4, 5, 6, 7, 8, 9}}})
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
	if _, err := retina.LoadModel(dir, retina.LoadOptions{Backend: goBackend(t)}); err != nil {
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
	_, err = retina.LoadModel(bad, retina.LoadOptions{Backend: goBackend(t)})
	if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("LoadModel of NaN weights: %v (want the variable %s named)", err, name)
	}
}
