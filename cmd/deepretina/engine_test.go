package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainOnTheDefaultEngine runs `train` as a user would, with no GOMLX_BACKEND: the set-up's
// XLA CPU plugin is chosen and announced in one line, the data stays on the device (only window
// starts are sent per step), and the run records its engine.
func TestTrainOnTheDefaultEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	dir := t.TempDir()
	cmd := exec.Command(binary, "train", "--config", tinyConfig(t, dir, ""), "--data", data,
		"--out", filepath.Join(dir, "runs"), "--no-ln")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMLX_BACKEND=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	log := string(out)
	var announce []string
	for _, line := range strings.Split(log, "\n") {
		if strings.HasPrefix(line, "deepretina: engine ") {
			announce = append(announce, line)
		}
	}
	if len(announce) != 1 || !strings.Contains(announce[0], "engine XLA CPU, the project's plugin") {
		t.Fatalf("want one line announcing the project's XLA CPU plugin, got %q\n%s", announce, log)
	}
	if !strings.Contains(log, "resident on the device") || !strings.Contains(log, "host→device") {
		t.Errorf("the log does not report the resident data and the bytes sent:\n%s", log)
	}
	meta := readRun(t, filepath.Join(dir, "runs", "tiny"))
	if meta.Backend != "xla" {
		t.Errorf("run.json backend %q, want xla", meta.Backend)
	}
}
