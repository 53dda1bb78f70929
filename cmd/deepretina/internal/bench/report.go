package bench

import (
	"bytes"

	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/deepretina/deepretina/internal/fsutil"
	"github.com/deepretina/deepretina/internal/progress"
)

// ComputeRow is one model × batch measurement on both sides.
type ComputeRow struct {
	Model    string       `json:"model"`
	Batch    int          `json:"batch"`
	Go       Rate         `json:"go"`
	Torch    *TorchResult `json:"torch,omitempty"`
	TorchErr string       `json:"torch_error,omitempty"`
}

// Ratio is deepretina's rate over PyTorch's, or 0 when PyTorch did not run.
func (r ComputeRow) Ratio() float64 {
	if r.Torch == nil || r.Torch.SamplesPerSec <= 0 {
		return 0
	}
	return r.Go.SamplesPerSec / r.Torch.SamplesPerSec
}

// EpochRun is deepretina's end-to-end epoch: the training steps of `train` (window starts sent,
// windows gathered on the device), plus the validation and test scoring of the epoch.
type EpochRun struct {
	Windows        int     `json:"windows"`
	TrainSeconds   float64 `json:"train_seconds"`   // training steps, compilation excluded
	CompileSeconds float64 `json:"compile_seconds"` // the first step
	EpochSeconds   float64 `json:"epoch_seconds"`   // the whole epoch as `train` logs it (scoring and compilation included)
	SamplesPerSec  float64 `json:"samples_per_s"`   // windows per training second
	HostToDevice   int64   `json:"host_to_device_bytes"`
}

// EndToEnd is one training epoch on a recording, on both sides.
type EndToEnd struct {
	Data        string       `json:"data"`
	Model       string       `json:"model"`
	Batch       int          `json:"batch"`
	Go          EpochRun     `json:"go"`
	ComputeRate float64      `json:"go_compute_samples_per_s"` // the same model and batch, compute only
	Torch       *TorchResult `json:"torch,omitempty"`
	TorchErr    string       `json:"torch_error,omitempty"`
}

// Report is one run of `deepretina bench`.
type Report struct {
	Date     time.Time    `json:"date"`
	Command  string       `json:"command"`
	GPU      bool         `json:"gpu"`
	Machine  string       `json:"machine"`
	Engine   string       `json:"engine"`
	Versions string       `json:"versions"`
	Load     string       `json:"load_average,omitempty"` // /proc/loadavg's 1, 5 and 15 minute averages when the measurements ended
	Compute  []ComputeRow `json:"compute"`
	E2E      *EndToEnd    `json:"end_to_end,omitempty"`
}

// Section is the name of the part of docs/benchmarks.md this report fills: "gpu" or "cpu".
func (r Report) Section() string {
	if r.GPU {
		return "gpu"
	}
	return "cpu"
}

