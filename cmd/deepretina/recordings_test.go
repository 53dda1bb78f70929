package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMultiRecordingCommandLine drives the multi-recording workflow as a user would: simulate
// retinas of three seeds side by side (simulate --seed --name), train one core on two of them
// from one config, score each, then fit the third's readout on the frozen core (train --from
// --readout-only) and use it without naming it.
func TestMultiRecordingCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: simulates three retinas and trains two runs; runs in the full tier, scripts/test.sh")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	for _, s := range []string{"1", "2", "3"} {
		if out, err := run(t, "simulate", "--out", data, "--seed", s, "--name", "ret"+s, "--stim", "whitenoise"); err != nil {
			t.Fatalf("simulate seed %s: %v\n%s", s, err, out)
		}
	}
	cfg := filepath.Join(dir, "multi.json")
	body := `{"exp_name": "core", "dataset": "ret1", "stim_type": "whitenoise", "datapath": "` + data + `",
	  "img_shape": [20, 20, 20], "ksizes": [9, 7], "chans": [4, 4], "batch_size": 32, "n_epochs": 1,
	  "max_train_windows": 256, "readout": "factorised", "recordings": ["ret1", {"name": "second", "dataset": "ret2"}]}`
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(dir, "runs")
	out, err := run(t, "train", "--config", cfg, "--out", runs)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	core := filepath.Join(runs, "core")
	for _, name := range []string{"ret1", "second"} {
		if !strings.Contains(out, "recording "+name) {
			t.Errorf("train's output has no table for recording %s:\n%s", name, out)
		}
		if _, err := os.Stat(filepath.Join(core, "eval-"+name+".json")); err != nil {
			t.Errorf("no scores of recording %s: %v", name, err)
		}
	}
	var summary struct {
		CNN        *float64 `json:"cnn_pearson_mean"`
		Recordings []struct {
			Name string  `json:"name"`
			CNN  float64 `json:"cnn_pearson_mean"`
		} `json:"recordings"`
	}
	readJSON(t, filepath.Join(core, "eval.json"), &summary)
	if summary.CNN == nil || len(summary.Recordings) != 2 || summary.Recordings[1].Name != "second" ||
		*summary.CNN != (summary.Recordings[0].CNN+summary.Recordings[1].CNN)/2 {
		t.Errorf("eval.json of the run: %+v", summary)
	}
	// Commands that use a run ask which recording of several, listing them.
	if out, err := run(t, "eval", "--run", core); err == nil || !strings.Contains(out, "--recording") || !strings.Contains(out, "ret1, second") {
		t.Errorf("eval of a run of two recordings without --recording: %v\n%s", err, out)
	}
	if out, err := run(t, "eval", "--run", core, "--recording", "second"); err != nil || !strings.Contains(out, "eval-second.json") {
		t.Errorf("eval --recording second: %v\n%s", err, out)
	}
	if out, err := run(t, "export", "--run", core, "--recording", "ret1", "--out", filepath.Join(dir, "x.npz")); err == nil ||
		!strings.Contains(out, "factorised readout has no PyTorch state dict") {
		t.Errorf("export of a factorised readout: %v\n%s", err, out)
	}

	// The third retina's readout on the frozen core.
	fine := filepath.Join(dir, "fine.json")
	body = strings.Replace(strings.Replace(body, `"exp_name": "core"`, `"exp_name": "fine"`, 1),
		`"recordings": ["ret1", {"name": "second", "dataset": "ret2"}]`, `"recordings": ["ret3"]`, 1)
	if err := os.WriteFile(fine, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "train", "--config", fine, "--out", runs, "--readout-only"); err == nil || !strings.Contains(out, "--readout-only: readout_only: needs from_run") {
		t.Errorf("--readout-only without --from: %v\n%s", err, out)
	}
	if out, err := run(t, "train", "--config", fine, "--out", runs, "--from", core, "--readout-only"); err != nil {
		t.Fatalf("train --from --readout-only: %v\n%s", err, out)
	}
	var meta struct {
		Config struct {
			FromRun     string `json:"from_run"`
			ReadoutOnly bool   `json:"readout_only"`
		} `json:"config"`
		CoreRecordings []struct {
			Run, Name string
		} `json:"core_recordings"`
	}
	readJSON(t, filepath.Join(runs, "fine", "run.json"), &meta)
	if meta.Config.FromRun != core || !meta.Config.ReadoutOnly || len(meta.CoreRecordings) != 2 ||
		meta.CoreRecordings[1].Name != "second" || meta.CoreRecordings[1].Run != core {
		t.Errorf("fine-tuned run description: %+v", meta)
	}
	if out, err := run(t, "eval", "--run", filepath.Join(runs, "fine")); err != nil || !strings.Contains(out, "eval-ret3.json") {
		t.Errorf("eval of a run of one recording: %v\n%s", err, out)
	}
}
