package main

import (
	"bytes"
	"fmt"
	"math"
	"os"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/fsutil"
	"github.com/deepretina/deepretina/retina"
)

func predictCmd() *cobra.Command {
	var run, in, out, recording string
	cmd := &cobra.Command{
		Use:   "predict --run DIR --stimulus IN.npy --out OUT.npy",
		Short: "Predict firing rates for a stimulus movie",
		Long: `IN.npy is a [T,H,W] float32 movie in raw stimulus units (the run's stored normalisation is
applied). OUT.npy is [T−history, N] float32: row t predicts frame t+history from frames
t … t+history−1. OUT.npy may not be IN.npy (under any name). Prediction reads no recording,
so there is no recording to check against the run's (see eval).`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if run == "" || in == "" || out == "" {
				return fmt.Errorf("--run, --stimulus and --out are required")
			}
			if err := outputs.CheckRunFolder("--run", run); err != nil {
				return err
			}
			if err := outputs.CheckOutputFile("--out", out, outputs.KindNpy, map[string]string{"--stimulus": in}); err != nil {
				return err
			}
			stim, err := datasets.ReadMovieNpy(in)
			if err != nil {
				return err
			}
			model, err := loadRunModel(run, recording, retina.LoadOptions{Log: os.Stderr})
			if err != nil {
				return err
			}
			// The stimulus's shape is the user's to fix; anything after that is the checkpoint's.
			hist, h, w := model.Meta.InputShape[0], model.Meta.InputShape[1], model.Meta.InputShape[2]
			if stim.H != h || stim.W != w {
				return fmt.Errorf("stimulus %s: frames are %d×%d; the run %s expects %d×%d", in, stim.H, stim.W, run, h, w)
			}
			if stim.T <= hist {
				return fmt.Errorf("stimulus %s: %d frames; the run %s needs more than its history of %d frames", in, stim.T, run, hist)
			}
			pred, err := model.Predict(stim)
			if err != nil {
				return fmt.Errorf("checkpoint %s of run %s: %w", model.Dir, run, err)
			}
			for i, v := range pred.Data {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return fmt.Errorf("checkpoint %s of run %s predicts %v for cell %d at row %d of %s: not writing %s (is the stimulus in the run's units, and finite?)",
						model.Dir, run, v, i%pred.Cols, i/pred.Cols, in, out)
				}
			}
			var buf bytes.Buffer
			if err := datasets.WriteNpy(&buf, []int{pred.Rows, pred.Cols}, pred.Data); err != nil {
				return err
			}
			if err := fsutil.WriteFileAtomic(out, buf.Bytes()); err != nil {
				return err
			}
			fmt.Printf("wrote %s [%d, %d]\n", out, pred.Rows, pred.Cols)
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "run folder")
	addRecordingFlag(cmd, &recording)
	cmd.Flags().StringVar(&in, "stimulus", "", "stimulus .npy, [T,H,W] float32")
	cmd.Flags().StringVar(&out, "out", "", "output .npy, [T−history, N] float32 (not the stimulus file)")
	return cmd
}
