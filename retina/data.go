package retina

import (
	"fmt"
	"io"
	"strings"

	"github.com/deepretina/deepretina/datasets"
)

// SimulatedDatasetPrefix marks a dataset name served by the built-in simulated retina:
// "sim-small" is the "small" preset, "sim-paper" the "paper" one.
const SimulatedDatasetPrefix = "sim-"

// LoadData returns the recording a config names: <datapath>/<dataset>/<stim_type>.h5, or, with
// no datapath and a "sim-<preset>" dataset, the simulated retina generated in memory.
func LoadData(cfg Config, log io.Writer) (*datasets.Recording, error) {
	if cfg.DataPath != "" {
		rec, err := datasets.Load(cfg.DataPath, cfg.Dataset, cfg.StimType, cfg.CellIDs())
		if err != nil {
			return nil, err
		}
		return rec, nil
	}
	preset, ok := strings.CutPrefix(cfg.Dataset, SimulatedDatasetPrefix)
	if !ok {
		return nil, fmt.Errorf("dataset %q: no datapath given, and only simulated datasets (%ssmall, %spaper) need none",
			cfg.Dataset, SimulatedDatasetPrefix, SimulatedDatasetPrefix)
	}
	sc, err := datasets.SimPreset(preset)
	if err != nil {
		return nil, fmt.Errorf("dataset %q: %w", cfg.Dataset, err)
	}
	if cfg.SimSeed != 0 {
		sc.Seed = cfg.SimSeed
	}
	if log != nil {
		fmt.Fprintf(log, "simulating the %s retina (seed %d, %s)…\n", preset, sc.Seed, cfg.StimType)
	}
	sim, err := datasets.Simulate(sc, []string{cfg.StimType}, nil)
	if err != nil {
		return nil, fmt.Errorf("simulate %s: %w", cfg.Dataset, err)
	}
	rec := sim.Recordings[cfg.StimType]
	return datasets.SelectCells(rec, cfg.CellIDs())
}
