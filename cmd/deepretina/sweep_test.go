package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/sweep"
	"github.com/deepretina/deepretina/internal/results"
	"github.com/deepretina/deepretina/internal/runlock"
)

// runEnv runs the binary with this process's environment plus extra: the engine choice
// (GOMLX_BACKEND) passes through untouched, to the Slurm tasks as well.
func runEnv(t *testing.T, extra []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), extra...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// startSlurm starts a private one-node Slurm (scripts/slurm_up.sh) for the test and stops it
// at the end. A cluster that cannot start fails the test with the daemons' own errors.
// startSlurm starts a private one-node cluster for the test and returns the environment its
// commands need and the cluster's folder (state and daemon logs).
func startSlurm(t *testing.T) ([]string, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "deepretina-slurm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("../../scripts/slurm_down.sh", dir).CombinedOutput(); err != nil {
			t.Errorf("slurm_down.sh: %v\n%s", err, out)
		}
		os.RemoveAll(dir)
	})
	up := exec.Command("../../scripts/slurm_up.sh", dir)
	// Should the test binary die before its cleanup (a timeout), the cluster stops itself.
	up.Env = append(os.Environ(), fmt.Sprintf("SLURM_UP_OWNER=%d", os.Getpid()))
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("the test Slurm cluster did not start: %v\n%s", err, out)
	}
	return []string{"SLURM_CONF=" + filepath.Join(dir, "slurm.conf")}, dir
}

// logSlurm writes what the cluster says of a job (every state, not only the active ones) and
// the daemons' logs into the test's output: what a failed test needs to be understood.
func logSlurm(t *testing.T, env []string, dir, job string) {
	t.Helper()
	text, _ := slurmCmd(t, env, "squeue", "--noheader", "--states=all", "--jobs="+job, "--format=%i %T %r %S %e")
	t.Logf("squeue --states=all (id, state, reason, start, end):\n%s", text)
	text, _ = slurmCmd(t, env, "scontrol", "show", "job", job)
	t.Logf("scontrol show job %s:\n%s", job, text)
	for _, name := range []string{"slurmctld.log", "slurmd.log"} {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		t.Logf("%s (last %d lines):\n%s", name, min(80, len(lines)), strings.Join(lines[max(0, len(lines)-80):], "\n"))
	}
}

