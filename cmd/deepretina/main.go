// Command deepretina trains convolutional models of retinal ganglion cells, evaluates them
// against the retina's reliability and an LN baseline, and simulates a ground-truth retina to
// train on.
//
//	deepretina simulate --out data            # the built-in simulated retina, in the lab's HDF5 layout
//	deepretina train --out runs               # the default BNCNN on the simulated "small" retina
//	deepretina eval --run runs/bncnn-small    # per-cell table + JSON summary
//	deepretina import --pt 15-10-07_naturalscene.pt --out runs/ref --data ~/data   # a torch-deep-retina checkpoint as a run
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/sweep"
	"github.com/deepretina/deepretina/internal/runlock"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "deepretina:", err)
		var held *runlock.HeldError
		switch {
		case errors.Is(err, errInterrupted) || errors.Is(err, errSignal):
			os.Exit(130)
		case errors.As(err, &held):
			os.Exit(sweep.ExitHeld)
		}
		os.Exit(1)
	}
}

// newRoot is the command tree (the README's command reference is tested against it).
func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "deepretina",
		Short:         "Deep-learning models of the retina",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(simulateCmd(), dataCmd(), trainCmd(), sweepCmd(), evalCmd(), predictCmd(), exportCmd(), importCmd(), benchCmd(), phenomenaCmd(), reportCmd(), probeCmd())
	return root
}
