package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/retina"
)

func benchCmd() *cobra.Command {
	var batch, steps int
	var jsonOut, python, script string
	cmd := &cobra.Command{
		Use:   "bench [--json FILE]",
		Short: "Training samples/s of the full-size BNCNN (40×50×50, 5 cells) here and in PyTorch on the same machine",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			backend, err := retina.NewBackend(os.Stderr)
			if err != nil {
				return err
			}
			mcfg := retina.DefaultModelConfig(5)
			fmt.Fprintf(os.Stderr, "bench: BNCNN %v, batch %d, %d steps on %s…\n", mcfg.ImgShape, batch, steps, backend.Name())
			goRate, err := retina.TrainingThroughput(backend, mcfg, batch, steps)
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			res := map[string]any{"backend": backend.Name(), "batch": batch, "go_samples_per_s": goRate}
			torchRate, torchNote := torchThroughput(python, script, batch, steps)
			if torchRate > 0 {
				res["torch_samples_per_s"] = torchRate
			} else {
				res["torch_samples_per_s"] = nil
				res["torch_error"] = torchNote
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "engine\tsamples/s\tratio vs PyTorch")
			ratio := "-"
			if torchRate > 0 {
				ratio = fmt.Sprintf("%.3f", goRate/torchRate)
			}
			fmt.Fprintf(tw, "deepretina (%s)\t%.2f\t%s\n", backend.Name(), goRate, ratio)
			if torchRate > 0 {
				fmt.Fprintf(tw, "PyTorch (%s)\t%.2f\t1\n", torchNote, torchRate)
			} else {
				fmt.Fprintf(tw, "PyTorch\tn/a\t(%s)\n", torchNote)
			}
			tw.Flush()
			if jsonOut != "" {
				data, _ := json.MarshalIndent(res, "", "  ")
				return retina.WriteFileAtomic(jsonOut, data)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&batch, "batch", 64, "batch size")
	cmd.Flags().IntVar(&steps, "steps", 3, "timed training steps (after one warm-up step)")
	cmd.Flags().StringVar(&jsonOut, "json", "", "also write the results as JSON")
	cmd.Flags().StringVar(&python, "python", "/usr/bin/python3", "Python with torch for the reference run")
	cmd.Flags().StringVar(&script, "torch-script", "scripts/bench_torch.py", "the reference benchmark script")
	return cmd
}

// torchThroughput runs the committed PyTorch benchmark; on failure it returns 0 and why.
func torchThroughput(python, script string, batch, steps int) (float64, string) {
	out, err := exec.Command(python, script, "--batch", fmt.Sprint(batch), "--steps", fmt.Sprint(steps)).Output()
	if err != nil {
		return 0, fmt.Sprintf("%s %s failed: %v", python, script, err)
	}
	var r struct {
		Rate    float64 `json:"torch_samples_per_s"`
		Version string  `json:"torch_version"`
		Threads int     `json:"torch_threads"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, fmt.Sprintf("unreadable output %q", out)
	}
	return r.Rate, fmt.Sprintf("torch %s, %d threads", r.Version, r.Threads)
}
