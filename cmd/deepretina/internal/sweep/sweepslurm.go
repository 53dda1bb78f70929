package sweep

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
)

// SlurmOptions are passed through to sbatch.
type SlurmOptions struct {
	partition, time, mem     string
	gpusPerTask, cpusPerTask int
}

func (o *SlurmOptions) Register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.partition, "partition", "", "with --slurm: the partition (queue) to run in")
	f.StringVar(&o.time, "time", "", "with --slurm: time limit of each task, as sbatch takes it (e.g. 4:00:00)")
	f.IntVar(&o.gpusPerTask, "gpus-per-task", 0, "with --slurm: GPUs per task")
	f.IntVar(&o.cpusPerTask, "cpus-per-task", 0, "with --slurm: CPU cores per task")
	f.StringVar(&o.mem, "mem", "", "with --slurm: memory per task, as sbatch takes it (e.g. 16G)")
}

// Changed names the first Slurm option given on the command line, if any.
func (o *SlurmOptions) Changed(cmd *cobra.Command) string {
	for _, name := range []string{"partition", "time", "gpus-per-task", "cpus-per-task", "mem"} {
		if cmd.Flags().Changed(name) {
			return "--" + name
		}
	}
	return ""
}

func (o *SlurmOptions) Check() error {
	for _, f := range []struct{ name, v string }{{"--partition", o.partition}, {"--time", o.time}, {"--mem", o.mem}} {
		if strings.ContainsAny(f.v, " \t\n\r'\"\\$`;") {
			return fmt.Errorf("%s %q: expected a single word, as sbatch takes it", f.name, f.v)
		}
	}
	if o.gpusPerTask < 0 || o.cpusPerTask < 0 {
		return errors.New("--gpus-per-task and --cpus-per-task: expected positive counts")
	}
	return nil
}

const sbatchFile = "sweep.sbatch"

// jobName names the sweep's Slurm jobs after its folder, with a hash of its path so two
// sweeps in folders of the same name stay apart; `sweep status` finds the tasks by it.
func jobName(out string) string {
	sum := sha256.Sum256([]byte(out))
	base := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '-'
	}, filepath.Base(out))
	return "deepretina-" + base + "-" + hex.EncodeToString(sum[:3])
}

