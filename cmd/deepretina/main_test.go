package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/deepretina/deepretina/datasets/simretina"
	"github.com/deepretina/deepretina/retina"
)

// The CLI tests build the real binary and drive it as a user would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deepretina-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "deepretina")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic("build: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "GOMLX_BACKEND=go")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// simSources are the code that simulates and writes the data the CLI tests share: folders (their
// non-test Go files) and files.
var simSources = []string{"../../datasets", "../../datasets/simretina", "../../internal/h5", "simulate.go"}

// simulated writes the small simulated retina, cached across test runs in
// $TMPDIR/deepretina-cli-data-<key>, where the key changes with the simulator's parameters and
// code (simCacheKey): a changed simulator gets fresh data, never files of an older version.
func simulated(t *testing.T) string {
	t.Helper()
	key, err := simCacheKey(simSources...)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(os.TempDir(), "deepretina-cli-data-"+key)
	complete := true
	for _, f := range []string{"whitenoise.h5", "naturalscene.h5", "bipolars_sim.h5", "amacrines_sim.h5"} {
		if _, err := os.Stat(filepath.Join(dir, "sim-small", f)); err != nil {
			complete = false
		}
	}
	if complete {
		return dir
	}
	if out, err := run(t, "simulate", "--out", dir, "--preset", "small"); err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	return dir
}

