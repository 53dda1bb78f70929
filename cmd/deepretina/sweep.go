package main

import (
	stdcontext "context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/internal/runlock"
)

func sweepCmd() *cobra.Command {
	var plan planFlags
	var out string
	var local int
	var useSlurm, dryRun, noLN, replan bool
	var keep int
	var so slurmOptions
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
			if plan.ranges == "" {
				return errors.New("--ranges is required: the JSON file mapping config keys to the lists of values to sweep")
			}
			if err := plan.check(cmd); err != nil {
				return err
			}
			if useSlurm && cmd.Flags().Changed("local") {
				return errors.New("--local and --slurm exclude each other: run the workers here or on the cluster")
			}
			if !useSlurm && so.changed(cmd) != "" {
				return fmt.Errorf("%s is a Slurm option: add --slurm", so.changed(cmd))
			}
			if local < 1 {
				return fmt.Errorf("--local %d: expected at least one worker", local)
			}
			if err := so.check(); err != nil {
				return err
			}
			sw, err := planSweep(plan, out, noLN, keep, cmd.Flags().Changed("keep"), replan)
			if err != nil {
				return err
			}
			if useSlurm {
				return sw.submitSlurm(so, dryRun)
			}
			if dryRun {
				return sw.describeLocal(local)
			}
			return sw.runLocal(cmd.Context(), local)
		},
	}
	plan.register(cmd)
	f := cmd.Flags()
	f.StringVar(&out, "out", "runs", "output folder of the sweep: one run folder per combination, results.csv, results.json")
	f.IntVar(&local, "local", 1, "run the combinations with N worker processes on this machine")
	f.BoolVar(&useSlurm, "slurm", false, "submit the combinations as a Slurm job array (DIR/sweep.sbatch)")
	f.BoolVar(&dryRun, "dry-run", false, "plan only: write DIR/sweep.json (and DIR/sweep.sbatch with --slurm) and say what would run")
	f.BoolVar(&noLN, "no-ln", false, "do not train the LN baseline of each run")
	f.BoolVar(&replan, "replan", false, "replace DIR/sweep.json even if it plans another sweep whose runs have started (they are then no longer listed by sweep status)")
	f.IntVar(&keep, "keep", 2, "checkpoints to keep per run besides the best one")
	so.register(cmd)
	cmd.AddCommand(sweepStatusCmd())
	return cmd
}

// sweep is a planned sweep: its folder, its combinations and the train arguments that select
// them.
type sweep struct {
	out   string // absolute
	plan  *sweepPlan
	train []string // train's arguments before --index I --out DIR
	exe   string   // the workers' binary ("": this one)
}

// planSweep expands the combinations, checks them, and writes DIR/sweep.json.
func planSweep(pf planFlags, out string, noLN bool, keep int, keepSet, replan bool) (*sweep, error) {
	pf, err := pf.absolute()
	if err != nil {
		return nil, err
	}
	runs, base, err := pf.runs()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return nil, err
	}
	args, err := pf.args()
	if err != nil {
		return nil, err
	}
	train := append([]string{"train"}, args...)
	if noLN {
		train = append(train, "--no-ln")
	}
	if keepSet {
		train = append(train, "--keep", fmt.Sprint(keep))
	}
	if err := checkFolders(runs); err != nil {
		return nil, err
	}
	p := &sweepPlan{Format: planFormat, Created: time.Now().UTC().Truncate(time.Second), Train: train, NoLN: noLN, Base: &base}
	for i, r := range runs {
		p.Runs = append(p.Runs, newPlannedRun(i, r))
		// The plan stores what rebuilds each config, not the config: check it rebuilds it.
		if got, err := p.config(i); err != nil || configDiff(got, r.cfg) != "" {
			return nil, fmt.Errorf("sweep plan: run %d (%s) does not rebuild from its values: %v %s", i, r.cfg.ExpName, err, configDiff(got, r.cfg))
		}
	}
	if err := checkRunsFolder("--out", out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(abs, logsDir), 0o755); err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	err = withPlanLock(abs, func() error {
		old, err := readPlan(abs)
		switch {
		case err == nil && samePlan(old, p):
			p.Created, p.Slurm = old.Created, old.Slurm // the same sweep again: keep its history
		case err == nil && !replan:
			if started := startedAndDropped(abs, old, p); len(started) > 0 {
				return fmt.Errorf("%s plans another sweep (%d combinations, planned %s), of which %d have started and are not in this plan (%s): replacing the plan would hide them from sweep status; sweep into another --out, or pass --replan to replace the plan (their folders stay)",
					filepath.Join(abs, planFile), len(old.Runs), old.Created.Local().Format("2006-01-02 15:04"), len(started), strings.Join(started[:min(3, len(started))], ", ")+map[bool]string{true: ", …", false: ""}[len(started) > 3])
			}
		}
		return writePlan(abs, p)
	})
	if err != nil {
		return nil, err
	}
	return &sweep{out: abs, plan: p, train: train}, nil
}

// samePlan reports whether two plans train the same runs the same way.
func samePlan(a, b *sweepPlan) bool {
	if len(a.Runs) != len(b.Runs) || a.NoLN != b.NoLN || strings.Join(a.Train, "\x00") != strings.Join(b.Train, "\x00") {
		return false
	}
	for i := range a.Runs {
		ca, errA := a.config(i)
		cb, errB := b.config(i)
		if a.Runs[i].ExpName != b.Runs[i].ExpName || errA != nil || errB != nil || configDiff(ca, cb) != "" {
			return false
		}
	}
	return true
}

// startedAndDropped lists the runs of the old plan that have started (a run folder with a
// description or checkpoints) and that the new plan does not have.
func startedAndDropped(out string, old, now *sweepPlan) []string {
	keep := map[string]bool{}
	for _, r := range now.Runs {
		keep[r.ExpName] = true
	}
	var started []string
	for _, r := range old.Runs {
		if !keep[r.ExpName] && isRunFolder(filepath.Join(out, r.ExpName)) {
			started = append(started, r.ExpName)
		}
	}
	return started
}

// withPlanLock runs f while holding the lock on DIR/sweep.json.
func withPlanLock(out string, f func() error) error {
	ctx, cancel := stdcontext.WithTimeout(stdcontext.Background(), time.Minute)
	defer cancel()
	l, err := runlock.Wait(ctx, filepath.Join(out, ".sweep.lock"))
	if err != nil {
		return err
	}
	defer l.Release()
	return f()
}

// taskArgs is the train command line of combination index.
func (s *sweep) taskArgs(index string) []string {
	return append(append([]string(nil), s.train...), "--index", index, "--out", s.out)
}

// todo returns the combinations that still need a worker: neither done nor running elsewhere.
func (s *sweep) todo(states []comboState) (todo []int, done, elsewhere int) {
	for _, st := range states {
		switch st.State {
		case stateDone:
			done++
		case stateRunning, statePending:
			elsewhere++
		default:
			todo = append(todo, st.Index)
		}
	}
	return todo, done, elsewhere
}
