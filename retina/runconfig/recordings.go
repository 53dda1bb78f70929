package runconfig

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina/nn"
)

// Several recordings, one model. A config whose recordings key lists several recordings trains
// one core (the CNN's hidden layers) on all of them, with a readout per recording onto its own
// cells (nn.ModelConfig.ReadoutScope "readout/<name>"), as openretina's sessions do. A config with
// from_run starts the core from a trained run instead, and readout_only keeps it frozen while
// the new recordings' readouts are fitted (unfreeze_after: then trains it too). Such runs are
// "multi-recording" runs: their run description lists the recordings
// (retina.RunMeta.Recordings) and retina.LoadModel serves one of them at a time
// (retina.LoadOptions.Recording).

// RecordingSpec names one recording of a multi-recording run, in the lab's layout
// (<datapath>/<dataset>/<stim_type>.h5, or the simulated retina when datapath is empty). Keys
// it leaves out take the config's own (datapath, stim_type, cells, sim_seed); name defaults to
// the dataset. In JSON a bare string is a dataset: "15-10-07" is {"dataset": "15-10-07"}.
type RecordingSpec struct {
	Name     string    `json:"name,omitempty"`      // the recording's name in the run: its readout scope, --recording; default: dataset
	Dataset  string    `json:"dataset,omitempty"`   // experiment folder (or sim-small, sim-paper)
	StimType string    `json:"stim_type,omitempty"` // default: the config's stim_type
	DataPath string    `json:"datapath,omitempty"`  // default: the config's datapath
	Cells    *CellList `json:"cells,omitempty"`     // default: the config's cells
	SimSeed  uint64    `json:"sim_seed,omitempty"`  // simulated data: the simulator's seed (default: the config's sim_seed)
}

// UnmarshalJSON reads an object with the keys above, or a string naming the dataset.
func (s *RecordingSpec) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var name string
		if err := json.Unmarshal(data, &name); err != nil {
			return err
		}
		*s = RecordingSpec{Dataset: name}
		return nil
	}
	type plain RecordingSpec
	var p plain
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("expected a dataset name or an object with the keys name, dataset, stim_type, datapath, cells, sim_seed: %w", err)
	}
	*s = RecordingSpec(p)
	return nil
}

// Values of the config key core_bn_stats.
const (
	// CoreBNStatsRecording (the default): each recording keeps its own running statistics of
	// the core's batch norms, updated by its own training batches and used when it is
	// evaluated (nn.ModelConfig.RecordingBNStats).
	CoreBNStatsRecording = "recording"
	// CoreBNStatsShared: one set of running statistics, updated by every recording's batches,
	// as every multi-recording run before this key existed.
	CoreBNStatsShared = "shared"
)

// RecordingBNStats reports whether a multi-recording run of this config keeps the core's
// running statistics per recording.
func (c Config) RecordingBNStats() bool {
	return c.MultiRecording() && c.CoreBNStats != CoreBNStatsShared
}

// MultiRecording reports whether the config trains a multi-recording run: it lists recordings
// or starts its core from another run.
func (c Config) MultiRecording() bool { return len(c.Recordings) > 0 || c.FromRun != "" }

// RecordingSpecs returns the recordings of a multi-recording run with every default filled in:
// the recordings key's entries, or, when it is empty (a run fine-tuned from from_run), the one
// recording that dataset and stim_type name. It is nil for a single-recording run.
func (c Config) RecordingSpecs() []RecordingSpec {
	if !c.MultiRecording() {
		return nil
	}
	specs := c.Recordings
	if len(specs) == 0 {
		specs = []RecordingSpec{{}}
	}
	out := make([]RecordingSpec, len(specs))
	for i, s := range specs {
		if s.Dataset == "" {
			s.Dataset = c.Dataset
		}
		if s.Name == "" {
			s.Name = s.Dataset
		}
		if s.StimType == "" {
			s.StimType = c.StimType
		}
		if s.DataPath == "" {
			s.DataPath = c.DataPath
		}
		if s.Cells == nil {
			cells := c.Cells
			s.Cells = &cells
		}
		if s.SimSeed == 0 {
			s.SimSeed = c.SimSeed
		}
		out[i] = s
	}
	return out
}

