package retina

import (
	"fmt"
	"io"
	"strings"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// SimulatedDatasetPrefix marks a dataset name served by the built-in simulated retina:
// "sim-small" is the "small" preset, "sim-paper" the "paper" one.
const SimulatedDatasetPrefix = "sim-"

// LoadData returns the recording a config names: <datapath>/<dataset>/<stim_type>.h5, or, with
// no datapath and a "sim-<preset>" dataset, the simulated retina generated in memory. The data
// are checked as they load (see datasets.LoadFile); a test set with fewer than two repeats is
// announced on log, since its reliability ceiling and FEV will be unavailable.
func LoadData(cfg runconfig.Config, log io.Writer) (*datasets.Recording, error) {
	rec, err := loadData(cfg, log)
	if err != nil {
		return nil, err
	}
	if r := fewestRepeats(rec); r < 2 && log != nil {
		fmt.Fprintf(log, "note: the test set of %s/%s has %d repeats; the reliability ceiling and FEV need at least 2 and will be reported as n/a\n",
			rec.Expt, rec.Stim, r)
	}
	return rec, nil
}

// fewestRepeats is the smallest number of test repeats of any cell.
func fewestRepeats(rec *datasets.Recording) int {
	if len(rec.Test.Repeats) == 0 {
		return 0
	}
	fewest := len(rec.Test.Repeats[0])
	for _, reps := range rec.Test.Repeats {
		fewest = min(fewest, len(reps))
	}
	return fewest
}

func loadData(cfg runconfig.Config, log io.Writer) (*datasets.Recording, error) {
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
	sc, err := simretina.Preset(preset)
	if err != nil {
		return nil, fmt.Errorf("dataset %q: %w", cfg.Dataset, err)
	}
	if cfg.SimSeed != 0 {
		sc.Seed = cfg.SimSeed
	}
	if log != nil {
		fmt.Fprintf(log, "simulating the %s retina (seed %d, %s)…\n", preset, sc.Seed, cfg.StimType)
	}
	sim, err := simretina.Simulate(sc, []string{cfg.StimType}, nil)
	if err != nil {
		return nil, fmt.Errorf("simulate %s: %w", cfg.Dataset, err)
	}
	rec := sim.Recordings[cfg.StimType]
	return datasets.SelectCells(rec, cfg.CellIDs())
}

// LoadRecordings loads the recordings of a multi-recording run, in the order of
// runconfig.Config.RecordingSpecs (see LoadData); each error names the recording.
func LoadRecordings(cfg runconfig.Config, log io.Writer) ([]*datasets.Recording, error) {
	specs := cfg.RecordingSpecs()
	recs := make([]*datasets.Recording, len(specs))
	for i, s := range specs {
		rec, err := LoadData(cfg.RecordingConfig(s), log)
		if err != nil {
			return nil, fmt.Errorf("recording %q: %w", s.Name, err)
		}
		recs[i] = rec
	}
	return recs, nil
}
