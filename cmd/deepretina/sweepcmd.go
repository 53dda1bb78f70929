package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/cmd/deepretina/internal/sweep"
)

// The commands sweep and sweep status; the sweep machinery (the grid, the plan, local workers,
// Slurm, the status of each combination) is package internal/sweep.

func sweepCmd() *cobra.Command {
	var plan sweep.PlanFlags
	var out string
	var local int
	var useSlurm, dryRun, noLN, replan bool
	var keep int
	var so sweep.SlurmOptions
	cmd := &cobra.Command{
		Use:   "sweep --ranges hyperranges.json [--config hyperparams.json] --out DIR (--local N | --slurm)",
		Short: "Train every combination of a --ranges file with parallel workers or as a Slurm job array",
		Long: `Plans the combinations of --ranges over --config (their Cartesian product, or --sample N of them
drawn with --seed), writes the plan to DIR/sweep.json, and trains them:

  --local N   N worker processes on this machine, each running "deepretina train --index I";
              on a machine with GPUs each worker gets its own (CUDA_VISIBLE_DEVICES)
  --slurm     writes DIR/sweep.sbatch, an array job with one task per combination, and
              submits it with sbatch (--dry-run only writes it)

Every run's scores go to DIR/results.csv and DIR/results.json, one row per combination, whatever
order the workers finish in. Running the sweep again skips finished combinations and resumes
unfinished ones from their checkpoints; a task that Slurm stops (time limit, scancel,
preemption) saves a checkpoint first. Worker logs are in DIR/logs/.

See where a sweep stands with: deepretina sweep status DIR`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if plan.Ranges == "" {
				return errors.New("--ranges is required: the JSON file mapping config keys to the lists of values to sweep")
			}
			if err := plan.Check(cmd); err != nil {
				return err
			}
			if useSlurm && cmd.Flags().Changed("local") {
				return errors.New("--local and --slurm exclude each other: run the workers here or on the cluster")
			}
			if !useSlurm && so.Changed(cmd) != "" {
				return fmt.Errorf("%s is a Slurm option: add --slurm", so.Changed(cmd))
			}
			if local < 1 {
				return fmt.Errorf("--local %d: expected at least one worker", local)
			}
			if err := so.Check(); err != nil {
				return err
			}
			sw, err := sweep.PlanSweep(plan, out, noLN, keep, cmd.Flags().Changed("keep"), replan)
			if err != nil {
				return err
			}
			if useSlurm {
				return sw.SubmitSlurm(so, dryRun)
			}
			if dryRun {
				return sw.DescribeLocal(local)
			}
			return sw.RunLocal(cmd.Context(), local)
		},
	}
	plan.Register(cmd)
	f := cmd.Flags()
	f.StringVar(&out, "out", "runs", "output folder of the sweep: one run folder per combination, results.csv, results.json")
	f.IntVar(&local, "local", 1, "run the combinations with N worker processes on this machine")
	f.BoolVar(&useSlurm, "slurm", false, "submit the combinations as a Slurm job array (DIR/sweep.sbatch)")
	f.BoolVar(&dryRun, "dry-run", false, "plan only: write DIR/sweep.json (and DIR/sweep.sbatch with --slurm) and say what would run")
	f.BoolVar(&noLN, "no-ln", false, "do not train the LN baseline of each run")
	f.BoolVar(&replan, "replan", false, "replace DIR/sweep.json even if it plans another sweep whose runs have started (they are then no longer listed by sweep status)")
	f.IntVar(&keep, "keep", 2, "checkpoints to keep per run besides the best one")
	so.Register(cmd)
	cmd.AddCommand(sweepStatusCmd())
	return cmd
}

func sweepStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status DIR",
		Short: "List each combination of the sweep in DIR as done, running, failed or not started, with its scores",
		Long: `Reads the sweep planned in DIR/sweep.json and, for each combination, its run folder (finished
and evaluated, held by a live process, checkpoints of an interrupted run), the failure noted in
DIR/logs/, and what squeue and sacct say of its Slurm task where they exist; a finished run of
several recordings is followed by a line per recording (its RUN/eval-<name>.json). Ends with the
best combination so far, by the mean CNN Pearson r on the test set (over its recordings).`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			out, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			plan, err := sweep.ReadPlan(out)
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%s: no sweep planned there (deepretina sweep writes %s)", out, outputs.PlanFile)
			}
			if err != nil {
				return err
			}
			return sweep.PrintStatus(os.Stdout, out, plan, sweep.InspectSweep(out, plan, sweep.QuerySlurm(out, plan)))
		},
	}
}
