package bench

import (
	"strings"
	"testing"
)

func TestScrubPaths(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"xla (xla:/work/main/deps/pjrt/pjrt_c_api_cpu_plugin.so)", "xla (xla:pjrt_c_api_cpu_plugin.so)"},
		{"deepretina bench --python /work/wt/perf/.venv-torch/bin/python --out docs/benchmarks.md", "deepretina bench --python python --out docs/benchmarks.md"},
		{"deepretina bench --python=/opt/venv/bin/python3", "deepretina bench --python=python3"},
		{"deepretina bench --out docs/benchmarks.md --json bench.json", "deepretina bench --out docs/benchmarks.md --json bench.json"},
		{"gpu (/opt/a/b.so, /opt/c/d.so)", "gpu (b.so, d.so)"},
	} {
		if got := ScrubPaths(tc.in); got != tc.want {
			t.Errorf("ScrubPaths(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestMarkdownNamesVersionsNotPaths checks that a report's Markdown carries the PyTorch version
// in the table's header, the load average, and none of the machine's folders.
func TestMarkdownNamesVersionsNotPaths(t *testing.T) {
	r := Report{Command: "deepretina bench --python /home/lab/.venv-torch/bin/python --out docs/benchmarks.md",
		Machine: "AMD EPYC, 2 cores", Engine: "xla (xla:/home/lab/deps/pjrt/pjrt_c_api_cpu_plugin.so)",
		Versions: "Go 1.26.8", Load: "1.00, 2.00, 3.00",
		Compute: []ComputeRow{{Model: "bncnn", Batch: 64, Go: Rate{SamplesPerSec: 300},
			Torch: &TorchResult{SamplesPerSec: 100, Version: "2.15.0+cu130", Device: "CPU, 2 threads"}}}}
	md := r.Markdown()
	for _, want := range []string{"| PyTorch 2.15.0+cu130 samples/s |", "Load average (1, 5, 15 min) at the end: 1.00, 2.00, 3.00", "3.00×", "pjrt_c_api_cpu_plugin.so"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "/home/lab") {
		t.Errorf("Markdown names the machine's folder /home/lab:\n%s", md)
	}
}
