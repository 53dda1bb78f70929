package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// errSignal is the error of a command other than train stopped by Ctrl-C or SIGTERM: main
// exits with status 130 on it, as on train's errInterrupted.
var errSignal = errors.New("interrupted by a signal (Ctrl-C or SIGTERM)")

// interruptGrace is how long an interrupted command waits for its work to stop by itself
// (work that watches the context saves or cleans up first) before it gives the work up.
const interruptGrace = 2 * time.Second

// untilInterrupted runs work and returns its error, unless ctx ends first (Ctrl-C, SIGTERM:
// main's context): then it returns an error wrapping errSignal (exit status 130) within
// interruptGrace, whether or not the work watches ctx, and the command writes nothing. what
// names the work in the message. Work that ended as the signal came counts as interrupted too:
// its results are not written.
func untilInterrupted(ctx context.Context, what string, work func() error) error {
	if ctx == nil {
		ctx = context.Background()
	}
	done := make(chan error, 1)
	go func() { done <- work() }()
	select {
	case err := <-done:
		if ctx.Err() == nil {
			return err
		}
	case <-ctx.Done():
		select {
		case <-done:
		case <-time.After(interruptGrace):
		}
	}
	return fmt.Errorf("%s stopped before it finished (its results are written only when complete): %w", what, errSignal)
}

// checkInterrupted returns the interruption error once ctx has ended, before a command writes
// its results.
func checkInterrupted(ctx context.Context, what string) error {
	if ctx != nil && ctx.Err() != nil {
		return fmt.Errorf("%s stopped before it finished (its results are written only when complete): %w", what, errSignal)
	}
	return nil
}
