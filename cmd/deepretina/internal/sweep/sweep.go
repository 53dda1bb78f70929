package sweep

import (
	stdcontext "context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/internal/runlock"
)

// Sweep is a planned sweep: its folder, its combinations and the train arguments that select
// them.
type Sweep struct {
	Out   string // absolute
	Plan  *SweepPlan
	Train []string // train's arguments before --index I --out DIR
	Exe   string   // the workers' binary ("": this one)
}

// PlanSweep expands the combinations, checks them, and writes DIR/sweep.json.
func PlanSweep(pf PlanFlags, out string, noLN bool, keep int, keepSet, replan bool) (*Sweep, error) {
	pf, err := pf.Absolute()
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
	p := &SweepPlan{Format: planFormat, Created: time.Now().UTC().Truncate(time.Second), Train: train, NoLN: noLN, Base: &base}
	for i, r := range runs {
		p.Runs = append(p.Runs, newPlannedRun(i, r))
		// The plan stores what rebuilds each config, not the config: check it rebuilds it.
		if got, err := p.config(i); err != nil || configDiff(got, r.cfg) != "" {
			return nil, fmt.Errorf("sweep plan: run %d (%s) does not rebuild from its values: %v %s", i, r.cfg.ExpName, err, configDiff(got, r.cfg))
		}
	}
	if err := outputs.CheckRunsFolder("--out", out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(abs, outputs.LogsDir), 0o755); err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	err = withPlanLock(abs, func() error {
		old, err := ReadPlan(abs)
		switch {
		case err == nil && samePlan(old, p):
			p.Created, p.Slurm = old.Created, old.Slurm // the same sweep again: keep its history
		case err == nil && !replan:
			if started := startedAndDropped(abs, old, p); len(started) > 0 {
				return fmt.Errorf("%s plans another sweep (%d combinations, planned %s), of which %d have started and are not in this plan (%s): replacing the plan would hide them from sweep status; sweep into another --out, or pass --replan to replace the plan (their folders stay)",
					filepath.Join(abs, outputs.PlanFile), len(old.Runs), old.Created.Local().Format("2006-01-02 15:04"), len(started), strings.Join(started[:min(3, len(started))], ", ")+map[bool]string{true: ", …", false: ""}[len(started) > 3])
			}
		}
		return writePlan(abs, p)
	})
	if err != nil {
		return nil, err
	}
	return &Sweep{Out: abs, Plan: p, Train: train}, nil
}

// samePlan reports whether two plans train the same runs the same way.
func samePlan(a, b *SweepPlan) bool {
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
func startedAndDropped(out string, old, now *SweepPlan) []string {
	keep := map[string]bool{}
	for _, r := range now.Runs {
		keep[r.ExpName] = true
	}
	var started []string
	for _, r := range old.Runs {
		if !keep[r.ExpName] && outputs.IsRunFolder(filepath.Join(out, r.ExpName)) {
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
func (s *Sweep) taskArgs(index string) []string {
	return append(append([]string(nil), s.Train...), "--index", index, "--out", s.Out)
}

// todo returns the combinations that still need a worker: neither done nor running elsewhere.
func (s *Sweep) todo(states []comboState) (todo []int, done, elsewhere int) {
	for _, st := range states {
		switch st.State {
		case stateDone:
			done++
		case StateRunning, StatePending:
			elsewhere++
		default:
			todo = append(todo, st.Index)
		}
	}
	return todo, done, elsewhere
}
