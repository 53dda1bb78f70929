package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Scenarios of issue 14 that need a trained run: scoring against data that changed, runs that
// fail before their first checkpoint, a changed hyper-parameter on an existing run, the LN
// checks of eval, test sets without enough repeats, predict's blame and result file modes.

// A run trained on a folder whose recording is then re-simulated with another seed: eval
// refuses it, saying what changed, unless --allow-changed-data; train refuses to resume on it.
func TestChangedDataIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	work := t.TempDir()
	data := filepath.Join(work, "data")
	if out, err := run(t, "simulate", "--out", data, "--stim", "whitenoise"); err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	cfg := tinyConfig(t, work, `, "n_epochs": 1, "max_train_windows": 128`)
	runs := filepath.Join(work, "runs")
	if out, err := run(t, "train", "--no-ln", "--config", cfg, "--data", data, "--out", runs); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	runDir := filepath.Join(runs, "tiny")
	if out, err := run(t, "eval", "--run", runDir); err != nil {
		t.Fatalf("eval on the same data: %v\n%s", err, out)
	}
	if out, err := run(t, "simulate", "--out", data, "--stim", "whitenoise", "--seed", "2"); err != nil {
		t.Fatalf("re-simulate: %v\n%s", err, out)
	}
	out, err := run(t, "eval", "--run", runDir)
	for _, want := range []string{"the recording differs from the one the run was trained on", "simulator seed 1 → 2", "content hash", "--allow-changed-data"} {
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("eval on changed data: err %v, output lacks %q:\n%s", err, want, out)
		}
	}
	out, err = run(t, "eval", "--run", runDir, "--allow-changed-data")
	if err != nil || !strings.Contains(out, "warning") || !strings.Contains(out, "mean") {
		t.Errorf("eval --allow-changed-data: %v\n%s", err, out)
	}
	tinyConfig(t, work, `, "n_epochs": 2, "max_train_windows": 128`)
	out, err = run(t, "train", "--no-ln", "--config", cfg, "--data", data, "--out", runs)
	if err == nil || !strings.Contains(out, "simulator seed 1 → 2") || !strings.Contains(out, "another --out") {
		t.Errorf("resuming on changed data: %v\n%s", err, out)
	}
}

// A run that fails before its first checkpoint leaves no folder behind and does not claim that
// a checkpoint was kept; a changed hyper-parameter names only the keys that differ.
func TestFailedStartsAndChangedKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	work := t.TempDir()
	runs := filepath.Join(work, "runs")
	cfg := tinyConfig(t, work, `, "lr": 1e30, "n_epochs": 1`)
	out, err := run(t, "train", "--no-ln", "--config", cfg, "--data", data, "--out", runs)
	if err == nil || !strings.Contains(out, "loss is") || !strings.Contains(out, "no checkpoint exists yet") || strings.Contains(out, "last good checkpoint is kept") {
		t.Fatalf("NaN before the first checkpoint: %v\n%s", err, out)
	}
	if _, err := os.Stat(runs); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(filepath.Join(runs, "tiny"))
		t.Errorf("a failed start left %s behind: %v", runs, entries)
	}

	cfg = tinyConfig(t, work, `, "n_epochs": 1, "max_train_windows": 128`)
	if out, err := run(t, "train", "--no-ln", "--config", cfg, "--data", data, "--out", runs); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	tinyConfig(t, work, `, "n_epochs": 1, "max_train_windows": 128, "lr": 0.01`)
	out, err = run(t, "train", "--no-ln", "--config", cfg, "--data", data, "--out", runs)
	if err == nil || !strings.Contains(out, "holds another run: lr: 0.001 there, 0.01 here") {
		t.Fatalf("changed lr: %v\n%s", err, out)
	}
	if strings.Contains(out, `"batch_size"`) || strings.Contains(out, `"exp_name":`) {
		t.Errorf("the error dumps whole configs:\n%s", out)
	}
}