// simCacheKey is a hash of the "small" preset's parameters and of the code that simulates and
// writes the data: the non-test Go files of each folder in sources, and each file in sources.
func simCacheKey(sources ...string) (string, error) {
	h := sha256.New()
	cfg, err := simretina.Preset("small")
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "%#v\n", cfg)
	var files []string
	for _, src := range sources {
		st, err := os.Stat(src)
		if err != nil {
			return "", err
		}
		if !st.IsDir() {
			files = append(files, src)
			continue
		}
		in, err := filepath.Glob(filepath.Join(src, "*.go"))
		if err != nil {
			return "", err
		}
		for _, f := range in {
			if !strings.HasSuffix(f, "_test.go") {
				files = append(files, f)
			}
		}
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// The cache of simulated data follows the simulator: another code version or other parameters
// give another key; the same ones give the same key; a test file does not count.
func TestSimCacheKeyFollowsTheSimulator(t *testing.T) {
	src := t.TempDir()
	for _, dir := range []string{"datasets", "simretina"} {
		if err := os.Mkdir(filepath.Join(src, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"simretina/simulate.go", "simretina/circuit.go", "lab.go"} {
		data, err := os.ReadFile(filepath.Join("../../datasets", f))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(src, "datasets", f)
		if strings.HasPrefix(f, "simretina/") {
			dst = filepath.Join(src, f)
		}
		_ = os.WriteFile(dst, data, 0o644)
	}
	dirs := []string{filepath.Join(src, "datasets"), filepath.Join(src, "simretina")}
	testFile := filepath.Join(src, "simretina", "simretina_test.go")
	_ = os.WriteFile(testFile, []byte("package simretina"), 0o644)
	a, err := simCacheKey(dirs...)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := simCacheKey(dirs...); b != a {
		t.Fatalf("the same code gives keys %s and %s", a, b)
	}
	_ = os.WriteFile(testFile, []byte("package simretina // changed"), 0o644)
	if b, _ := simCacheKey(dirs...); b != a {
		t.Fatalf("a test file changed the key")
	}
	for _, f := range []string{filepath.Join(src, "simretina", "circuit.go"), filepath.Join(src, "datasets", "lab.go")} {
		before, _ := simCacheKey(dirs...)
		fh, _ := os.OpenFile(f, os.O_APPEND|os.O_WRONLY, 0)
		_, _ = fh.WriteString("\n// a change\n")
		fh.Close()
		if b, _ := simCacheKey(dirs...); b == before {
			t.Fatalf("a change to %s kept the key %s", filepath.Base(f), b)
		}
	}
	real, err := simCacheKey(simSources...)
	if err != nil || real == a || len(real) != 16 {
		t.Fatalf("key of the real simulator: %q, %v", real, err)
	}
}

// tinyConfig trains in seconds: few windows, small batch, two epochs.
func tinyConfig(t *testing.T, dir string, extra string) string {
	p := filepath.Join(dir, "hp.json")
	body := `{"exp_name": "tiny", "dataset": "sim-small", "stim_type": "whitenoise", "img_shape": [20, 20, 20],
	  "ksizes": [9, 7], "chans": [4, 4], "batch_size": 32, "n_epochs": 2, "max_train_windows": 512, "seed": 3` + extra + `}`
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type savedRun struct {
	History []struct {
		Epoch     int     `json:"epoch"`
		TrainLoss float64 `json:"train_loss"`
		ValCorr   float64 `json:"val_corr"`
	} `json:"history"`
	Files   map[string]string `json:"files"`
	Epoch   int               `json:"epoch"`
	Backend string            `json:"backend"`
}

func readRun(t *testing.T, runDir string) savedRun {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(runDir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r savedRun
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// sameVariables reports the first variable (weights, optimizer moments, RNG state, …) whose
// value differs bit for bit between the final checkpoints of two runs.
func sameVariables(t *testing.T, runA, runB string, epoch int) {
	t.Helper()
	dir := func(run string) string { return filepath.Join(run, "checkpoints", fmt.Sprintf("epoch-%04d", epoch)) }
	a, err := retina.CheckpointVariables(dir(runA))
	if err != nil {
		t.Fatal(err)
	}
	b, err := retina.CheckpointVariables(dir(runB))
	if err != nil {
		t.Fatal(err)
	}
	// Running loss averages kept for display are keyed by a random id: not part of the state.
	for _, m := range []map[string]*tensors.Tensor{a, b} {
		for name := range m {
			if strings.HasPrefix(name, "/metrics/") {
				delete(m, name)
			}
		}
	}
	if len(a) != len(b) || len(a) < 10 {
		t.Fatalf("checkpoints hold %d and %d variables", len(a), len(b))
	}
	for name, ta := range a {
		tb, ok := b[name]
		if !ok {
			t.Fatalf("variable %s missing from %s", name, runB)
		}
		if fmt.Sprint(ta.Value()) != fmt.Sprint(tb.Value()) {
			t.Fatalf("variable %s differs between %s and %s", name, runA, runB)
		}
	}
}

func TestTrainKillResumeMatchesUninterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	work := t.TempDir()
	cfg := tinyConfig(t, work, "")

	// Reference: an uninterrupted run.
	if out, err := run(t, "train", "--no-ln", "--config", cfg, "--data", data, "--out", filepath.Join(work, "a")); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	ref := readRun(t, filepath.Join(work, "a", "tiny"))
	if ref.Epoch != 2 || len(ref.History) != 2 {
		t.Fatalf("uninterrupted run: epoch %d history %d", ref.Epoch, len(ref.History))
	}

	// Killed with SIGKILL once the first epoch's checkpoint exists, then resumed.
	out := filepath.Join(work, "b")
	cmd := exec.Command(binary, "train", "--no-ln", "--config", cfg, "--data", data, "--out", out)
	cmd.Env = append(os.Environ(), "GOMLX_BACKEND=go")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(out, "tiny", "checkpoints", "epoch-0001")
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if _, err := os.Stat(first); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint after 5 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if text, err := run(t, "train", "--no-ln", "--config", cfg, "--data", data, "--out", out); err != nil {
		t.Fatalf("resume: %v\n%s", err, text)
	} else if !strings.Contains(text, "resuming") {
		t.Fatalf("second run did not resume:\n%s", text)
	}
	got := readRun(t, filepath.Join(out, "tiny"))
	if got.Epoch != 2 || len(got.History) != 2 {
		t.Fatalf("resumed run: epoch %d, %d history rows", got.Epoch, len(got.History))
	}
	for i := range ref.History {
		if got.History[i] != ref.History[i] {
			t.Errorf("epoch %d: resumed %+v, uninterrupted %+v", i+1, got.History[i], ref.History[i])
		}
	}
	sameVariables(t, filepath.Join(work, "a", "tiny"), filepath.Join(out, "tiny"), 2)
}

func TestTrainStopMidEpochResumesExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	work := t.TempDir()
	cfg := tinyConfig(t, work, "")
	a, b := filepath.Join(work, "a"), filepath.Join(work, "b")
	if out, err := run(t, "train", "--no-ln", "--config", cfg, "--data", data, "--out", a); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	// 512 windows / 32 = 16 steps per epoch: stop in the middle of epoch 2.
	out, err := run(t, "train", "--no-ln", "--stop-after-steps", "21", "--config", cfg, "--data", data, "--out", b)
	if err == nil || !strings.Contains(out, "interrupted") {
		t.Fatalf("stopped run: err %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(b, "tiny", "checkpoints", "epoch-0001-step-000005")); err != nil {
		t.Fatalf("no mid-epoch checkpoint: %v", err)
	}
	if out, err := run(t, "train", "--no-ln", "--config", cfg, "--data", data, "--out", b); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	ra, rb := readRun(t, filepath.Join(a, "tiny")), readRun(t, filepath.Join(b, "tiny"))
	if len(rb.History) != 2 || rb.History[1] != ra.History[1] {
		t.Fatalf("mid-epoch resume diverged:\n%+v\n%+v", ra.History, rb.History)
	}
	sameVariables(t, filepath.Join(a, "tiny"), filepath.Join(b, "tiny"), 2)
}

func TestCorruptLatestCheckpointFallsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	work := t.TempDir()
	cfg := tinyConfig(t, work, "")
	out := filepath.Join(work, "r")
	if text, err := run(t, "train", "--no-ln", "--config", cfg, "--data", data, "--out", out); err != nil {
		t.Fatalf("train: %v\n%s", err, text)
	}
	latest := filepath.Join(out, "tiny", "checkpoints", "epoch-0002")
	bins, _ := filepath.Glob(filepath.Join(latest, "*.bin"))
	if len(bins) != 1 {
		t.Fatalf("expected one variables file in %s, got %v", latest, bins)
	}
	if err := os.WriteFile(bins[0], []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Extending the run to 3 epochs must notice the damage and resume from epoch 1.
	tinyConfig(t, work, `, "n_epochs": 3`)
	text, err := run(t, "train", "--no-ln", "--config", cfg, "--data", data, "--out", out)
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, text)
	}
	if !strings.Contains(text, "is corrupt") || !strings.Contains(text, "from epoch-0001") {
		t.Fatalf("corruption not reported or wrong fallback:\n%s", text)
	}
	if r := readRun(t, filepath.Join(out, "tiny")); r.Epoch != 3 || len(r.History) != 3 {
		t.Fatalf("after recovery: epoch %d, %d history rows", r.Epoch, len(r.History))
	}
}

func TestPredictAndExportAgreeWithPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("needs /usr/bin/python3 with numpy and torch; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	work := t.TempDir()
	cfg := tinyConfig(t, work, `, "n_epochs": 1`)
	runs := filepath.Join(work, "runs")
	if out, err := run(t, "train", "--config", cfg, "--data", data, "--out", runs); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	runDir := filepath.Join(runs, "tiny")
	// The eval summary carries the documented keys, and the LN baseline was trained beside it.
	var ev map[string]any
	raw, err := os.ReadFile(filepath.Join(runDir, "eval.json"))
	if err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(raw, &ev)
	for _, k := range []string{"cells", "cnn_pearson", "ln_pearson", "ceiling", "fev", "cnn_pearson_mean", "ln_pearson_mean", "ceiling_mean"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("eval.json lacks %q", k)
		}
	}
	if out, err := run(t, "eval", "--run", runDir, "--json", filepath.Join(work, "e.json")); err != nil || !strings.Contains(out, "mean") {
		t.Fatalf("eval: %v\n%s", err, out)
	}

	// A raw stimulus of 60 frames → 40 rows of predictions.
	stim := filepath.Join(work, "stim.npy")
	script := `import numpy as np, sys; np.save(sys.argv[1], (np.random.default_rng(0).standard_normal((60, 20, 20)) * 0.3 + 0.1).astype(np.float32))`
	if out, err := exec.Command("/usr/bin/python3", "-c", script, stim).CombinedOutput(); err != nil {
		t.Fatalf("make stimulus: %v\n%s", err, out)
	}
	pred := filepath.Join(work, "pred.npy")
	if out, err := run(t, "predict", "--run", runDir, "--stimulus", stim, "--out", pred); err != nil || !strings.Contains(out, "[40, 8]") {
		t.Fatalf("predict: %v\n%s", err, out)
	}
	weights := filepath.Join(work, "w.npz")
	if out, err := run(t, "export", "--run", runDir, "--out", weights); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	check := exec.Command("/usr/bin/python3", "../../scripts/check_export.py", weights, stim, pred, "20", "4", "4", "9", "7")
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("PyTorch with the exported weights disagrees with predict: %v\n%s", err, out)
	}
	// Bad input names the file.
	bad := filepath.Join(work, "bad.npy")
	_ = os.WriteFile(bad, []byte("not numpy"), 0o644)
	if out, err := run(t, "predict", "--run", runDir, "--stimulus", bad, "--out", pred); err == nil || !strings.Contains(out, bad) {
		t.Fatalf("bad stimulus: err %v\n%s", err, out)
	}
}

func TestBadInputsGiveClearErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("needs /usr/bin/python3 with numpy and h5py; runs in the full tier, scripts/test.sh")
	}
	work := t.TempDir()
	notH5 := filepath.Join(work, "whitenoise.h5")
	_ = os.WriteFile(notH5, []byte("garbage"), 0o644)
	images := filepath.Join(work, "photos")
	_ = os.Mkdir(images, 0o755)
	badImage := filepath.Join(images, "broken.png")
	_ = os.WriteFile(badImage, []byte("\x89PNG but not really"), 0o644)
	badRanges := filepath.Join(work, "ranges.json")
	_ = os.WriteFile(badRanges, []byte(`{"lr": 0.1}`), 0o644)
	badCfg := filepath.Join(work, "hp.json")
	_ = os.WriteFile(badCfg, []byte(`{"learning_rate": 0.1}`), 0o644)
	file := func(name, body string) string {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	escape := file("escape.json", `{"exp_name": "../../escape", "n_epochs": 1}`)
	emptyName := file("empty-name.json", `{"exp_name": ""}`)
	batchOne := file("batch-one.json", `{"exp_name": "b", "batch_size": 1}`)
	typeErr := file("type.json", `{"batch_size": "big"}`)
	pathRanges := file("path-ranges.json", `{"datapath": ["/data/a", "/data/b"]}`)
	partial := file("partial.json", `{"exp_name": "p", "dataset": "sim-small", "stim_type": "whitenoise", "n_epochs": 1}`)
	runs := filepath.Join(work, "runs") // never created by a failing train
	aFile := file("not-a-run", "x")
	stim := filepath.Join(work, "stim.npy")
	if out, err := exec.Command("/usr/bin/python3", "-c", `import numpy as np, sys; np.save(sys.argv[1], np.zeros((30, 20, 20), np.float32))`, stim).CombinedOutput(); err != nil {
		t.Fatalf("make stimulus: %v\n%s", err, out)
	}
	stimLink := filepath.Join(work, "link.npy")
	_ = os.Symlink(stim, stimLink)
	stimHard := filepath.Join(work, "hard.npy")
	_ = os.Link(stim, stimHard)
	cwd, _ := os.Getwd()
	stimRel, _ := filepath.Rel(cwd, filepath.Join(work, "photos", "..", "stim.npy"))
	// Recordings with bad values, written with h5py as a user's own files would be.
	badH5 := func(name, dataset, index, value string) string {
		p := filepath.Join(work, "bad", name+".h5")
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		script := `import h5py, numpy as np, sys
with h5py.File(sys.argv[1], "w") as f:
    for split, T in (("train", 30), ("test", 20)):
        f[split + "/stimulus"] = np.random.default_rng(0).standard_normal((T, 4, 4)).astype(np.float32)
        f[split + "/response/firing_rate_10ms"] = np.ones((2, T))
    for c in (1, 2):
        f["test/repeats/cell%02d" % c] = np.ones((3, 20))
    d = f[sys.argv[2]][...]
    d[` + index + `] = ` + value + `
    del f[sys.argv[2]]
    f[sys.argv[2]] = d
`
		if out, err := exec.Command("/usr/bin/python3", "-c", script, p, dataset).CombinedOutput(); err != nil {
			t.Fatalf("h5py: %v\n%s", err, out)
		}
		return p
	}
	nanRate := badH5("nan", "train/response/firing_rate_10ms", "1, 4", "np.nan")
	nanRepeat := badH5("nan-repeat", "test/repeats/cell01", "2, 7", "np.nan")
	negRate := badH5("negative", "test/response/firing_rate_10ms", "0, 3", "-2.5")
	bigStim := filepath.Join(work, "bad", "big.h5")
	if out, err := exec.Command("/usr/bin/python3", "-c", `import h5py, numpy as np, sys
with h5py.File(sys.argv[1], "w") as f:
    for split, T in (("train", 30), ("test", 20)):
        s = np.random.default_rng(0).standard_normal((T, 4, 4))
        s[2, 1, 3] = -1e39
        f[split + "/stimulus"] = s
        f[split + "/response/firing_rate_10ms"] = np.ones((2, T))
`, bigStim).CombinedOutput(); err != nil {
		t.Fatalf("h5py: %v\n%s", err, out)
	}
	emptyPhotos := filepath.Join(work, "no-photos")
	_ = os.Mkdir(emptyPhotos, 0o755)
	cases := []struct {
		name   string
		args   []string
		want   []string
		absent []string // must not appear (Go names, misleading words)
	}{
		{"data info on a non-HDF5 file", []string{"data", "info", notH5}, []string{notH5}, nil},
		{"unknown config key", []string{"train", "--config", badCfg, "--out", work}, []string{badCfg, "learning_rate", "valid keys"}, nil},
		{"eval of a folder with no run", []string{"eval", "--run", work}, []string{"no usable checkpoint"}, nil},
		{"unknown preset", []string{"simulate", "--out", work, "--preset", "huge"}, []string{"huge"}, nil},
		{"undecodable photo", []string{"simulate", "--out", work, "--stim", "naturalscene", "--images", images}, []string{badImage}, nil},
		{"ranges value not a list", []string{"train", "--ranges", badRanges, "--out", work}, []string{badRanges, "lists of values"}, nil},
		{"missing stimulus file", []string{"predict", "--run", work, "--stimulus", filepath.Join(work, "none.npy"), "--out", filepath.Join(work, "o.npy")}, []string{"none.npy"}, nil},
		// Runs are written under --out and nowhere else.
		{"exp_name escaping --out", []string{"train", "--config", escape, "--out", runs}, []string{escape, `exp_name: "../../escape" is not a single folder name`}, nil},
		{"empty exp_name", []string{"train", "--config", emptyName, "--out", runs}, []string{`exp_name: "" is not a single folder name`}, nil},
		{"batch of one", []string{"train", "--config", batchOne, "--out", runs}, []string{"batch_size: expected at least 2", "batch norm"}, nil},
		{"config value of the wrong type", []string{"train", "--config", typeErr, "--out", runs}, []string{typeErr, "batch_size: expected an integer, got a string"}, []string{"Go struct", "Config."}},
		{"ranges value that is a path", []string{"train", "--ranges", pathRanges, "--out", runs}, []string{`key "datapath"`, `"/data/a"`, "not a single non-empty folder name"}, nil},
		{"partial config takes the published defaults", []string{"train", "--config", partial, "--data", simulated(t), "--out", runs},
			[]string{"img_shape: [40 50 50] expects frames of 50×50, the data's frames are 20×20", "img_shape is not set in " + partial, "runconfig.DefaultConfig"}, nil},
		// Paths in the user's terms: the flag, the file.
		{"eval of a file", []string{"eval", "--run", aFile}, []string{"--run " + aFile + ": is a file, not a run folder"}, []string{"<nil>"}},
		{"eval of nothing", []string{"eval", "--run", filepath.Join(work, "nothing")}, []string{"no such run folder"}, nil},
		{"eval JSON onto a folder", []string{"eval", "--run", work, "--json", images}, []string{"--json " + images + ": is a folder"}, []string{"rename", "file exists"}},
		{"prediction onto a folder", []string{"predict", "--run", work, "--stimulus", stim, "--out", images}, []string{"--out " + images + ": is a folder"}, []string{"rename"}},
		{"export onto a folder", []string{"export", "--run", work, "--out", images}, []string{"--out " + images + ": is a folder"}, []string{"rename"}},
		{"prediction onto the stimulus", []string{"predict", "--run", work, "--stimulus", stim, "--out", stim}, []string{"is the file given to --stimulus"}, nil},
		{"prediction onto a link to the stimulus", []string{"predict", "--run", work, "--stimulus", stim, "--out", stimLink}, []string{"is the file given to --stimulus"}, nil},
		{"prediction onto a hard link of the stimulus", []string{"predict", "--run", work, "--stimulus", stimHard, "--out", stim}, []string{"is the file given to --stimulus"}, nil},
		{"prediction onto the stimulus by a relative path", []string{"predict", "--run", work, "--stimulus", stim, "--out", stimRel}, []string{"is the file given to --stimulus"}, nil},
		// Bad values: the file's dataset and its own index.
		{"NaN in a rate", []string{"data", "info", nanRate}, []string{nanRate, `dataset "train/response/firing_rate_10ms": value at [1, 4] is NaN (cell 1, frame 4)`}, nil},
		{"NaN in a repeat", []string{"data", "info", nanRepeat}, []string{`dataset "test/repeats/cell01": value at [2, 7] is NaN (repeat 2, frame 7)`}, nil},
		{"negative rate", []string{"data", "info", negRate}, []string{`dataset "test/response/firing_rate_10ms": value at [0, 3] is -2.5`, "cannot be negative"}, nil},
		{"float64 beyond float32", []string{"data", "info", bigStim}, []string{`dataset "train/stimulus": value at [2, 1, 3] is -1e+39`, "overflows float32"}, []string{"-Inf"}},
		{"empty photo folder", []string{"simulate", "--out", work, "--stim", "naturalscene", "--images", emptyPhotos}, []string{"--images: images folder " + emptyPhotos}, []string{"ImagesDir"}},
	}
	for _, c := range cases {
		out, err := run(t, c.args...)
		if err == nil {
			t.Errorf("%s: succeeded", c.name)
			continue
		}
		if strings.Contains(out, "panic") {
			t.Errorf("%s: panicked:\n%s", c.name, out)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output does not mention %q:\n%s", c.name, w, out)
			}
		}
		for _, a := range c.absent {
			if strings.Contains(out, a) {
				t.Errorf("%s: output mentions %q:\n%s", c.name, a, out)
			}
		}
	}
	// Nothing was written outside the folders given, and failed trains created nothing.
	for _, p := range []string{runs, filepath.Join(filepath.Dir(work), "escape"), filepath.Join(work, "escape")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after failed commands (%v)", p, err)
		}
	}
	if data, _ := os.ReadFile(stim); len(data) == 0 {
		t.Error("the stimulus file was overwritten")
	}
}

