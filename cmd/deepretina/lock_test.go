package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Two train commands on the same run: the second stops at once, naming the process that holds
// the run. Once the holder is killed (no chance to release), the next one takes the run over,
// resumes it, and the run has one results row, also after one more (finished) run.
func TestSecondTrainOnARunStopsNamingTheHolder(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
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
	pid := fmt.Sprintf("pid %d", first.Process.Pid)
	if err == nil {
		t.Fatalf("second train on the same run succeeded:\n%s", text)
	}
	for _, want := range []string{filepath.Join(out, "tiny") + " is in use by " + pid, "on host " + host, "since"} {
		if !strings.Contains(text, want) {
			t.Errorf("second train's message lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "training tiny") {
		t.Errorf("second train started training:\n%s", text)
	}

	// Killed after its first checkpoint, the holder leaves its lock file behind.
	for {
		if _, err := os.Stat(filepath.Join(out, "tiny", "checkpoints", "epoch-0001")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint:\n%s", buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = first.Process.Signal(syscall.SIGKILL)
	_ = first.Wait()
	text, err = run(t, args...)
	if err != nil {
		t.Fatalf("train after the holder was killed: %v\n%s", err, text)
	}
	for _, want := range []string{"taking over from " + pid + " on host " + host, "which stopped without releasing", "resuming"} {
		if !strings.Contains(text, want) {
			t.Errorf("the run after the kill lacks %q:\n%s", want, text)
		}
	}
	if r := readRun(t, filepath.Join(out, "tiny")); r.Epoch != 3 || len(r.History) != 3 {
		t.Fatalf("after takeover: epoch %d, %d history rows", r.Epoch, len(r.History))
	}
	// Running the finished run again records it again: still one row.
	text, err = run(t, args...)
	if err != nil || !strings.Contains(text, "already trained and evaluated") {
		t.Fatalf("re-running a finished run: %v\n%s", err, text)
	}
	csvData, err := os.ReadFile(filepath.Join(out, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(csvData)), "\n"); len(lines) != 2 {
		t.Fatalf("results.csv should hold one row:\n%s", csvData)
	}
	if _, err := os.Stat(filepath.Join(out, "tiny", ".lock")); !os.IsNotExist(err) {
		t.Errorf("lock file left after a clean exit: %v", err)
	}
}