func slurmCmd(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// waitFor polls cond every 50 ms until it holds or the deadline passes.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	start := time.Now()
	defer func() { t.Logf("%s: %v", what, time.Since(start).Round(time.Second)) }()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sweepFiles writes a tiny base config and ranges of four combinations; the three-epoch ones
// leave time to interrupt them after their first checkpoint: two more epochs of 8,192 windows
// take several seconds even on XLA's CPU engine (at 128 windows an epoch took under a second,
// and a task could finish before Slurm's signal reached it).
func sweepFiles(t *testing.T, dir string) (cfg, ranges string, names []string) {
	cfg = tinyConfig(t, dir, `, "chans": [2, 2], "n_epochs": 1, "max_train_windows": 8192`)
	ranges = filepath.Join(dir, "ranges.json")
	if err := os.WriteFile(ranges, []byte(`{"seed": [1, 2], "n_epochs": [1, 3]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	names = []string{"tiny_n_epochs=1_seed=1", "tiny_n_epochs=1_seed=2", "tiny_n_epochs=3_seed=1", "tiny_n_epochs=3_seed=2"}
	return cfg, ranges, names
}

// csvRows returns results.csv's rows (without header), sorted, after checking that each of
// names has exactly one.
func csvRows(t *testing.T, out string, names []string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, results.CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	rows := lines[1:]
	var got []string
	for _, r := range rows {
		got = append(got, strings.SplitN(r, ",", 2)[0])
	}
	slices.Sort(got)
	if !slices.Equal(got, names) {
		t.Fatalf("%s: rows for %v, want each of %v once:\n%s", out, got, names, data)
	}
	jrows, err := results.Read(out)
	if err != nil || len(jrows) != len(names) {
		t.Fatalf("results.json: %v, %d rows", err, len(jrows))
	}
	slices.Sort(rows)
	return rows
}

// A sweep of four combinations as a Slurm job array on a real (one-node) Slurm: one task is
// requeued mid-run and resumes from its checkpoint; every combination gets one row; status
// names the best; re-running submits nothing; --local 2 gives the same rows.
func TestSweepOnSlurmAndLocally(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Slurm (slurm-wlm, munge) and root to start a private cluster; runs in the full tier, scripts/test.sh")
	}
	data := simulated(t)
	env, slurmDir := startSlurm(t)
	work := t.TempDir()
	cfg, ranges, names := sweepFiles(t, work)
	out := filepath.Join(work, "slurm")
	args := []string{"sweep", "--ranges", ranges, "--config", cfg, "--data", data, "--no-ln", "--out", out}
	text, err := runEnv(t, env, append(args, "--slurm", "--cpus-per-task", "1")...)
	if err != nil {
		t.Fatalf("sweep --slurm: %v\n%s", err, text)
	}
	m := regexp.MustCompile(`submitted Slurm job (\d+): 4 tasks \(0-3\)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("sweep --slurm did not print the job id of 4 tasks:\n%s", text)
	}
	job := m[1]
	defer func() {
		if t.Failed() { // what the tasks and the cluster said
			logs, _ := filepath.Glob(filepath.Join(out, "logs", "slurm-*.out"))
			for _, l := range logs {
				data, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", l, data)
			}
			logSlurm(t, env, slurmDir, job)
		}
	}()
	script, _ := os.ReadFile(filepath.Join(out, "sweep.sbatch"))
	if !strings.Contains(string(script), "#SBATCH --array=0-3") || !strings.Contains(string(script), "#SBATCH --cpus-per-task=1") {
		t.Errorf("sweep.sbatch:\n%s", script)
	}

	// Preempt combination 2 once its first epoch is saved: Slurm stops it (SIGTERM) and queues
	// it again; it must resume, not restart.
	waitFor(t, "the first checkpoint of combination 2", 4*time.Minute, func() bool {
		_, err := os.Stat(filepath.Join(out, names[2], "checkpoints", "epoch-0001"))
		return err == nil
	})
	if text, err := slurmCmd(t, env, "scontrol", "requeue", job+"_2"); err != nil {
		t.Fatalf("scontrol requeue: %v\n%s", err, text)
	}
	// The stopped instance saves, says so and releases the run's lock as it exits; Slurm starts
	// the requeued task again once its credential has expired (slurm_up.sh: cred_expire=30,
	// 120 s by default). Forcing an earlier start (scontrol update StartTime=now) makes slurmd
	// refuse the launch ("Job credential revoked") and the task fail without running.
	waitFor(t, "the stopped task to save and wait in the queue", 2*time.Minute, func() bool {
		text, _ := slurmCmd(t, env, "squeue", "--noheader", "--jobs="+job+"_2", "--format=%T")
		holder, _ := runlock.Holding(filepath.Join(out, names[2], runlock.FileName))
		taskLog, _ := os.ReadFile(filepath.Join(out, "logs", "slurm-"+job+"_2.out"))
		return strings.TrimSpace(text) == "PENDING" && holder == nil && strings.Contains(string(taskLog), "training interrupted")
	})
	waitFor(t, "the job array to finish", 5*time.Minute, func() bool {
		text, err := slurmCmd(t, env, "squeue", "--noheader", "--jobs="+job, "--format=%i")
		return err == nil && strings.TrimSpace(text) == ""
	})
	if t.Failed() {
		return
	}
	slurmRows := csvRows(t, out, names)

	taskLog, _ := os.ReadFile(filepath.Join(out, "logs", "slurm-"+job+"_2.out"))
	for _, want := range []string{"DUE TO JOB REQUEUE", "checkpoint saved", "resuming " + filepath.Join(out, names[2]) + " from epoch-0001"} {
		if !strings.Contains(string(taskLog), want) {
			t.Errorf("requeued task's log lacks %q:\n%s", want, taskLog)
		}
	}
	if r := readRun(t, filepath.Join(out, names[2])); len(r.History) != 3 || r.History[0].Epoch != 1 || r.History[2].Epoch != 3 {
		t.Errorf("requeued run's history: %+v", r.History)
	}

	status, err := runEnv(t, env, "sweep", "status", out)
	if err != nil {
		t.Fatalf("sweep status: %v\n%s", err, status)
	}
	rows, _ := results.Read(out)
	best := rows[0]
	for _, r := range rows {
		if r.CNNPearsonMean > best.CNNPearsonMean {
			best = r
		}
	}
	for _, want := range []string{"4 done, 0 running, 0 failed, 0 not started", "best so far: " + best.ExpName} {
		if !strings.Contains(status, want) {
			t.Errorf("sweep status lacks %q:\n%s", want, status)
		}
	}

	// Submitting the finished sweep again starts nothing and adds no row.
	if text, err := runEnv(t, env, append(args, "--slurm")...); err != nil || !strings.Contains(text, "nothing to submit") {
		t.Errorf("re-submitting a finished sweep: %v\n%s", err, text)
	}
	csvRows(t, out, names)

	// Two local workers: stopped (SIGTERM, as Ctrl-C) once combination 2 has its first
	// checkpoint, the sweep saves and exits; run again, it resumes and gives Slurm's rows.
	local := filepath.Join(work, "local")
	largs := []string{"sweep", "--ranges", ranges, "--config", cfg, "--data", data, "--no-ln", "--out", local, "--local", "2"}
	sw := exec.Command(binary, largs...)
	sw.Env = append(os.Environ(), env...)
	var buf syncBuffer
	sw.Stdout, sw.Stderr = &buf, &buf
	if err := sw.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first local checkpoint of combination 2", 4*time.Minute, func() bool {
		_, err := os.Stat(filepath.Join(local, names[2], "checkpoints", "epoch-0001"))
		return err == nil
	})
	_ = sw.Process.Signal(syscall.SIGTERM)
	var exit *exec.ExitError
	if err := sw.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 130 || !strings.Contains(buf.String(), names[2]+": interrupted, checkpoint saved") {
		t.Fatalf("stopped local sweep: %v\n%s", err, buf.String())
	}
	if text, _ := runEnv(t, env, "sweep", "status", local); !strings.Contains(text, "interrupted") {
		t.Errorf("status of the stopped sweep:\n%s", text)
	}
	if text, err := runEnv(t, env, largs...); err != nil {
		t.Fatalf("sweep --local 2, resumed: %v\n%s", err, text)
	}
	if log, _ := os.ReadFile(filepath.Join(local, "logs", names[2]+".log")); !strings.Contains(string(log), "resuming") {
		t.Errorf("combination 2 did not resume:\n%s", log)
	}
	if got := csvRows(t, local, names); !slices.Equal(got, slurmRows) {
		t.Errorf("--local 2 rows differ from Slurm's:\n%s\n%s", strings.Join(got, "\n"), strings.Join(slurmRows, "\n"))
	}
	text, err = runEnv(t, env, largs...)
	if err != nil || !strings.Contains(text, "4 done, 0 running elsewhere, 0 to train") {
		t.Errorf("re-running a finished local sweep: %v\n%s", err, text)
	}
	csvRows(t, local, names)
}

