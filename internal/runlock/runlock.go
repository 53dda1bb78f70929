// Package runlock gives one process at a time a folder (a training run) or a file (a results
// table), across processes and, on a shared filesystem that supports locks, across hosts.
//
// A lock is a file holding its owner's pid, host and start time, with an flock(2) on it. The
// kernel drops the flock when its process dies, however it dies, so a lock left behind by a
// killed process is recognised as stale and taken over; the file's record names the holder in
// the message a second process gets. On a filesystem without flock, the record alone decides:
// a holder on this host whose pid is gone is stale.
//
//	l, err := runlock.Acquire(filepath.Join(runDir, runlock.FileName))
//	var held *runlock.HeldError
//	if errors.As(err, &held) {
//		return err // "… is in use by pid 4242 on host node7 since 2026-11-26 10:04:05 (deepretina train …)"
//	}
//	defer l.Release()
package runlock

import (
	"bytes"
	stdcontext "context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// FileName is the lock file's name inside a run folder.
const FileName = ".lock"

// Holder identifies the process that holds (or held) a lock.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Since   time.Time `json:"since"`
	Command string    `json:"command,omitempty"`
}

func (h Holder) String() string {
	if h.PID == 0 {
		return "another process (which has not written its pid yet)"
	}
	return fmt.Sprintf("pid %d on host %s since %s", h.PID, h.Host, h.Since.Local().Format("2006-01-02 15:04:05"))
}

// HeldError reports a lock that another live process holds.
type HeldError struct {
	Path   string
	Holder Holder
	// Unverified is set when the lock could not be tested with flock and the holder runs on
	// another host, so whether it still runs is unknown.
	Unverified bool
}

func (e *HeldError) Error() string {
	what := filepath.Dir(e.Path)
	msg := fmt.Sprintf("%s is in use by %s", what, e.Holder)
	if e.Holder.Command != "" {
		msg += " (" + e.Holder.Command + ")"
	}
	if e.Unverified {
		msg += fmt.Sprintf("; this filesystem has no locks, so if that process is gone, remove %s", e.Path)
	}
	return msg
}

// Lock is a held lock; Release gives it up.
type Lock struct {
	path  string
	file  *os.File
	stale *Holder
}

// Stale returns the holder of a lock that was left behind by a process that died without
// releasing it, and that this lock took over; nil if the lock was free.
func (l *Lock) Stale() *Holder { return l.stale }

// Path is the lock file.
func (l *Lock) Path() string { return l.path }

// Acquire takes the lock at path (a file, created if needed) or returns a *HeldError naming the
// live process that holds it.
func Acquire(path string) (*Lock, error) {
	var last error
	for range 100 {
		l, retry, err := try(path)
		if !retry {
			return l, err
		}
		last = err
		time.Sleep(10 * time.Millisecond)
	}
	if last == nil {
		last = fmt.Errorf("lock %s: the lock file keeps being replaced", path)
	}
	return nil, last
}

// Wait takes the lock at path, waiting while another process holds it, until ctx is done.
func Wait(ctx stdcontext.Context, path string) (*Lock, error) {
	delay := time.Millisecond
	for {
		l, err := Acquire(path)
		var held *HeldError
		if !errors.As(err, &held) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w", err, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// try makes one attempt. retry is set when the outcome is not yet clear: the file was replaced
// under us, or its flock is held by a process that has not written its record yet (or by a
// Holding probe, which never writes one).
func try(path string) (l *Lock, retry bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	defer func() {
		if l == nil {
			f.Close()
		}
	}()
	flockErr := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	prev, havePrev := readHolder(f)
	switch {
	case flockErr == nil:
	case errors.Is(flockErr, syscall.EWOULDBLOCK):
		held := &HeldError{Path: path, Holder: prev}
		if havePrev && (prev.Host != hostname() || alive(prev.PID)) {
			return nil, false, held
		}
		return nil, true, held
	case errors.Is(flockErr, syscall.ENOLCK), errors.Is(flockErr, syscall.EOPNOTSUPP), errors.Is(flockErr, syscall.ENOSYS):
		if held := recordHolds(path, prev, havePrev, hostname()); held != nil {
			return nil, false, held
		}
	default:
		return nil, false, fmt.Errorf("lock %s: %w", path, flockErr)
	}
	// The file may have been released (and removed) between our open and our flock: then we
	// hold a lock on a file nobody else will look at. Start again on the current one.
	if same, err := samePath(f, path); err != nil || !same {
		return nil, err == nil, err
	}
	l = &Lock{path: path, file: f}
	if havePrev {
		l.stale = &prev // a holder releases by removing the file: this one died holding it
	}
	// The record only names the holder in others' messages: a full disk must not stop a run
	// that holds the lock (it then fails, clearly, where it writes its own files).
	_ = l.writeRecord()
	return l, false, nil
}

func (l *Lock) writeRecord() error {
	me := Holder{PID: os.Getpid(), Host: hostname(), Since: time.Now().UTC().Truncate(time.Second), Command: command()}
	data, _ := json.Marshal(me)
	data = append(data, '\n')
	if err := l.file.Truncate(0); err != nil {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	if _, err := l.file.WriteAt(data, 0); err != nil {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	if err := l.file.Sync(); err != nil {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	return nil
}

// Release removes the lock file and gives up the lock. Safe to call more than once.
func (l *Lock) Release() error {
	if l == nil || l.file == nil {
		return nil
	}
	// Remove while still holding the flock, so nobody takes over a file about to vanish.
	err := os.Remove(l.path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if cerr := l.file.Close(); err == nil {
		err = cerr
	}
	l.file = nil
	if err != nil {
		return fmt.Errorf("release lock %s: %w", l.path, err)
	}
	return nil
}

// Holding reports who holds the lock at path, without taking it: nil when it is free (a record
// left by a process that died is no holder).
func Holding(path string) (*Holder, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	defer f.Close()
	// A shared lock tests for an exclusive holder; it never blocks an acquirer for long, since
	// Acquire retries while the flock's owner has written no live record.
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		return nil, nil
	}
	h, ok := readHolder(f)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		if !ok {
			h = Holder{Host: "unknown"} // taken this instant; its record is not written yet
		}
		return &h, nil
	}
	if held := recordHolds(path, h, ok, hostname()); held != nil {
		return &held.Holder, nil
	}
	return nil, nil
}

// recordHolds decides, on a filesystem without flock, whether the record of a previous holder
// still holds the lock: yes for a live process on this host, and for any process on another host
// (whose liveness cannot be checked from here).
func recordHolds(path string, prev Holder, havePrev bool, host string) *HeldError {
	switch {
	case !havePrev:
		return nil
	case prev.Host != host:
		return &HeldError{Path: path, Holder: prev, Unverified: true}
	case alive(prev.PID):
		return &HeldError{Path: path, Holder: prev}
	}
	return nil
}

func readHolder(f *os.File) (Holder, bool) {
	data := make([]byte, 4096)
	n, _ := f.ReadAt(data, 0)
	var h Holder
	if err := json.Unmarshal(bytes.TrimSpace(data[:n]), &h); err != nil || h.PID == 0 {
		return Holder{}, false
	}
	return h, true
}

func samePath(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", path, err)
	}
	pi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", path, err)
	}
	return os.SameFile(fi, pi), nil
}

// alive reports whether a process with this pid exists on this host.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

func command() string {
	args := os.Args
	if len(args) == 0 {
		return ""
	}
	s := filepath.Base(args[0])
	if len(args) > 1 {
		s += " " + strings.Join(args[1:], " ")
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
