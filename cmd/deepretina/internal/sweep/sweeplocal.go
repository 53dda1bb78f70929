package sweep

import (
	stdcontext "context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/retina"
)

// ExitHeld is the exit status of a command that stopped because another process holds the run
// it was to train (a sweep's worker counts that combination as running elsewhere, not failed).
const ExitHeld = 75

// RunLocal trains the sweep's unfinished combinations with n worker processes, each a
// `deepretina train --index I`, and prints the sweep's status at the end.
func (s *Sweep) RunLocal(ctx stdcontext.Context, n int) error {
	exe := s.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("find the deepretina binary for the workers: %w", err)
		}
	}
	states := InspectSweep(s.Out, s.Plan, nil)
	todo, done, elsewhere := s.todo(states)
	gpus := visibleGPUs()
	fmt.Printf("sweep of %d combinations in %s: %d done, %d running elsewhere, %d to train with %d worker(s)%s\n",
		len(states), s.Out, done, elsewhere, len(todo), n, gpuNote(n, gpus))
	jobs := make(chan int)
	var mu sync.Mutex // one line at a time on stdout
	var failed []string
	interrupted := false
	var wg sync.WaitGroup
	for slot := range min(n, max(1, len(todo))) {
		wg.Go(func() {
			for i := range jobs {
				name := s.Plan.Runs[i].ExpName
				start := time.Now()
				mu.Lock()
				fmt.Printf("[worker %d] %d %s: training (log %s)\n", slot+1, i, name, s.logPath(name))
				mu.Unlock()
				runErr := s.runWorker(ctx, exe, i, slot, gpus)
				mu.Lock()
				secs := time.Since(start).Round(time.Second)
				var exit *exec.ExitError
				switch {
				case runErr == nil:
					msg := "done"
					if ev, err := readEvalSummary(filepath.Join(s.Out, name, outputs.EvalFile)); err == nil {
						msg += fmt.Sprintf(": CNN r %.3f", ev.CNNPearsonMean)
					}
					fmt.Printf("[worker %d] %d %s: %s (%s)\n", slot+1, i, name, msg, secs)
				case errors.As(runErr, &exit) && exit.ExitCode() == 130 || ctx.Err() != nil:
					interrupted = true
					fmt.Printf("[worker %d] %d %s: interrupted, checkpoint saved (%s)\n", slot+1, i, name, secs)
				case errors.As(runErr, &exit) && exit.ExitCode() == ExitHeld:
					// Another process (another sweep into this folder) trains it: not a failure.
					fmt.Printf("[worker %d] %d %s: running elsewhere: %s\n", slot+1, i, name, lastLine(s.logPath(name)))
				default:
					failed = append(failed, name)
					why := lastLine(s.logPath(name))
					if _, err := os.Stat(FailedPath(s.Out, name)); err != nil { // it failed before it could say so
						RecordFailure(s.Out, name, fmt.Errorf("%v: %s", runErr, why))
					}
					fmt.Printf("[worker %d] %d %s: FAILED (%v): %s\n", slot+1, i, name, runErr, why)
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, i := range todo {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	fmt.Println()
	if err := PrintStatus(os.Stdout, s.Out, s.Plan, InspectSweep(s.Out, s.Plan, nil)); err != nil {
		return err
	}
	if interrupted || ctx.Err() != nil {
		return retina.ErrInterrupted
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d combinations failed (%s); their logs are in %s", len(failed), len(todo),
			strings.Join(failed, ", "), filepath.Join(s.Out, outputs.LogsDir))
	}
	return nil
}

// runWorker runs one combination as a child process, its output appended to its log. When ctx
// ends the child gets SIGTERM, so it saves a checkpoint before it stops.
func (s *Sweep) runWorker(ctx stdcontext.Context, exe string, index, slot int, gpus []string) error {
	name := s.Plan.Runs[index].ExpName
	log, err := os.OpenFile(s.logPath(name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.CommandContext(ctx, exe, s.taskArgs(strconv.Itoa(index))...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = os.Environ()
	device := ""
	if gpu := gpuFor(slot, gpus); gpu != "" {
		cmd.Env = append(cmd.Env, "CUDA_VISIBLE_DEVICES="+gpu)
		device = " CUDA_VISIBLE_DEVICES=" + gpu
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Minute
	fmt.Fprintf(log, "=== %s worker %d%s: %s %s\n", time.Now().Format(time.DateTime), slot+1, device, exe, strings.Join(cmd.Args[1:], " "))
	return cmd.Run()
}

// DescribeLocal says what --local would run, for --dry-run.
func (s *Sweep) DescribeLocal(n int) error {
	states := InspectSweep(s.Out, s.Plan, nil)
	todo, done, elsewhere := s.todo(states)
	exe, _ := os.Executable()
	fmt.Printf("wrote %s: %d combinations, %d done, %d running elsewhere; %d worker(s)%s would run:\n",
		filepath.Join(s.Out, outputs.PlanFile), len(states), done, elsewhere, n, gpuNote(n, visibleGPUs()))
	const shown = 20 // a large grid is not listed line by line
	for _, i := range todo[:min(len(todo), shown)] {
		fmt.Printf("  %s %s\n", exe, strings.Join(s.taskArgs(strconv.Itoa(i)), " "))
	}
	if len(todo) > shown {
		fmt.Printf("  … and %d more (every combination is in %s)\n", len(todo)-shown, filepath.Join(s.Out, outputs.PlanFile))
	}
	return nil
}

func (s *Sweep) logPath(name string) string {
	return filepath.Join(s.Out, outputs.LogsDir, name+".log")
}

// visibleGPUs lists the GPUs the workers may use: those CUDA_VISIBLE_DEVICES names when it is
// set, else those nvidia-smi finds, else none.
func visibleGPUs() []string {
	if v, ok := os.LookupEnv("CUDA_VISIBLE_DEVICES"); ok {
		return splitList(v)
	}
	out, err := exec.Command("nvidia-smi", "--query-gpu=index", "--format=csv,noheader").Output()
	if err != nil {
		return nil
	}
	return splitList(strings.ReplaceAll(string(out), "\n", ","))
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" && f != "-1" {
			out = append(out, f)
		}
	}
	return out
}

// gpuFor is the device of worker slot: one GPU each, round robin when workers outnumber GPUs.
func gpuFor(slot int, gpus []string) string {
	if len(gpus) == 0 {
		return ""
	}
	return gpus[slot%len(gpus)]
}

func gpuNote(workers int, gpus []string) string {
	switch {
	case len(gpus) == 0:
		return ""
	case workers > len(gpus):
		return fmt.Sprintf(" (%d GPUs: workers share them round robin)", len(gpus))
	}
	return fmt.Sprintf(", one GPU each (%s)", strings.Join(gpus[:workers], ","))
}

// lastLine returns the last non-empty line of a log, where a failed command says why.
func lastLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(data), "\r", "\n")), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