// Planning needs no training: the plan, the Slurm script and --sample's draw, and the errors.
func TestSweepPlansAndChecksItsInput(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	work := t.TempDir()
	cfg := tinyConfig(t, work, "")
	ranges := filepath.Join(work, "ranges.json")
	_ = os.WriteFile(ranges, []byte(`{"seed": [1, 2, 3], "lr": [0.001, 0.002, 0.004]}`), 0o644)
	out := filepath.Join(work, "runs")
	base := []string{"sweep", "--ranges", ranges, "--config", cfg, "--out", out}

	text, err := run(t, append(base, "--slurm", "--dry-run", "--partition", "gpu", "--time", "2:00:00",
		"--gpus-per-task", "1", "--cpus-per-task", "4", "--mem", "16G")...)
	if err != nil || !strings.Contains(text, "9 tasks (0-8)") {
		t.Fatalf("--slurm --dry-run: %v\n%s", err, text)
	}
	script, err := os.ReadFile(filepath.Join(out, "sweep.sbatch"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#SBATCH --array=0-8", "#SBATCH --partition=gpu", "#SBATCH --time=2:00:00",
		"#SBATCH --gpus-per-task=1", "#SBATCH --cpus-per-task=4", "#SBATCH --mem=16G", "#SBATCH --requeue",
		"exec " + binary + " train --config " + cfg + " --ranges " + ranges + ` --index "$SLURM_ARRAY_TASK_ID" --out ` + out} {
		if !strings.Contains(string(script), want) {
			t.Errorf("sweep.sbatch lacks %q:\n%s", want, script)
		}
	}
	plan := readPlanFile(t, out)
	if len(plan.Runs) != 9 || plan.Runs[4].ExpName != "tiny_lr=0.002_seed=2" || len(plan.Slurm) != 0 {
		t.Fatalf("plan: %+v", plan)
	}

	// --sample draws the same combinations for the same seed, others for another.
	draw := func(seed string) []string {
		t.Helper()
		if text, err := run(t, append(base, "--sample", "3", "--seed", seed, "--dry-run")...); err != nil {
			t.Fatalf("--sample: %v\n%s", err, text)
		}
		var names []string
		for _, r := range readPlanFile(t, out).Runs {
			names = append(names, r.ExpName)
		}
		return names
	}
	a, b, c := draw("5"), draw("5"), draw("6")
	if len(a) != 3 || !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Errorf("--sample 3: seed 5 gave %v then %v, seed 6 %v", a, b, c)
	}
	if text, _ := run(t, append(base, "--sample", "3", "--seed", "5", "--local", "2", "--dry-run")...); !strings.Contains(text, "--sample 3 --seed 5") {
		t.Errorf("the workers' command lines do not carry the draw:\n%s", text)
	}

	// A task refuses to train when the files changed since the sweep was planned.
	tinyConfig(t, work, `, "batch_size": 16`)
	text, err = run(t, "train", "--ranges", ranges, "--config", cfg, "--sample", "3", "--seed", "5", "--index", "1", "--out", out)
	if err == nil || !strings.Contains(text, "batch_size: planned 32, now 16") || !strings.Contains(text, "plan the sweep again") {
		t.Errorf("train --index after the ranges changed: %v\n%s", err, text)
	}

	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"no ranges", []string{"sweep", "--out", out}, []string{"--ranges is required"}},
		{"no workers", append(base, "--local", "0"), []string{"--local 0"}},
		{"local and slurm", append(base, "--local", "2", "--slurm"), []string{"--local and --slurm"}},
		{"slurm option without slurm", append(base, "--partition", "gpu"), []string{"--partition", "--slurm"}},
		{"bad time", append(base, "--slurm", "--dry-run", "--time", "1 day"), []string{"--time", "single word"}},
		{"seed without sample", append(base, "--seed", "3"), []string{"--seed", "--sample"}},
		{"sample too large", append(base, "--sample", "20", "--dry-run"), []string{"--sample 20", ranges, "9 combinations"}},
		{"index out of range", []string{"train", "--ranges", ranges, "--index", "9", "--out", out}, []string{"--index 9", "0 to 8"}},
		{"status without a sweep", []string{"sweep", "status", work}, []string{work, "no sweep planned", "sweep.json"}},
	}
	for _, c := range cases {
		text, err := run(t, c.args...)
		if err == nil {
			t.Errorf("%s: succeeded:\n%s", c.name, text)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: output lacks %q:\n%s", c.name, w, text)
			}
		}
	}
}

