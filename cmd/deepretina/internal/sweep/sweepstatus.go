package sweep

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/deepretina/deepretina/internal/runlock"
)

// The states of a combination.
const (
	stateDone        = "done"
	StateRunning     = "running"
	StatePending     = "pending"     // queued in Slurm
	StateInterrupted = "interrupted" // stopped with a checkpoint; resumes when run again
	StateFailed      = "failed"
	StateNotStarted  = "not started"
)

// comboState is where one combination stands.
type comboState struct {
	Index   int
	ExpName string
	State   string
	Note    string
	Epoch   int          // complete epochs trained
	NEpochs int          // epochs planned
	Scores  *EvalSummary // when done
}

// InspectSweep reads each combination's state from its run folder, its failure note and what
// Slurm says of its task (slurm may be nil).
func InspectSweep(out string, plan *SweepPlan, slurm map[int]SlurmTask) []comboState {
	states := make([]comboState, len(plan.Runs))
	for i, r := range plan.Runs {
		runDir := filepath.Join(out, r.ExpName)
		cfg, cfgErr := plan.config(i)
		st := comboState{Index: i, ExpName: r.ExpName, NEpochs: cfg.NEpochs, State: StateNotStarted}
		if meta, _, err := readRunMeta(runDir); err == nil {
			st.Epoch = meta.Epoch
		}
		task, inSlurm := slurm[i]
		failure, _ := os.ReadFile(FailedPath(out, r.ExpName))
		holder, _ := runlock.Holding(filepath.Join(runDir, runlock.FileName))
		ev, done := Finished(runDir, cfg, !plan.NoLN)
		if cfgErr != nil {
			done = false
		}
		switch {
		case holder != nil:
			st.State, st.Note = StateRunning, holder.String()
			if inSlurm && task.State == "RUNNING" {
				st.Note = "Slurm task " + task.JobID + ", " + st.Note
			}
		case done:
			st.State, st.Scores = stateDone, ev
		case inSlurm && task.State == "RUNNING":
			st.State, st.Note = StateRunning, "Slurm task "+task.JobID+" "+task.Reason
		case inSlurm && (task.State == "PENDING" || task.State == "REQUEUED" || task.State == "CONFIGURING"):
			st.State, st.Note = StatePending, "Slurm task "+task.JobID+" ("+task.Reason+")"
			if st.Epoch > 0 {
				st.Note += fmt.Sprintf(", resumes from epoch %d", st.Epoch)
			}
		case len(failure) > 0:
			st.State, st.Note = StateFailed, strings.TrimSpace(string(failure))
		case inSlurm && slurmFailed(task.State):
			st.State, st.Note = StateFailed, "Slurm task "+task.JobID+" "+task.State+" ("+task.Reason+")"
			if st.Epoch > 0 {
				st.Note += fmt.Sprintf("; resumes from epoch %d when the sweep runs again", st.Epoch)
			}
		case hasCheckpoints(runDir):
			st.State, st.Note = StateInterrupted, "resumes from its checkpoint when the sweep runs again"
		}
		states[i] = st
	}
	return states
}

func slurmFailed(state string) bool {
	switch state {
	case "FAILED", "TIMEOUT", "CANCELLED", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE":
		return true
	}
	return false
}

func hasCheckpoints(runDir string) bool {
	entries, err := os.ReadDir(filepath.Join(runDir, "checkpoints"))
	if err != nil {
		return false
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "epoch-") {
			return true
		}
	}
	return false
}

// PrintStatus writes one line per combination, the counts per state and the best so far. A
// finished run of several recordings is followed by a line per recording with its scores and
// the file they come from (RUN/eval-<name>.json); the combination's line has their means.
func PrintStatus(w io.Writer, out string, plan *SweepPlan, states []comboState) error {
	fmt.Fprintf(w, "sweep in %s: %d combinations (planned %s)\n", out, len(states), plan.Created.Local().Format("2006-01-02 15:04"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "index\tstate\texp_name\tepoch\tCNN r\tLN r\tceiling\tFEV\tnote")
	counts := map[string]int{}
	best := -1
	for i, st := range states {
		counts[st.State]++
		scores := "-\t-\t-\t-"
		if ev := st.Scores; ev != nil {
			scores = strings.Join([]string{score(ev.CNNPearsonMean), score(ev.LNPearsonMean), score(ev.CeilingMean), score(ev.FEVMean)}, "\t")
			if !math.IsNaN(ev.CNNPearsonMean) && (best < 0 || ev.CNNPearsonMean > states[best].Scores.CNNPearsonMean) {
				best = i
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\t%s\n", st.Index, st.State, st.ExpName, st.Epoch, st.NEpochs, scores, st.Note)
		if st.Scores != nil {
			for _, r := range st.Scores.Recordings {
				fmt.Fprintf(tw, "\t\t  recording %s\t\t%s\t%s\t%s\t%s\teval-%s.json\n", r.Name, score(r.CNNPearsonMean),
					score(r.LNPearsonMean), score(r.CeilingMean), score(r.FEVMean), r.Name)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var parts []string
	for _, s := range []string{stateDone, StateRunning, StatePending, StateInterrupted, StateFailed, StateNotStarted} {
		if counts[s] > 0 || s == stateDone || s == StateFailed || s == StateRunning || s == StateNotStarted {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	fmt.Fprintln(w, strings.Join(parts, ", "))
	if best < 0 {
		fmt.Fprintln(w, "best so far: none (no combination finished yet)")
		return nil
	}
	b := states[best]
	fmt.Fprintf(w, "best so far: %s (CNN r %s, FEV %s) in %s\n", b.ExpName, score(b.Scores.CNNPearsonMean),
		score(b.Scores.FEVMean), filepath.Join(out, b.ExpName))
	return nil
}

func score(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", x)
}