// RecordingConfig is the single-recording config of one recording of the run (a resolved
// RecordingSpec): the run's config with that recording's data keys and no multi-recording keys.
// It loads the recording (retina.LoadData) and describes it in the run's per-recording view.
func (c Config) RecordingConfig(s RecordingSpec) Config {
	r := c
	r.Dataset, r.StimType, r.DataPath, r.SimSeed = s.Dataset, s.StimType, s.DataPath, s.SimSeed
	if s.Cells != nil {
		r.Cells = *s.Cells
	}
	r.Recordings, r.FromRun, r.ReadoutOnly, r.UnfreezeAfter, r.CoreBNStats = nil, "", false, 0, ""
	return r
}

// validateRecordings checks the keys of multi-recording runs and of the readout, naming the
// key (and the entry of recordings) at fault.
func (c Config) validateRecordings(mtype string) error {
	switch c.Readout {
	case "", nn.ReadoutDense, nn.ReadoutFactorised:
	default:
		return Errorf("readout", "%q is not %s or %s", c.Readout, nn.ReadoutDense, nn.ReadoutFactorised)
	}
	if mtype == nn.ModelLN {
		for _, k := range []struct {
			set  bool
			name string
		}{{c.Readout == nn.ReadoutFactorised, "readout"}, {len(c.Recordings) > 0, "recordings"}, {c.FromRun != "", "from_run"}} {
			if k.set {
				return Errorf(k.name, "model_type LN has no core to share or read out from: use BNCNN or LinearStackedBNCNN")
			}
		}
	}
	switch c.CoreBNStats {
	case "", CoreBNStatsRecording, CoreBNStatsShared:
	default:
		return Errorf("core_bn_stats", "%q is not %s or %s", c.CoreBNStats, CoreBNStatsRecording, CoreBNStatsShared)
	}
	switch {
	case c.CoreBNStats != "" && !c.MultiRecording():
		return Errorf("core_bn_stats", "a single recording has no core to share: it needs recordings or from_run")
	case c.ReadoutOnly && c.FromRun == "":
		return Errorf("readout_only", "needs from_run, the run whose trained core it keeps")
	case c.UnfreezeAfter < 0:
		return Errorf("unfreeze_after", "expected a number of epochs ≥ 0, got %d", c.UnfreezeAfter)
	case c.UnfreezeAfter > 0 && !c.ReadoutOnly:
		return Errorf("unfreeze_after", "unfreezes a frozen core: it needs readout_only true")
	}
	seen := map[string]int{}
	for i, s := range c.RecordingSpecs() {
		entry := func(field, format string, args ...any) error {
			if len(c.Recordings) == 0 {
				return Errorf(field, format, args...)
			}
			return Errorf("recordings", "entry %d: field %q: %s", i, field, fmt.Sprintf(format, args...))
		}
		switch {
		case s.Dataset == "":
			return entry("dataset", "expected the recording's experiment folder")
		case !nn.ValidRecordingName(s.Name):
			return entry("name", "%q is not a recording name: letters, digits, '.', '_' and '-', starting with a letter or digit", s.Name)
		case s.StimType != datasets.WhiteNoise && s.StimType != datasets.NaturalScene:
			return entry("stim_type", "%q is not whitenoise or naturalscene", s.StimType)
		}
		if j, ok := seen[s.Name]; ok {
			return entry("name", "%q is also the name of entry %d: each recording needs its own (set name)", s.Name, j)
		}
		seen[s.Name] = i
		for _, id := range s.Cells.IDs {
			if id < 0 {
				return entry("cells", "index %d is negative", id)
			}
		}
	}
	return nil
}
