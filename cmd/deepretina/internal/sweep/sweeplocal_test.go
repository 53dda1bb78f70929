package sweep

import (
	stdcontext "context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
)

func TestWorkersGetTheirOwnGPU(t *testing.T) {
	fake := t.TempDir()
	smi := "#!/bin/sh\nprintf '0\\n1\\n'\n"
	if err := os.WriteFile(filepath.Join(fake, "nvidia-smi"), []byte(smi), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, visible string
		set           bool
		path          string
		want          []string
	}{
		{"CUDA_VISIBLE_DEVICES decides", "2,3", true, fake, []string{"2", "3"}},
		{"none visible", "", true, fake, nil},
		{"nvidia-smi lists them", "", false, fake, []string{"0", "1"}},
		{"no GPU machine", "", false, t.TempDir(), nil},
	}
	for _, c := range cases {
		t.Setenv("PATH", c.path)
		t.Setenv("CUDA_VISIBLE_DEVICES", c.visible)
		if !c.set {
			os.Unsetenv("CUDA_VISIBLE_DEVICES")
		}
		if got := visibleGPUs(); !slices.Equal(got, c.want) {
			t.Errorf("%s: GPUs %v, want %v", c.name, got, c.want)
		}
	}
	gpus := []string{"2", "3"}
	for slot, want := range []string{"2", "3", "2"} {
		if got := gpuFor(slot, gpus); got != want {
			t.Errorf("worker %d gets GPU %q, want %q", slot+1, got, want)
		}
	}
	if got := gpuFor(0, nil); got != "" {
		t.Errorf("without GPUs a worker gets %q", got)
	}

	// The worker process itself sees its device: a stand-in for deepretina prints its
	// environment and arguments into the combination's log.
	out := t.TempDir()
	_ = os.Mkdir(filepath.Join(out, outputs.LogsDir), 0o755)
	worker := filepath.Join(fake, "worker")
	_ = os.WriteFile(worker, []byte("#!/bin/sh\necho \"device=$CUDA_VISIBLE_DEVICES args=$*\"\n"), 0o755)
	sw := &Sweep{Out: out, Train: []string{"train", "--no-ln"}, Plan: &SweepPlan{Runs: []plannedRun{{Index: 0, ExpName: "a"}, {Index: 1, ExpName: "b"}}}}
	for slot, name := range []string{"a", "b"} {
		if err := sw.runWorker(stdcontext.Background(), worker, slot, slot, gpus); err != nil {
			t.Fatal(err)
		}
		log, _ := os.ReadFile(sw.logPath(name))
		want := fmt.Sprintf("device=%s args=train --no-ln --index %d --out %s", gpus[slot], slot, out)
		if !strings.Contains(string(log), want) || !strings.Contains(string(log), "CUDA_VISIBLE_DEVICES="+gpus[slot]) {
			t.Errorf("worker %d's log lacks %q:\n%s", slot+1, want, log)
		}
	}
}