// sbatchScript is the array job: task I trains combination I, appending to one log per task.
func (s *Sweep) sbatchScript(exe, tasks string, o SlurmOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/bash\n")
	fmt.Fprintf(&b, "# Written by deepretina sweep: task I of this array job trains combination I of the sweep\n")
	fmt.Fprintf(&b, "# planned in %s. Submit it with sbatch (deepretina sweep --slurm does).\n", filepath.Join(s.Out, outputs.PlanFile))
	fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", jobName(s.Out))
	fmt.Fprintf(&b, "#SBATCH --array=%s\n", tasks)
	fmt.Fprintf(&b, "#SBATCH --ntasks=1\n")
	if wd, err := os.Getwd(); err == nil { // where relative paths inside the config resolve
		fmt.Fprintf(&b, "#SBATCH --chdir=%s\n", wd)
	}
	fmt.Fprintf(&b, "#SBATCH --output=%s\n", filepath.Join(s.Out, outputs.LogsDir, "slurm-%A_%a.out"))
	fmt.Fprintf(&b, "#SBATCH --open-mode=append\n")
	fmt.Fprintf(&b, "#SBATCH --requeue\n")
	if o.partition != "" {
		fmt.Fprintf(&b, "#SBATCH --partition=%s\n", o.partition)
	}
	if o.time != "" {
		fmt.Fprintf(&b, "#SBATCH --time=%s\n", o.time)
	}
	if o.gpusPerTask > 0 {
		fmt.Fprintf(&b, "#SBATCH --gpus-per-task=%d\n", o.gpusPerTask)
	}
	if o.cpusPerTask > 0 {
		fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", o.cpusPerTask)
	}
	if o.mem != "" {
		fmt.Fprintf(&b, "#SBATCH --mem=%s\n", o.mem)
	}
	fmt.Fprintf(&b, "\n# Slurm sends SIGTERM before it stops a task (time limit, scancel, preemption): training\n")
	fmt.Fprintf(&b, "# saves a checkpoint and exits, and the task resumes from it when requeued or resubmitted.\n")
	args := []string{shellQuote(exe)}
	for _, a := range s.taskArgs("INDEX") {
		if a == "INDEX" {
			args = append(args, `"$SLURM_ARRAY_TASK_ID"`)
		} else {
			args = append(args, shellQuote(a))
		}
	}
	fmt.Fprintf(&b, "exec %s\n", strings.Join(args, " "))
	return b.String()
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// arraySpec writes task indices as sbatch's --array list: 0-3,5,7-9.
func arraySpec(idx []int) string {
	idx = slices.Sorted(slices.Values(idx))
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(idx[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// SubmitSlurm writes DIR/sweep.sbatch for the combinations not yet done nor queued, and submits
// it unless dryRun.
func (s *Sweep) SubmitSlurm(o SlurmOptions, dryRun bool) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the deepretina binary for the tasks: %w", err)
	}
	states := InspectSweep(s.Out, s.Plan, QuerySlurm(s.Out, s.Plan))
	todo, done, elsewhere := s.todo(states)
	if len(todo) == 0 {
		fmt.Printf("nothing to submit: of %d combinations, %d are done and %d running or queued\n", len(states), done, elsewhere)
		return nil
	}
	tasks := arraySpec(todo)
	path := filepath.Join(s.Out, sbatchFile)
	if err := os.WriteFile(path, []byte(s.sbatchScript(exe, tasks, o)), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if dryRun {
		fmt.Printf("wrote %s: %d tasks (%s) of %d combinations, %d done, %d running or queued\nsubmit it with: sbatch %s\n",
			path, len(todo), tasks, len(states), done, elsewhere, path)
		return nil
	}
	cmd := exec.Command("sbatch", "--parsable", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("sbatch not found: is this a Slurm login node? (%s is written; --dry-run only writes it)", path)
		}
		return fmt.Errorf("sbatch %s: %v: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(outb)), ";")
	if _, err := strconv.Atoi(id); err != nil {
		return fmt.Errorf("sbatch %s: unexpected answer %q", path, outb)
	}
	err = withPlanLock(s.Out, func() error {
		p, err := ReadPlan(s.Out)
		if err != nil {
			return err
		}
		p.Slurm = append(p.Slurm, slurmJob{JobID: id, Tasks: tasks, Submitted: time.Now().UTC().Truncate(time.Second)})
		return writePlan(s.Out, p)
	})
	if err != nil {
		return err
	}
	fmt.Printf("submitted Slurm job %s: %d tasks (%s) of %d combinations (%d done, %d running or queued)\n", id, len(todo), tasks, len(states), done, elsewhere)
	fmt.Printf("follow it with: deepretina sweep status %s\n", s.Out)
	return nil
}

// SlurmTask is what Slurm says about one combination's latest task.
type SlurmTask struct {
	JobID  string // e.g. 1234_5
	State  string // RUNNING, PENDING, FAILED, TIMEOUT, CANCELLED, COMPLETED, …
	Reason string // why it is pending, or the node it runs on
}

// QuerySlurm asks squeue (and sacct, where accounting is on) about the sweep's tasks, found by
// their job name; it returns nil where Slurm's commands are absent.
func QuerySlurm(out string, plan *SweepPlan) map[int]SlurmTask {
	name := jobName(out)
	since := plan.Created.Add(-time.Hour).Local().Format("2006-01-02T15:04:05")
	acct, acctErr := exec.Command("sacct", "--noheader", "--parsable2", "--allocations", "--name="+name,
		"--starttime="+since, "--format=JobID,State,ExitCode").Output()
	queue, queueErr := exec.Command("squeue", "--noheader", "--array", "--name="+name, "--format=%i|%K|%T|%r|%N").Output()
	if acctErr != nil && queueErr != nil {
		return nil
	}
	tasks := map[int]SlurmTask{}
	if acctErr == nil {
		ParseSacct(tasks, string(acct))
	}
	if queueErr == nil {
		ParseSqueue(tasks, string(queue)) // newer than accounting: it overrides
	}
	return tasks
}

// ParseSacct reads `sacct --parsable2 --format=JobID,State,ExitCode` lines; a task's last line
// is its latest attempt.
func ParseSacct(tasks map[int]SlurmTask, text string) {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) < 3 {
			continue
		}
		if i, ok := arrayIndex(f[0]); ok {
			state, _, _ := strings.Cut(f[1], " ") // "CANCELLED by 0"
			tasks[i] = SlurmTask{JobID: f[0], State: state, Reason: "exit code " + f[2]}
		}
	}
}

// ParseSqueue reads `squeue --array --format=%i|%K|%T|%r|%N` lines.
func ParseSqueue(tasks map[int]SlurmTask, text string) {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) < 5 {
			continue
		}
		i, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		reason := f[3]
		if f[2] == "RUNNING" {
			reason = "on " + f[4]
		}
		tasks[i] = SlurmTask{JobID: f[0], State: f[2], Reason: reason}
	}
}

// arrayIndex reads the task index of an array job id "1234_5" (not "1234_[6-9]").
func arrayIndex(jobID string) (int, bool) {
	_, idx, ok := strings.Cut(jobID, "_")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(idx)
	return i, err == nil
}