func readPlanFile(t *testing.T, out string) sweep.SweepPlan {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p sweep.SweepPlan
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// sweep status reads each combination's state from its run folder, the failure notes and
// Slurm's answers; nothing needs to train for that.
func TestSweepStatusStates(t *testing.T) {
	work := t.TempDir()
	cfg := tinyConfig(t, work, "")
	ranges := filepath.Join(work, "ranges.json")
	_ = os.WriteFile(ranges, []byte(`{"seed": [1, 2, 3, 4, 5, 6, 7]}`), 0o644)
	out := filepath.Join(work, "runs")
	if text, err := run(t, "sweep", "--ranges", ranges, "--config", cfg, "--out", out, "--dry-run"); err != nil {
		t.Fatalf("plan: %v\n%s", err, text)
	}
	plan, err := sweep.ReadPlan(out)
	if err != nil {
		t.Fatal(err)
	}
	dir := func(i int) string { return filepath.Join(out, plan.Runs[i].ExpName) }
	// 0: not started. 1: failed, as its worker noted. 2: interrupted, with a checkpoint.
	sweep.RecordFailure(out, plan.Runs[1].ExpName, errors.New("data /nowhere: no such file"))
	_ = os.MkdirAll(filepath.Join(dir(2), "checkpoints", "epoch-0001"), 0o755)
	// 3: held by a live process (this one).
	_ = os.MkdirAll(dir(3), 0o755)
	lock, err := runlock.Acquire(filepath.Join(dir(3), runlock.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	// 4, 5, 6: what Slurm says: queued again with a checkpoint, timed out with one, running.
	_ = os.MkdirAll(filepath.Join(dir(5), "checkpoints", "epoch-0002-step-000004"), 0o755)
	_ = os.MkdirAll(filepath.Join(dir(4), "checkpoints", "epoch-0001"), 0o755)
	tasks := map[int]sweep.SlurmTask{}
	sweep.ParseSacct(tasks, "77_[4-6]|PENDING|0:0\n77_4|REQUEUED|0:0\n77_5|TIMEOUT|0:15\n77_6|CANCELLED by 0|0:15\nnot a line\n")
	sweep.ParseSqueue(tasks, "77_4|4|PENDING|BeginTime|\n77_6|6|RUNNING|None|node7\n77_[8-9]|N/A|PENDING|Resources|\n")
	if tasks[5].State != "TIMEOUT" || tasks[6].State != "RUNNING" || tasks[6].Reason != "on node7" || tasks[4].State != "PENDING" || len(tasks) != 3 {
		t.Fatalf("Slurm answers read as %+v", tasks)
	}
	want := []struct{ state, note string }{
		{sweep.StateNotStarted, ""},
		{sweep.StateFailed, "data /nowhere: no such file"},
		{sweep.StateInterrupted, "resumes from its checkpoint"},
		{sweep.StateRunning, fmt.Sprintf("pid %d on host", os.Getpid())},
		{sweep.StatePending, "Slurm task 77_4 (BeginTime)"},
		{sweep.StateFailed, "Slurm task 77_5 TIMEOUT"},
		{sweep.StateRunning, "Slurm task 77_6 on node7"},
	}
	states := sweep.InspectSweep(out, plan, tasks)
	for i, w := range want {
		if states[i].State != w.state || !strings.Contains(states[i].Note, w.note) {
			t.Errorf("combination %d: %s (%s), want %s (%s)", i, states[i].State, states[i].Note, w.state, w.note)
		}
	}
	// The command prints the same from the folders alone (no Slurm here).
	text, err := run(t, "sweep", "status", out)
	if err != nil {
		t.Fatalf("sweep status: %v\n%s", err, text)
	}
	for _, w := range []string{"0 done, 1 running, 3 interrupted, 1 failed, 2 not started", "best so far: none", "no such file"} {
		if !strings.Contains(text, w) {
			t.Errorf("sweep status lacks %q:\n%s", w, text)
		}
	}
}

func TestBadSweepPlansAreNamed(t *testing.T) {
	cases := []struct {
		name, content string
		want          []string
	}{
		{"not JSON", `{"format": 1, "runs": [`, []string{"sweep.json"}},
		{"another format", `{"format": 9, "runs": []}`, []string{"sweep.json", "format 9, expected 1"}},
		{"runs out of order", `{"format": 1, "runs": [{"index": 1, "exp_name": "a"}]}`, []string{"sweep.json", "run 0", "expected index 0"}},
		{"run without a name", `{"format": 1, "runs": [{"index": 0}]}`, []string{"sweep.json", "exp_name"}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "sweep.json"), []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		text, err := run(t, "sweep", "status", dir)
		if err == nil {
			t.Errorf("%s: accepted:\n%s", c.name, text)
			continue
		}
		for _, w := range append(c.want, dir) {
			if !strings.Contains(text, w) {
				t.Errorf("%s: %q lacks %q", c.name, text, w)
			}
		}
	}
}
