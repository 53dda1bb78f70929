package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// TorchResult is one measurement of scripts/bench_torch.py.
type TorchResult struct {
	SamplesPerSec float64 `json:"samples_per_s"`
	Steps         int     `json:"steps"`
	Windows       int     `json:"windows"`
	Seconds       float64 `json:"seconds"`
	LoadSeconds   float64 `json:"load_seconds"`
	Version       string  `json:"torch_version"`
	Device        string  `json:"device"`
	CUDA          string  `json:"cuda"`
}

// RunTorch runs the committed PyTorch benchmark script with args and parses its JSON line. The
// error carries the script's own stderr, so a missing torch or CUDA problem reads as such.
func RunTorch(ctx context.Context, python, script string, args ...string) (TorchResult, error) {
	cmd := exec.CommandContext(ctx, python, append([]string{script}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		return TorchResult{}, fmt.Errorf("%s %s %s: %v: %s", python, script, strings.Join(args, " "), err, msg)
	}
	var r TorchResult
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		return TorchResult{}, fmt.Errorf("%s: unreadable output %q: %w", script, out, err)
	}
	if !(r.SamplesPerSec > 0) {
		return TorchResult{}, fmt.Errorf("%s: no rate in %q", script, out)
	}
	return r, nil
}
