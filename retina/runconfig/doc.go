// Package runconfig is the configuration of one training run: Config, with the JSON key names
// of torch-deep-retina's hyperparams.json (McIntosh et al. 2016; Maheswaranathan et al. 2023)
// so that the reference's files carry over, its two defaults (DefaultConfig, the published
// BNCNN setting; SmallConfig, the CPU default on the simulated retina), and reading and
// checking it (LoadConfig, ParseConfig, Validate): an unknown key lists the valid ones, and a
// bad value is a *ConfigError naming its key.
//
// It also gives the reference's keys their meaning here (configreference.go: "cells": "all"
// as CuratedCells, n_repeats as ExpandRepeats, shuffle as EpochOrder, MultiStepLR as
// MultiStepFactor, save_every_epoch as KeepCheckpoints), the --ranges grids of a sweep
// (ranges.go), the recordings of a run that trains one core on several (recordings.go), and
// the keys two configs differ in (ChangedKeys), by which a run folder is resumed or refused.
//
// The package describes runs and reads no data: it imports only datasets and retina/nn, so
// that the sweep machinery can plan runs without the trainer. Package retina trains a Config
// (retina.Train), loads the data it names (retina.LoadData) and checks it against them
// (retina.CheckStart):
//
//	cfg, err := runconfig.LoadConfig("hyperparams.json", runconfig.DefaultConfig())
//	var ce *runconfig.ConfigError
//	if errors.As(err, &ce) { fmt.Println("bad key", ce.Key) }
//	meta, err := retina.Train(ctx, cfg, "runs/"+cfg.ExpName, retina.TrainOptions{})
package runconfig