// Markdown renders the report as the body of its section.
func (r Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s by `%s`.\n\n", r.Date.UTC().Format("2006-01-02 15:04 MST"), ScrubPaths(r.Command))
	versions := r.Versions
	if t := r.torchVersion(); t != "" {
		versions += ", " + t
	}
	fmt.Fprintf(&b, "- Machine: %s\n- Engine: %s\n- Versions: %s\n", r.Machine, ScrubPaths(r.Engine), versions)
	if r.Load != "" {
		fmt.Fprintf(&b, "- Load average (1, 5, 15 min) at the end: %s\n", r.Load)
	}
	b.WriteString("\n")
	b.WriteString("Training throughput, compute only (one random batch resident on the device; Adam, Poisson loss, float32, 5 cells, 40×50×50 input):\n\n")
	torchName := "PyTorch"
	if t := r.torchVersion(); t != "" {
		torchName = t
	}
	fmt.Fprintf(&b, "| model | batch | deepretina samples/s | %s samples/s | ratio |\n|---|---:|---:|---:|---:|\n", torchName)
	for _, row := range r.Compute {
		torch, ratio := "n/a", "n/a"
		if row.Torch != nil {
			torch = fmt.Sprintf("%s (%s)", thousands(row.Torch.SamplesPerSec), row.Torch.Device)
			ratio = fmt.Sprintf("%.2f×", row.Ratio())
		} else if row.TorchErr != "" {
			torch = "failed: " + row.TorchErr
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", row.Model, row.Batch, thousands(row.Go.SamplesPerSec), torch, ratio)
	}
	if e := r.E2E; e != nil {
		fmt.Fprintf(&b, "\nEnd to end: one epoch of `train` (%s, batch %d) on %s:\n\n", e.Model, e.Batch, e.Data)
		b.WriteString("| | windows | training s | samples/s | notes |\n|---|---:|---:|---:|---|\n")
		note := fmt.Sprintf("compilation %.1f s excluded; whole epoch with validation and test scoring %.1f s; host→device %s",
			e.Go.CompileSeconds, e.Go.EpochSeconds, progress.FormatBytes(e.Go.HostToDevice))
		if e.ComputeRate > 0 {
			note = fmt.Sprintf("%.0f%% of the compute-only rate %s; ", 100*e.Go.SamplesPerSec/e.ComputeRate, thousands(e.ComputeRate)) + note
		}
		fmt.Fprintf(&b, "| deepretina (data resident on the device) | %d | %.1f | %s | %s |\n", e.Go.Windows, e.Go.TrainSeconds, thousands(e.Go.SamplesPerSec), note)
		switch {
		case e.Torch != nil:
			fmt.Fprintf(&b, "| PyTorch (batches built on the host, as torch-deep-retina) | %d | %.1f | %s | %s; warm-up step excluded; loading and z-scoring %.1f s |\n",
				e.Torch.Windows, e.Torch.Seconds, thousands(e.Torch.SamplesPerSec), e.Torch.Device, e.Torch.LoadSeconds)
		case e.TorchErr != "":
			fmt.Fprintf(&b, "| PyTorch | | | | failed: %s |\n", e.TorchErr)
		}
	}
	return b.String()
}

// ScrubPaths replaces every absolute path in s (a word starting with "/", possibly after a
// "name:" prefix or an opening parenthesis) by its last element, so that a report names files
// and versions, not the folders of the machine it ran on.
func ScrubPaths(s string) string {
	words := strings.Split(s, " ")
	for i, w := range words {
		j := strings.Index(w, "/")
		if j < 0 || strings.Contains(w[:j], "/") {
			continue
		}
		prefix := w[:j]
		if prefix != "" && !strings.HasSuffix(prefix, ":") && !strings.HasSuffix(prefix, "(") && !strings.HasSuffix(prefix, "=") {
			continue // a relative path such as docs/benchmarks.md stays
		}
		rest := w[j:]
		trail := ""
		if k := strings.IndexAny(rest, ")],;"); k >= 0 {
			rest, trail = rest[:k], rest[k:]
		}
		words[i] = prefix + filepath.Base(rest) + trail
	}
	return strings.Join(words, " ")
}

// LoadAverage is /proc/loadavg's 1, 5 and 15 minute load averages, or "" where there is none.
func LoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], ", ")
}

// torchVersion names the PyTorch that ran, from the first measurement that has one.
func (r Report) torchVersion() string {
	results := []*TorchResult{}
	for _, row := range r.Compute {
		results = append(results, row.Torch)
	}
	if r.E2E != nil {
		results = append(results, r.E2E.Torch)
	}
	for _, t := range results {
		if t != nil && t.Version != "" {
			v := "PyTorch " + t.Version
			if t.CUDA != "" {
				v += " (CUDA " + t.CUDA + ")"
			}
			return v
		}
	}
	return ""
}

