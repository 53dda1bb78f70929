package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina"
)

func predictCmd() *cobra.Command {
	var run, in, out string
	cmd := &cobra.Command{
		Use:   "predict --run DIR --stimulus IN.npy --out OUT.npy",
		Short: "Predict firing rates for a stimulus movie",
		Long: `IN.npy is a [T,H,W] float32 movie in raw stimulus units (the run's stored normalisation is
applied). OUT.npy is [T−history, N] float32: row t predicts frame t+history from frames
t … t+history−1.`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if run == "" || in == "" || out == "" {
				return fmt.Errorf("--run, --stimulus and --out are required")
			}
			stim, err := datasets.ReadMovieNpy(in)
			if err != nil {
				return err
			}
			model, err := retina.LoadModel(run, retina.LoadOptions{Log: os.Stderr})
			if err != nil {
				return err
			}
			pred, err := model.Predict(stim)
			if err != nil {
				return fmt.Errorf("predict %s: %w", in, err)
			}
			var buf bytes.Buffer
			if err := datasets.WriteNpy(&buf, []int{pred.Rows, pred.Cols}, pred.Data); err != nil {
				return err
			}
			if err := retina.WriteFileAtomic(out, buf.Bytes()); err != nil {
				return err
			}
			fmt.Printf("wrote %s [%d, %d]\n", out, pred.Rows, pred.Cols)
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "run folder")
	cmd.Flags().StringVar(&in, "stimulus", "", "stimulus .npy, [T,H,W] float32")
	cmd.Flags().StringVar(&out, "out", "", "output .npy, [T−history, N] float32")
	return cmd
}
