package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/internal/sortedmap"
	"github.com/deepretina/deepretina/retina/runconfig"
	"github.com/deepretina/deepretina/torchio"
)

func importCmd() *cobra.Command {
	var pt, out, data, dataset, stim, cells string
	cmd := &cobra.Command{
		Use:   "import --pt FILE.pt --out DIR [--data ROOT] [--dataset NAME] [--stim TYPE] [--cells 0,1,2|all]",
		Short: "Turn a torch-deep-retina checkpoint (.pt) into a run folder that eval, predict and the analyses accept",
		Long: `Reads a checkpoint the reference PyTorch torch-deep-retina saved (torch.save of its dict:
model_type, model_state_dict, hyper-parameters, norm_stats, scores, epoch), in PyTorch's zip
format or the legacy one, for model_type BNCNN or LinearStackedBNCNN (any of the reference's
module orders). The model is worked out from the state dict's shapes and the hyper-parameters,
its weights are put into the Go model, and DIR becomes a normal run folder
(DIR/checkpoints/epoch-NNNN/ with meta.json, and DIR/run.json) whose metadata record the source
file and its SHA-256.

eval reads the run's test data from <datapath>/<dataset>/<stim_type>.h5 of its config: --data,
--dataset and --stim set them (the checkpoint's hyper-parameters name the dataset it was trained
on). --cells gives the recorded cells the outputs are, when the checkpoint's "cells" does not
say it ("all" means the experiment's curated cells).

The reverse is export, which writes a run's weights under the reference's newest state-dict
names.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if pt == "" || out == "" {
				return fmt.Errorf("--pt and --out are required")
			}
			if st, err := os.Stat(out); err == nil && !st.IsDir() {
				return fmt.Errorf("--out %s: is a file; expected the folder to create the run in", out)
			}
			if outputs.IsRunFolder(out) {
				return fmt.Errorf("import: %s already holds a run; choose another --out (an existing run is never overwritten)", out)
			}
			if err := outputs.CheckNotAmongRunFiles("--out", filepath.Join(out, outputs.RunDescriptor), outputs.KindRunMeta); err != nil {
				return err
			}
			opts := torchio.ImportOptions{DataPath: data, Dataset: dataset, StimType: stim}
			if cells != "" {
				l, err := parseCells(cells)
				if err != nil {
					return err
				}
				opts.Cells = l
			}
			var c *torchio.Checkpoint
			err := untilInterrupted(cmd.Context(), "import", func() (err error) {
				c, err = torchio.LoadCheckpoint(pt)
				return err
			})
			if err != nil {
				return err
			}
			if err := checkInterrupted(cmd.Context(), "import"); err != nil {
				return err
			}
			meta, err := torchio.ImportRun(c, out, opts)
			if err != nil {
				return err
			}
			m := meta.Model
			fmt.Printf("%s: %s (%s format, %s module order), %d cells %v, input %v, channels %v, kernels %v\n",
				pt, c.ModelType, c.Format, c.ModuleOrder, m.NCells, meta.CellIDs, m.ImgShape, m.Chans, m.KSizes)
			fmt.Printf("norm stats mean %.6g std %.6g; %d epochs trained; %s\n", meta.NormStats.Mean, meta.NormStats.Std, meta.Epoch, scores(c.Scores))
			fmt.Printf("wrote run %s (data %s/%s)\n", out, meta.Config.Dataset, meta.Config.StimType)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&pt, "pt", "", "the reference checkpoint (.pt)")
	f.StringVar(&out, "out", "", "run folder to create")
	f.StringVar(&data, "data", "", "data root holding <dataset>/<stim_type>.h5 (the run config's datapath)")
	f.StringVar(&dataset, "dataset", "", "dataset of the run's test data (default: the checkpoint's)")
	f.StringVar(&stim, "stim", "", "stimulus type of the run's test data, whitenoise or naturalscene (default: the checkpoint's)")
	f.StringVar(&cells, "cells", "", "cells of the outputs: indices separated by commas, or all (default: the checkpoint's)")
	return cmd
}

// parseCells reads --cells: indices separated by commas, each at most once, or all.
func parseCells(cells string) (*runconfig.CellList, error) {
	if strings.TrimSpace(cells) == "all" {
		return &runconfig.CellList{Curated: true}, nil
	}
	var l runconfig.CellList
	seen := map[int]bool{}
	for _, f := range strings.Split(cells, ",") {
		id, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || id < 0 {
			return nil, fmt.Errorf("--cells %q: %q is not a cell index (expected indices ≥ 0 separated by commas, or all)", cells, f)
		}
		if seen[id] {
			return nil, fmt.Errorf("--cells %q: cell %d is listed twice; each output is a different cell", cells, id)
		}
		seen[id] = true
		l.IDs = append(l.IDs, id)
	}
	return &l, nil
}

func scores(s map[string]float64) string {
	if len(s) == 0 {
		return "no scores"
	}
	return sortedmap.Join(s, ", ", func(k string, v float64) string { return fmt.Sprintf("%s %.4g", k, v) })
}
