package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/core/tensors/numpy"
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
			stim, err := readMovieNpy(in)
			if err != nil {
				return err
			}
			model, err := retina.LoadModel(run, nil)
			if err != nil {
				return err
			}
			pred, err := model.Predict(stim)
			if err != nil {
				return fmt.Errorf("predict %s: %w", in, err)
			}
			t := tensors.FromFlatDataAndDimensions(pred.Data, pred.Rows, pred.Cols)
			var buf bytes.Buffer
			if err := numpy.ToNpyWriter(t, &buf); err != nil {
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

// readMovieNpy reads a [T,H,W] float32 (or float64) .npy movie, rejecting anything else with an
// error naming the file.
func readMovieNpy(path string) (mov datasets.Movie, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("stimulus %s: not a readable .npy file (%v)", path, r)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return mov, fmt.Errorf("stimulus %s: %w", path, err)
	}
	defer f.Close()
	t, err := numpy.FromNpyReader(f)
	if err != nil {
		return mov, fmt.Errorf("stimulus %s: not a valid .npy file: %w", path, err)
	}
	dims := t.Shape().Dimensions
	if len(dims) != 3 {
		return mov, fmt.Errorf("stimulus %s: expected shape [T,H,W], got %v", path, dims)
	}
	var data []float32
	switch t.DType() {
	case dtypes.Float32:
		data = tensors.MustCopyFlatData[float32](t)
	case dtypes.Float64:
		for _, v := range tensors.MustCopyFlatData[float64](t) {
			data = append(data, float32(v))
		}
	default:
		return mov, fmt.Errorf("stimulus %s: expected float32 values, got %s", path, t.DType())
	}
	mov = datasets.Movie{T: dims[0], H: dims[1], W: dims[2], Data: data}
	for i, v := range data {
		if v != v || v > 3.4e38 || v < -3.4e38 {
			return mov, fmt.Errorf("stimulus %s: value %d is %v; expected finite numbers", path, i, v)
		}
	}
	return mov, nil
}
