package main

import (
	"testing"

	"github.com/deepretina/deepretina/retina/runconfig"
)

// The LN baseline of a CNN with the gain-control stage is a valid LN config (the stage needs a
// hidden layer, which LN has none of), and otherwise cfg's.
func TestLNBaselineConfigOfGainControl(t *testing.T) {
	cfg := runconfig.SmallConfig()
	cfg.GainControl = true
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ln := lnBaselineConfig(cfg)
	if err := ln.Validate(); err != nil {
		t.Fatalf("LN baseline of a gain_control run: %v", err)
	}
	if ln.ModelType != "LN" || ln.ExpName != cfg.ExpName+"-ln" || ln.GainControl || ln.LR != cfg.LR || ln.Seed != cfg.Seed {
		t.Errorf("LN baseline config %+v", ln)
	}
}