// eval --ln takes LN runs only; an LN run's table has no "CNN" column; predict blames the
// stimulus for a wrong shape and the checkpoint for a broken model; result files are 0644.
func TestEvalLNAndPredictMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("needs /usr/bin/python3 with numpy; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	work := t.TempDir()
	cfg := tinyConfig(t, work, `, "n_epochs": 1, "max_train_windows": 128`)
	runs := filepath.Join(work, "runs")
	if out, err := run(t, "train", "--config", cfg, "--data", data, "--out", runs); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	runDir := filepath.Join(runs, "tiny")
	out, err := run(t, "eval", "--run", runDir, "--ln", runDir, "--json", filepath.Join(work, "e.json"))
	if err == nil || !strings.Contains(out, "is a BNCNN run, not an LN run") {
		t.Errorf("eval --ln with a CNN run: %v\n%s", err, out)
	}
	out, err = run(t, "eval", "--run", filepath.Join(runDir, "ln"), "--json", filepath.Join(work, "ln.json"))
	if err != nil || strings.Contains(out, "CNN") || !strings.Contains(out, "LN r") {
		t.Errorf("eval of an LN run: %v\n%s", err, out)
	}
	for _, f := range []string{filepath.Join(runDir, "eval.json"), filepath.Join(work, "ln.json")} {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v (%v), want 0644", f, st.Mode().Perm(), err)
		}
	}

	stim := filepath.Join(work, "big.npy")
	if out, err := exec.Command("/usr/bin/python3", "-c", `import numpy as np, sys; np.save(sys.argv[1], np.ones((50, 30, 30), np.float32))`, stim).CombinedOutput(); err != nil {
		t.Fatalf("make stimulus: %v\n%s", err, out)
	}
	pred := filepath.Join(work, "pred.npy")
	out, err = run(t, "predict", "--run", runDir, "--stimulus", stim, "--out", pred)
	if err == nil || !strings.Contains(out, "stimulus "+stim+": frames are 30×30; the run "+runDir+" expects 20×20") {
		t.Errorf("predict with 30×30 frames: %v\n%s", err, out)
	}
	// A checkpoint whose description no longer matches its weights: the checkpoint is at fault.
	broken := filepath.Join(work, "broken")
	if out, err := exec.Command("cp", "-r", runDir, broken).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	metas, _ := filepath.Glob(filepath.Join(broken, "checkpoints", "epoch-*", "meta.json"))
	for _, m := range metas {
		raw, _ := os.ReadFile(m)
		var meta map[string]any
		_ = json.Unmarshal(raw, &meta)
		meta["model"].(map[string]any)["Chans"] = []int{3, 4}
		raw, _ = json.Marshal(meta)
		_ = os.WriteFile(m, raw, 0o644)
	}
	good := filepath.Join(work, "small.npy")
	if out, err := exec.Command("/usr/bin/python3", "-c", `import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(1).standard_normal((50, 20, 20)).astype(np.float32))`, good).CombinedOutput(); err != nil {
		t.Fatalf("make stimulus: %v\n%s", err, out)
	}
	out, err = run(t, "predict", "--run", broken, "--stimulus", good, "--out", pred)
	if err == nil || !strings.Contains(out, "checkpoint "+filepath.Join(broken, "checkpoints")) || strings.Contains(out, "predict "+good) || strings.Contains(out, "panic") {
		t.Errorf("predict with a broken checkpoint: %v\n%s", err, out)
	}
	if out, err := run(t, "predict", "--run", runDir, "--stimulus", good, "--out", pred); err != nil {
		t.Fatalf("predict: %v\n%s", err, out)
	}
	if st, err := os.Stat(pred); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("%s: mode %v (%v), want 0644", pred, st.Mode().Perm(), err)
	}
}

// A recording whose test set has a single repeat trains and evaluates; the ceiling and the
// FEV are reported as unavailable (n/a, null), never as 0, and the load says so up front.
func TestOneRepeatReportsUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("needs /usr/bin/python3 with numpy and h5py; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	work := t.TempDir()
	root := filepath.Join(work, "data")
	one := filepath.Join(root, "one-repeat", "whitenoise.h5")
	_ = os.MkdirAll(filepath.Dir(one), 0o755)
	script := `import h5py, sys
with h5py.File(sys.argv[1], "r") as src, h5py.File(sys.argv[2], "w") as dst:
    for k, v in src.attrs.items():
        if k != "test_count_trials":
            dst.attrs[k] = v
    def copy(name, obj):
        if isinstance(obj, h5py.Dataset):
            dst[name] = obj[:1] if name.startswith("test/repeats/") else obj[...]
    src.visititems(copy)
`
	if out, err := exec.Command("/usr/bin/python3", "-c", script, filepath.Join(data, "sim-small", "whitenoise.h5"), one).CombinedOutput(); err != nil {
		t.Fatalf("h5py: %v\n%s", err, out)
	}
	cfg := tinyConfig(t, work, `, "dataset": "one-repeat", "n_epochs": 1, "max_train_windows": 128`)
	runs := filepath.Join(work, "runs")
	out, err := run(t, "train", "--no-ln", "--config", cfg, "--data", root, "--out", runs)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	if !strings.Contains(out, "has 1 repeats") {
		t.Errorf("the load did not announce the missing repeats:\n%s", out)
	}
	out, err = run(t, "eval", "--run", filepath.Join(runs, "tiny"))
	if err != nil || !strings.Contains(out, "n/a") || strings.Contains(out, "NaN") {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	raw, _ := os.ReadFile(filepath.Join(runs, "tiny", "eval.json"))
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if ev["ceiling_mean"] != nil || ev["fev_mean"] != nil || ev["cnn_pearson_mean"] == nil {
		t.Errorf("eval.json: ceiling_mean %v, fev_mean %v, cnn_pearson_mean %v", ev["ceiling_mean"], ev["fev_mean"], ev["cnn_pearson_mean"])
	}
	info, err := run(t, "data", "info", one)
	if err != nil || !strings.Contains(info, "n/a") {
		t.Errorf("data info: %v\n%s", err, info)
	}
}

// data info on an interneuron file says what the file is.
func TestDataInfoOnAnInterneuronFile(t *testing.T) {
	data := simulated(t)
	out, err := run(t, "data", "info", filepath.Join(data, "sim-small", "bipolars_sim.h5"))
	if err != nil || !strings.Contains(out, "interneuron") || !strings.Contains(out, "bipolars") || !strings.Contains(out, "flashes") {
		t.Fatalf("data info on an interneuron file: %v\n%s", err, out)
	}
}
