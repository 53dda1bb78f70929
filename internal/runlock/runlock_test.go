package runlock

import (
	"bufio"
	stdcontext "context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests run this test binary again as the other processes: RUNLOCK_HELPER selects what the
// helper does.
func TestMain(m *testing.M) {
	if mode := os.Getenv("RUNLOCK_HELPER"); mode != "" {
		os.Exit(helper(mode, os.Getenv("RUNLOCK_PATH")))
	}
	os.Exit(m.Run())
}

func helper(mode, path string) int {
	switch mode {
	case "hold": // take the lock, say so, hold it until stdin closes, release
		l, err := Acquire(path)
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("locked")
		_, _ = io.Copy(io.Discard, os.Stdin)
		if err := l.Release(); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		return 0
	case "count": // 40 read-increment-write cycles of a counter file, each under the lock
		counter := path + ".counter"
		for range 40 {
			l, err := Wait(stdcontext.Background(), path)
			if err != nil {
				fmt.Println("error:", err)
				return 1
			}
			data, _ := os.ReadFile(counter)
			n, _ := strconv.Atoi(strings.TrimSpace(string(data)))
			time.Sleep(100 * time.Microsecond) // widen the window a missing lock would show
			if err := os.WriteFile(counter, []byte(strconv.Itoa(n+1)), 0o644); err != nil {
				fmt.Println("error:", err)
				return 1
			}
			if err := l.Release(); err != nil {
				fmt.Println("error:", err)
				return 1
			}
		}
		return 0
	}
	return 2
}

// holder is another process holding the lock at path until release or kill.
type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startHolder(t *testing.T, path string) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RUNLOCK_HELPER=hold", "RUNLOCK_PATH="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper did not take the lock: %q", line)
	}
	return &holder{cmd: cmd, stdin: stdin}
}

func (h *holder) release(t *testing.T) {
	t.Helper()
	h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
}

func TestSecondProcessIsRefusedNamingTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	h := startHolder(t, path)
	_, err := Acquire(path)
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("Acquire while another process holds the lock: %v", err)
	}
	host, _ := os.Hostname()
	if held.Holder.PID != h.cmd.Process.Pid || held.Holder.Host != host || time.Since(held.Holder.Since) > time.Minute {
		t.Fatalf("holder %+v, want pid %d on %s, recently", held.Holder, h.cmd.Process.Pid, host)
	}
	for _, want := range []string{fmt.Sprintf("pid %d", h.cmd.Process.Pid), "host " + host, "since", filepath.Dir(path)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if got, err := Holding(path); err != nil || got == nil || got.PID != h.cmd.Process.Pid {
		t.Errorf("Holding: %+v, %v", got, err)
	}
	h.release(t)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("released lock file still there: %v", err)
	}
	if got, err := Holding(path); err != nil || got != nil {
		t.Errorf("Holding after release: %+v, %v", got, err)
	}
	l, err := Acquire(path)
	if err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	if l.Stale() != nil {
		t.Errorf("a released lock reported as stale: %+v", l.Stale())
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestLockOfAKilledProcessIsTakenOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	h := startHolder(t, path)
	pid := h.cmd.Process.Pid
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	_ = h.cmd.Wait()
	if got, err := Holding(path); err != nil || got != nil {
		t.Fatalf("Holding after the holder died: %+v, %v", got, err)
	}
	l, err := Acquire(path)
	if err != nil {
		t.Fatalf("Acquire after the holder was killed: %v", err)
	}
	defer l.Release()
	if s := l.Stale(); s == nil || s.PID != pid {
		t.Fatalf("stale holder %+v, want pid %d", s, pid)
	}
	// The new record names this process.
	_, err = Acquire(path)
	var held *HeldError
	if !errors.As(err, &held) || held.Holder.PID != os.Getpid() {
		t.Fatalf("second Acquire in the new holder's process: %v", err)
	}
}

func TestWaitTakesTheLockOnceFree(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	h := startHolder(t, path)
	done := make(chan error, 1)
	go func() {
		l, err := Wait(stdcontext.Background(), path)
		if err == nil {
			err = l.Release()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Wait returned while the lock was held: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	h.release(t)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after the holder released")
	}
	ctx, cancel := stdcontext.WithTimeout(stdcontext.Background(), 100*time.Millisecond)
	defer cancel()
	startHolder(t, path)
	if _, err := Wait(ctx, path); !errors.Is(err, stdcontext.DeadlineExceeded) || !strings.Contains(err.Error(), "in use by pid") {
		t.Fatalf("Wait past its deadline: %v", err)
	}
}

// Eight processes increment one counter 40 times each, every increment under the lock: a lock
// that let two in at once would lose increments.
func TestEightProcessesExcludeEachOther(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.lock")
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "RUNLOCK_HELPER=count", "RUNLOCK_PATH="+path)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Sprintf("%v: %s", err, out)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	data, err := os.ReadFile(path + ".counter")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(string(data)); n != 8*40 {
		t.Fatalf("counter %s after 8×40 locked increments", data)
	}
}

func TestRecordDecidesWithoutFlock(t *testing.T) {
	me := Holder{PID: os.Getpid(), Host: "here", Since: time.Now()}
	dead := startAndReap(t)
	cases := []struct {
		name       string
		prev       Holder
		have       bool
		held       bool
		unverified bool
	}{
		{"no record", Holder{}, false, false, false},
		{"live process on this host", me, true, true, false},
		{"dead process on this host", Holder{PID: dead, Host: "here"}, true, false, false},
		{"process on another host", Holder{PID: dead, Host: "elsewhere"}, true, true, true},
	}
	for _, c := range cases {
		got := recordHolds("/runs/x/.lock", c.prev, c.have, "here")
		if (got != nil) != c.held || (got != nil && got.Unverified != c.unverified) {
			t.Errorf("%s: %+v", c.name, got)
		}
		if got != nil && c.unverified && !strings.Contains(got.Error(), "remove /runs/x/.lock") {
			t.Errorf("%s: message %q does not say how to clear it", c.name, got)
		}
	}
}

// startAndReap returns the pid of a process that has exited.
func startAndReap(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}
