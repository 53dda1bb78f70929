// Package outputs holds the command line's one rule for the files it writes, and the checks of
// the paths given on it: no command writes among a run's own files (run.json, checkpoints/, ln/,
// eval.json, the lock) or a runs folder's (results tables, sweep plan, logs), nor replaces a
// file that another command wrote, whose kind is read from its content (SniffKind), not its
// name. Every command checks its inputs and outputs here before any work (CheckOutputFile,
// CheckOutputDir, CheckRunFolder), so that a mistake costs nothing and names the flag.
//
// It also names the files that train and sweep write in a runs folder (PlanFile, LogsDir,
// RunDescriptor, EvalFile, FailedSuffix). Only package main and internal/sweep import it.
package outputs