// WriteTable prints the report's tables for a terminal.
func (r Report) WriteTable(w *tabwriter.Writer) error {
	fmt.Fprintln(w, "model\tbatch\tdeepretina samples/s\tPyTorch samples/s\tratio")
	for _, row := range r.Compute {
		torch, ratio := "n/a", "n/a"
		if row.Torch != nil {
			torch, ratio = thousands(row.Torch.SamplesPerSec), fmt.Sprintf("%.2f", row.Ratio())
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", row.Model, row.Batch, thousands(row.Go.SamplesPerSec), torch, ratio)
	}
	if e := r.E2E; e != nil {
		fmt.Fprintf(w, "epoch (%s, batch %d)\t%d windows\t%.1f s, %s/s\t", e.Model, e.Batch, e.Go.Windows, e.Go.TrainSeconds, thousands(e.Go.SamplesPerSec))
		if e.Torch != nil {
			fmt.Fprintf(w, "%.1f s, %s/s\t%.2f\n", e.Torch.Seconds, thousands(e.Torch.SamplesPerSec), e.Go.SamplesPerSec/e.Torch.SamplesPerSec)
		} else {
			fmt.Fprintln(w, "n/a\tn/a")
		}
	}
	return w.Flush()
}

// Section markers in docs/benchmarks.md: each machine kind owns the text between its pair.
func markers(section string) (begin, end string) {
	return "<!-- bench:" + section + ":begin -->", "<!-- bench:" + section + ":end -->"
}

// UpdateSection replaces the body between the section's markers in the file at path, keeping
// the rest (the other machine kind's results) as it is.
func UpdateSection(path, section, body string) error {
	data, i, j, err := findSection(path, section)
	if err != nil {
		return err
	}
	begin, _ := markers(section)
	var out bytes.Buffer
	out.Write(data[:i+len(begin)])
	out.WriteString("\n" + strings.TrimSpace(body) + "\n")
	out.Write(data[j:])
	return fsutil.WriteFileAtomic(path, out.Bytes())
}

// CheckSection checks that UpdateSection can write the section of the file at path (it exists
// and has the section's markers), so that a command can say so before it measures anything.
func CheckSection(path, section string) error {
	_, _, _, err := findSection(path, section)
	return err
}

// findSection reads path and finds the markers of section: data[i:] starts with the begin
// marker, data[j:] with the end marker.
func findSection(path, section string) (data []byte, i, j int, err error) {
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("benchmarks file %s: %w", path, err)
	}
	begin, end := markers(section)
	i, j = bytes.Index(data, []byte(begin)), bytes.Index(data, []byte(end))
	if i < 0 || j < i {
		return nil, 0, 0, fmt.Errorf("benchmarks file %s: no %s … %s markers to write the %s results between", path, begin, end, section)
	}
	return data, i, j, nil
}

// MachineDescription names the CPU, its cores and memory, and the GPU when nvidia-smi sees one.
func MachineDescription() (desc string, gpu string) {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	desc = fmt.Sprintf("%s, %d cores, %s/%s", cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(strings.SplitN(string(data), "\n", 2)[0], "MemTotal: %d kB", &kb); err == nil {
			desc += fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	if out, err := exec.Command("nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader").Output(); err == nil {
		gpu = strings.TrimSpace(strings.Split(string(out), "\n")[0])
		desc += "; GPU: " + gpu
	}
	return desc, gpu
}

// ModuleVersions lists Go's and the engine modules' versions of this binary.
func ModuleVersions() string {
	parts := []string{"Go " + strings.TrimPrefix(runtime.Version(), "go")}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			switch d.Path {
			case "github.com/gomlx/gomlx":
				parts = append(parts, "GoMLX "+d.Version)
			case "github.com/gomlx/go-xla":
				parts = append(parts, "go-xla "+d.Version)
			case "github.com/gomlx/compute":
				parts = append(parts, "compute "+d.Version)
			}
		}
	}
	return strings.Join(parts, ", ")
}

// thousands formats a rate with thousands separators: 43,788; small rates keep a decimal.
func thousands(v float64) string {
	if v < 100 {
		return fmt.Sprintf("%.1f", v)
	}
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
