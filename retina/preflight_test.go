package retina

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// CheckStart finds what would make training fail — before anything is created on disk.
func TestCheckStartRejectsBeforeCreatingAnything(t *testing.T) {
	rec := testutil.Synthetic(t)
	for _, c := range []struct {
		name string
		edit func(*runconfig.Config)
		want []string
	}{
		{"frames of another size", func(c *runconfig.Config) { c.ImgShape = []int{6, 10, 10} }, []string{"img_shape: [6 10 10]", "8×8"}},
		{"history longer than the test set", func(c *runconfig.Config) { c.ImgShape = []int{250, 8, 8} }, []string{"img_shape: a history of 250 frames", "test stimulus has 200"}},
		{"batch larger than the data", func(c *runconfig.Config) { c.BatchSize = 5000 }, []string{"batch_size: 5000", "training windows"}},
		{"window cap below the batch", func(c *runconfig.Config) { c.MaxTrainWindows = 10 }, []string{"batch_size: 32", "max_train_windows 10"}},
		{"invalid config", func(c *runconfig.Config) { c.BatchSize = 1 }, []string{"batch_size: expected at least 2"}},
	} {
		cfg := tinyTrainConfig()
		c.edit(&cfg)
		dir := filepath.Join(t.TempDir(), "out", "run")
		err := CheckStart(cfg, dir, rec)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
		if _, err := os.Stat(filepath.Dir(dir)); !os.IsNotExist(err) {
			t.Errorf("%s: CheckStart created %s", c.name, filepath.Dir(dir))
		}
	}
	if err := CheckStart(tinyTrainConfig(), filepath.Join(t.TempDir(), "fresh"), rec); err != nil {
		t.Fatalf("a valid start: %v", err)
	}
}

// An existing run: another config names only the keys that differ (n_epochs may grow), and
// data that changed since it was trained are refused, saying what changed.
func TestCheckStartOnAnExistingRun(t *testing.T) {
	rec := testutil.Synthetic(t)
	rec.Source = datasets.Source{Path: "/data/x/whitenoise.h5", Size: 100, SHA256: strings.Repeat("a", 64)}
	dir := t.TempDir()
	cfg := tinyTrainConfig()
	cfg.NEpochs = 1
	meta, err := Train(context.Background(), cfg, dir, TrainOptions{Data: rec, Backend: testutil.GoBackend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if meta.DataSource == nil || *meta.DataSource != rec.Source {
		t.Fatalf("the run records data source %+v, want %+v", meta.DataSource, rec.Source)
	}
	cfg.NEpochs = 3
	if err := CheckStart(cfg, dir, rec); err != nil {
		t.Fatalf("extending the run: %v", err)
	}
	other := cfg
	other.LR, other.Chans = 0.5, []int{3, 4}
	err = CheckStart(other, dir, rec)
	if err == nil {
		t.Fatal("another config accepted")
	}
	for _, w := range []string{"holds another run", "chans: [3,3] there, [3,4] here", "lr: 0.005 there, 0.5 here"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	for _, unchanged := range []string{"batch_size", "ksizes", `"exp_name"`} {
		if strings.Contains(err.Error(), unchanged) {
			t.Errorf("error %q names the unchanged key %s", err, unchanged)
		}
	}
	changed := *rec
	changed.Source.SHA256 = strings.Repeat("b", 64)
	changed.Source.Size = 101
	err = CheckStart(cfg, dir, &changed)
	var dc *DataChangedError
	if !errors.As(err, &dc) || !strings.Contains(err.Error(), "size 100 → 101 bytes") || !strings.Contains(err.Error(), "content hash aaaa") {
		t.Fatalf("changed data: %v", err)
	}
	if err := CheckSameData(meta, rec); err != nil {
		t.Fatalf("the same data: %v", err)
	}
	if err := CheckSameData(meta, &changed); !errors.As(err, &dc) {
		t.Fatalf("CheckSameData on changed data: %v", err)
	}
}

// A failed start leaves nothing behind that it created; a run with checkpoints is kept.
func TestCleanFailedStart(t *testing.T) {
	root := t.TempDir()
	fresh := filepath.Join(root, "fresh")
	_ = os.MkdirAll(filepath.Join(fresh, checkpointsDir, ".staging"), 0o755)
	_ = os.WriteFile(filepath.Join(fresh, checkpointsDir, ".staging", "x.bin"), []byte("x"), 0o644)
	_ = os.MkdirAll(filepath.Join(fresh, checkpointsDir, ".tmp-epoch-0001"), 0o755)
	if err := CleanFailedStart(fresh, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("the failed start's folder %s is still there (%v)", fresh, err)
	}
	kept := filepath.Join(root, "kept")
	_ = os.MkdirAll(filepath.Join(kept, checkpointsDir, "epoch-0001"), 0o755)
	_ = os.MkdirAll(filepath.Join(kept, checkpointsDir, ".staging"), 0o755)
	if err := CleanFailedStart(kept, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(kept, checkpointsDir, "epoch-0001")); err != nil {
		t.Errorf("a checkpoint was removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(kept, checkpointsDir, ".staging")); !os.IsNotExist(err) {
		t.Errorf("staging left behind")
	}
	// A folder the user made (not created by this start) is never removed, even empty.
	mine := filepath.Join(root, "mine")
	_ = os.MkdirAll(mine, 0o755)
	if err := CleanFailedStart(mine, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("a folder that existed before was removed: %v", err)
	}
}

// The stop message says what is left: the last checkpoint, or that there is none.
func TestKeptNote(t *testing.T) {
	dir := t.TempDir()
	c := &checkpointer{runDir: dir}
	if n := c.keptNote(); !strings.Contains(n, "no checkpoint exists yet") {
		t.Errorf("no checkpoint: %q", n)
	}
	_ = os.MkdirAll(filepath.Join(dir, checkpointsDir, "epoch-0003"), 0o755)
	if n := c.keptNote(); !strings.Contains(n, "(epoch-0003) is kept") {
		t.Errorf("one checkpoint: %q", n)
	}
}

// A test set with fewer than two repeats is announced when the data load, before any training.
func TestLoadDataAnnouncesMissingRepeats(t *testing.T) {
	rec := testutil.Synthetic(t)
	rec.Test.Repeats = [][][]float32{{rec.Test.Rates.Column(0)}, {rec.Test.Rates.Column(1)}}
	rec.PixelSizeUM = 50
	root := t.TempDir()
	if err := datasets.WriteFile(filepath.Join(root, "synthetic", "whitenoise.h5"), rec); err != nil {
		t.Fatal(err)
	}
	cfg := tinyTrainConfig()
	cfg.DataPath, cfg.StimType = root, datasets.WhiteNoise
	var log strings.Builder
	if _, err := LoadData(cfg, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "has 1 repeats") || !strings.Contains(log.String(), "n/a") {
		t.Fatalf("log %q", log.String())
	}
}
