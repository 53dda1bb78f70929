package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/core/tensors/numpy"
	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/internal/fsutil"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/torchio"
)

func exportCmd() *cobra.Command {
	var run, out, recording string
	cmd := &cobra.Command{
		Use:   "export --run DIR --out W.npz",
		Short: "Export a run's weights as the reference PyTorch state dict (.npz) plus its norm stats",
		Long: `Writes every parameter and batch-norm running statistic under the reference PyTorch model's
state-dict names and shapes, in the module order of the reference's newest BNCNN and
LinearStackedBNCNN classes (sequential.0.weight [8,40,15,15], sequential.2.* batch norm,
sequential.4.sigma noise std, sequential.6.* conv2, …, sequential.13.weight dense,
sequential.14.* output batch norm), plus the scalars norm_stats.mean and norm_stats.std: the
stimulus normalisation the model expects.

In Python:  sd = {k: torch.from_numpy(v) for k, v in numpy.load("W.npz").items()
                  if not k.startswith("norm_stats")}; model.load_state_dict(sd, strict=True)

The reverse is import, which reads the reference's .pt checkpoints (any of its module orders).`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if run == "" || out == "" {
				return fmt.Errorf("--run and --out are required")
			}
			if err := outputs.CheckRunFolder("--run", run); err != nil {
				return err
			}
			if err := outputs.CheckOutputFile("--out", out, outputs.KindNpz, nil); err != nil {
				return err
			}
			model, err := loadRunModel(run, recording, retina.LoadOptions{Log: os.Stderr})
			if err != nil {
				return err
			}
			sd, err := torchio.ExportStateDict(model.Scope().At(retina.ModelScope), model.Meta.Model)
			if err != nil {
				return fmt.Errorf("export %s: %w", run, err)
			}
			sd["norm_stats.mean"] = tensors.FromScalar(model.Meta.NormStats.Mean)
			sd["norm_stats.std"] = tensors.FromScalar(model.Meta.NormStats.Std)
			var buf bytes.Buffer
			if err := numpy.ToNpzWriter(sd, &buf); err != nil {
				return fmt.Errorf("export %s: %w", out, err)
			}
			if err := fsutil.WriteFileAtomic(out, buf.Bytes()); err != nil {
				return err
			}
			fmt.Printf("wrote %s (%d arrays, from %s)\n", out, len(sd), model.Dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "run folder")
	addRecordingFlag(cmd, &recording)
	cmd.Flags().StringVar(&out, "out", "", "output .npz")
	return cmd
}
