package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Two train commands on the same run: the second stops at once, naming the process that holds
// the run, and the first trains on undisturbed to one results row.
func TestSecondTrainOnARunStopsNamingTheHolder(t *testing.T) {
	data := simulated(t)
	work := t.TempDir()
	cfg := tinyConfig(t, work, `, "n_epochs": 3`)
	out := filepath.Join(work, "runs")
	args := []string{"train", "--no-ln", "--config", cfg, "--data", data, "--out", out}
	first := exec.Command(binary, args...)
	first.Env = append(os.Environ(), "GOMLX_BACKEND=go")
	var buf syncBuffer
	first.Stdout, first.Stderr = &buf, &buf
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill()
	deadline := time.Now().Add(5 * time.Minute)
	for !strings.Contains(buf.String(), "epoch 1/3") {
		if time.Now().After(deadline) {
			t.Fatalf("first run did not start training:\n%s", buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	text, err := run(t, args...)
	host, _ := os.Hostname()
	if err == nil {
		t.Fatalf("second train on the same run succeeded:\n%s", text)
	}
	for _, want := range []string{filepath.Join(out, "tiny"), fmt.Sprintf("pid %d", first.Process.Pid), host, "since"} {
		if !strings.Contains(text, want) {
			t.Errorf("second train's message lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "training tiny") {
		t.Errorf("second train started training:\n%s", text)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first run: %v\n%s", err, buf.String())
	}
	if r := readRun(t, filepath.Join(out, "tiny")); r.Epoch != 3 || len(r.History) != 3 {
		t.Fatalf("first run: epoch %d, %d history rows", r.Epoch, len(r.History))
	}
	csvData, err := os.ReadFile(filepath.Join(out, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(csvData)), "\n"); len(lines) != 2 {
		t.Fatalf("results.csv should hold one row:\n%s", csvData)
	}
	// Once the first is done, the run folder is free again.
	if text, err := run(t, args...); err != nil {
		t.Fatalf("train after the holder exited: %v\n%s", err, text)
	}
}
