// Package sweep is the machinery behind `deepretina sweep` and `deepretina train --index`: the
// grid of a --ranges file over a --config (grid.go), the plan written to DIR/sweep.json and the
// flags that select it (plan.go, PlanFlags), local worker processes, one GPU each (sweeplocal.go),
// Slurm job arrays (sweepslurm.go), the state of each combination from its run folder, the
// failure notes and Slurm's answers (sweepstatus.go, runstate.go), and where a configuration's
// values came from (origin.go). The commands' flags and help stay in package main
// (sweepcmd.go, train.go); their behaviour is here.
package sweep