// TestDiskFullKeepsEarlierCheckpoints fills a small private tmpfs (in a user+mount namespace,
// so it needs no privileges) after the first epoch: saving the next checkpoint must fail with
// a clear error, leave the earlier checkpoint intact, and the run must resume once space is back.
func TestDiskFullKeepsEarlierCheckpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("needs unshare (user and mount namespaces) to mount a full tmpfs; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	work := t.TempDir()
	one := tinyConfig(t, work, `, "n_epochs": 1`)
	two := filepath.Join(work, "two.json")
	body, _ := os.ReadFile(one)
	_ = os.WriteFile(two, []byte(strings.Replace(string(body), `"n_epochs": 1`, `"n_epochs": 2`, 1)), 0o644)
	mnt := filepath.Join(work, "disk")
	_ = os.Mkdir(mnt, 0o755)
	script := `set -u
mount -t tmpfs -o size=4m tmpfs "$MNT" || { echo "cannot mount tmpfs"; exit 2; }
"$BIN" train --no-ln --config "$ONE" --data "$DATA" --out "$MNT/runs" >/dev/null 2>&1 || { echo "first epoch failed"; exit 3; }
dd if=/dev/zero of="$MNT/filler" bs=4096 >/dev/null 2>&1
echo "== full disk"
"$BIN" train --no-ln --config "$TWO" --data "$DATA" --out "$MNT/runs" 2>&1 && { echo "training on a full disk succeeded"; exit 4; }
ls -a "$MNT/runs/tiny/checkpoints"
rm "$MNT/filler"
echo "== space back"
"$BIN" train --no-ln --config "$TWO" --data "$DATA" --out "$MNT/runs" 2>&1 || exit 5
`
	cmd := exec.Command("unshare", "-rm", "--propagation", "private", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "GOMLX_BACKEND=go", "MNT="+mnt, "BIN="+binary, "ONE="+one, "TWO="+two, "DATA="+data)
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil {
		t.Fatalf("disk-full scenario failed: %v\n%s", err, text)
	}
	full, after, _ := strings.Cut(text, "== space back")
	if !strings.Contains(full, "no space left on device") || !strings.Contains(full, "save checkpoint") {
		t.Errorf("full disk: no clear error:\n%s", full)
	}
	if strings.Contains(full, ".tmp-") || !strings.Contains(full, "epoch-0001") {
		t.Errorf("full disk: checkpoints folder not clean or lost epoch 1:\n%s", full)
	}
	if !strings.Contains(after, "from epoch-0001") || !strings.Contains(after, "epoch   2") {
		t.Errorf("after freeing space the run did not resume from epoch 1:\n%s", after)
	}
}

func TestSIGTERMSavesAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	work := t.TempDir()
	cfg := tinyConfig(t, work, `, "n_epochs": 3`)
	out := filepath.Join(work, "r")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := exec.Command(binary, "train", "--no-ln", "--config", cfg, "--data", data, "--out", out)
		cmd.Env = append(os.Environ(), "GOMLX_BACKEND=go")
		var buf syncBuffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until training is under way, then ask it to stop.
		deadline := time.Now().Add(5 * time.Minute)
		for !strings.Contains(buf.String(), "batch") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		_ = cmd.Process.Signal(sig)
		err := cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 130 || !strings.Contains(buf.String(), "interrupted") {
			t.Fatalf("%v: exit %v\n%s", sig, err, buf.String())
		}
	}
	text, err := run(t, "train", "--no-ln", "--config", cfg, "--data", data, "--out", out)
	if err != nil || !strings.Contains(text, "resuming") {
		t.Fatalf("resume after signals: %v\n%s", err, text)
	}
	if r := readRun(t, filepath.Join(out, "tiny")); r.Epoch != 3 || len(r.History) != 3 {
		t.Fatalf("after signals: epoch %d, %d history rows", r.Epoch, len(r.History))
	}
}

// syncBuffer is a bytes.Buffer safe to read while a subprocess writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSimulateWritesFilesH5pyReads(t *testing.T) {
	if testing.Short() {
		t.Skip("needs /usr/bin/python3 with h5py; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	check := `import h5py, sys
root = sys.argv[1] + "/sim-small/"
for stim in ("whitenoise", "naturalscene"):
    with h5py.File(root + stim + ".h5", "r") as f:
        for split, T in (("train", 24000), ("test", 1000)):
            g = f[split]
            assert g["stimulus"].shape == (T, 20, 20), g["stimulus"].shape
            assert g["time"].shape == (T,)
            assert g["response/firing_rate_10ms"].shape == (8, T)
            assert g["response/binned"].shape == (8, T)
        assert sorted(f["test/repeats"].keys())[:2] == ["cell01", "cell02"]
        assert f["test/repeats/cell01"].shape == (10, 1000)
for kind in ("bipolars", "amacrines"):
    with h5py.File(root + kind + "_sim.h5", "r") as f:
        for grp in ("whitenoise", "flashes"):
            s, v = f[grp]["stimuli"], f[grp]["detrended_membrane_potential"]
            assert s.shape[1:] == (20, 20) and v.shape[1] == s.shape[0], (s.shape, v.shape)
print("ok")`
	out, err := exec.Command("/usr/bin/python3", "-c", check, data).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("h5py check of simulated files: %v\n%s", err, out)
	}
	text, err := run(t, "data", "info", filepath.Join(data, "sim-small", "whitenoise.h5"))
	if err != nil {
		t.Fatalf("data info: %v\n%s", err, text)
	}
	for _, want := range []string{"[24000,20,20]", "10 repeats", "reliability", "100 Hz"} {
		if !strings.Contains(text, want) {
			t.Errorf("data info lacks %q:\n%s", want, text)
		}
	}
}

func TestRangesTrainEveryCombinationAndTabulate(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	work := t.TempDir()
	cfg := tinyConfig(t, work, `, "n_epochs": 1, "max_train_windows": 128`)
	ranges := filepath.Join(work, "ranges.json")
	_ = os.WriteFile(ranges, []byte(`{"seed": [1, 2], "chans": [[2, 2]]}`), 0o644)
	runs := filepath.Join(work, "runs")
	if out, err := run(t, "train", "--no-ln", "--config", cfg, "--ranges", ranges, "--data", data, "--out", runs); err != nil {
		t.Fatalf("train --ranges: %v\n%s", err, out)
	}
	for _, name := range []string{"tiny_chans=2x2_seed=1", "tiny_chans=2x2_seed=2"} {
		if _, err := os.Stat(filepath.Join(runs, name, "eval.json")); err != nil {
			t.Errorf("run %s: %v", name, err)
		}
	}
	csvData, err := os.ReadFile(filepath.Join(runs, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(csvData)), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "exp_name,") {
		t.Fatalf("results.csv:\n%s", csvData)
	}
	var rows []map[string]any
	raw, _ := os.ReadFile(filepath.Join(runs, "results.json"))
	if err := json.Unmarshal(raw, &rows); err != nil || len(rows) != 2 {
		t.Fatalf("results.json: %v, %d rows", err, len(rows))
	}
}

// TestImportTorchCheckpointThenEvalPredictExport imports a checkpoint written by PyTorch in the
// reference's format, evaluates it on the simulated data, predicts a raw movie as PyTorch did,
// and exports it back into the reference's newest class (load_state_dict strict) unchanged.
func TestImportTorchCheckpointThenEvalPredictExport(t *testing.T) {
	if testing.Short() {
		t.Skip("needs /usr/bin/python3 with numpy and torch; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	work := t.TempDir()
	pt, err := filepath.Abs("../../torchio/testdata/torch/bncnn_newest_zip.pt")
	if err != nil {
		t.Fatal(err)
	}
	golden := "../../torchio/testdata/torch/golden.npz"
	runDir := filepath.Join(work, "ref")
	out, err := run(t, "import", "--pt", pt, "--out", runDir, "--data", data, "--dataset", "sim-small", "--stim", "whitenoise")
	if err != nil || !strings.Contains(out, "BNCNN (zip format, newest module order), 8 cells") || !strings.Contains(out, "wrote run") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(runDir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Imported struct {
			From   string `json:"from"`
			SHA256 string `json:"sha256"`
		} `json:"imported"`
		Stopped string `json:"stopped"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil || meta.Imported.From != pt || len(meta.Imported.SHA256) != 64 || meta.Stopped != "imported" {
		t.Fatalf("run.json does not record the import: %v %+v", err, meta)
	}

	if out, err := run(t, "eval", "--run", runDir, "--json", filepath.Join(work, "e.json")); err != nil || !strings.Contains(out, "mean") {
		t.Fatalf("eval of the imported run: %v\n%s", err, out)
	}

	// predict on PyTorch's raw movie gives PyTorch's predictions.
	movie, want := filepath.Join(work, "movie.npy"), filepath.Join(work, "want.npy")
	script := `import numpy as np, sys; g = np.load(sys.argv[1]); np.save(sys.argv[2], g["cli.movie"]); np.save(sys.argv[3], g["cli.pred"])`
	if out, err := exec.Command("/usr/bin/python3", "-c", script, golden, movie, want).CombinedOutput(); err != nil {
		t.Fatalf("golden movie: %v\n%s", err, out)
	}
	pred := filepath.Join(work, "pred.npy")
	if out, err := run(t, "predict", "--run", runDir, "--stimulus", movie, "--out", pred); err != nil || !strings.Contains(out, "[20, 8]") {
		t.Fatalf("predict: %v\n%s", err, out)
	}
	compare := `import numpy as np, sys
got, want = np.load(sys.argv[1]), np.load(sys.argv[2])
err = np.max(np.abs(got - want)) / np.max(np.abs(want))
print("relative error", err)
sys.exit(0 if got.shape == want.shape and err < 1e-4 else 1)`
	if out, err := exec.Command("/usr/bin/python3", "-c", compare, pred, want).CombinedOutput(); err != nil {
		t.Fatalf("predictions of the imported run differ from PyTorch's: %v\n%s", err, out)
	}

	// export → the reference's newest class accepts it strictly and predicts the same; the
	// weights are the checkpoint's, under the same names.
	weights := filepath.Join(work, "w.npz")
	if out, err := run(t, "export", "--run", runDir, "--out", weights); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	check := exec.Command("/usr/bin/python3", "../../scripts/check_export.py", weights, movie, pred, "10", "4", "4", "9", "7")
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("PyTorch with the exported weights disagrees with predict: %v\n%s", err, out)
	}
	same := `import numpy as np, sys, torch
sd = torch.load(sys.argv[1])["model_state_dict"]
w = dict(np.load(sys.argv[2]))
w.pop("norm_stats.mean"), w.pop("norm_stats.std")
assert set(sd) == set(w), sorted(set(sd) ^ set(w))
for k, v in sd.items():
    assert np.array_equal(v.numpy(), w[k]), k
print("ok")`
	if out, err := exec.Command("/usr/bin/python3", "-c", same, pt, weights).CombinedOutput(); err != nil {
		t.Fatalf("export of an imported checkpoint differs from it: %v\n%s", err, out)
	}

	// The imported run goes through the phenomena battery like a trained one (it came from no
	// simulated retina, so the truth is named explicitly).
	phen := filepath.Join(work, "phenomena")
	if out, err := run(t, "phenomena", "--run", runDir, "--out", phen, "--truth", "small", "--only", "step_response,omitted_stimulus"); err != nil {
		t.Fatalf("phenomena on the imported run: %v\n%s", err, out)
	}
	var res map[string]json.RawMessage // experiments beside "kind", "run" and "checkpoint"
	if raw, err := os.ReadFile(filepath.Join(phen, "results.json")); err != nil || json.Unmarshal(raw, &res) != nil {
		t.Fatalf("phenomena results.json: %v", err)
	}
	for _, name := range []string{"step_response", "omitted_stimulus"} {
		var r struct {
			Model map[string]any `json:"model"`
			Truth map[string]any `json:"truth"`
		}
		if err := json.Unmarshal(res[name], &r); err != nil || len(r.Model) == 0 || len(r.Truth) == 0 {
			t.Errorf("phenomena on the imported run: %s has no model or truth metrics: %v %+v", name, err, r)
		}
	}

	// … and through the interneuron probe, against the simulated retina's interneuron files.
	probeOut := filepath.Join(work, "probe")
	bipolars := filepath.Join(data, "sim-small", "bipolars_sim.h5")
	if out, err := run(t, "probe", "--run", runDir, "--out", probeOut, "--interneurons", bipolars, "--groups", "flashes",
		"--rf-samples", "64", "--ig-steps", "2"); err != nil || !strings.Contains(out, "bipolar") {
		t.Fatalf("probe on the imported run: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(probeOut, "probe.json")); err != nil {
		t.Fatalf("probe on the imported run wrote no probe.json: %v", err)
	}

	// Bad input names the file; an existing run is not overwritten.
	bad := filepath.Join(work, "bad.pt")
	_ = os.WriteFile(bad, []byte("not a checkpoint"), 0o644)
	if out, err := run(t, "import", "--pt", bad, "--out", filepath.Join(work, "x")); err == nil || !strings.Contains(out, bad) || !strings.Contains(out, "not a PyTorch file") {
		t.Fatalf("bad checkpoint: %v\n%s", err, out)
	}
	badType, _ := filepath.Abs("../../torchio/testdata/torch/bad_unknown_model_type.pt")
	if out, err := run(t, "import", "--pt", badType, "--out", filepath.Join(work, "y")); err == nil || !strings.Contains(out, "RetinotopicModel") || !strings.Contains(out, "supported") {
		t.Fatalf("unsupported model type: %v\n%s", err, out)
	}
	if out, err := run(t, "import", "--pt", pt, "--out", runDir, "--dataset", "sim-small"); err == nil || !strings.Contains(out, "already holds a run") {
		t.Fatalf("import over a run: %v\n%s", err, out)
	}
}
