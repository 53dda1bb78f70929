package retina

import (
	"fmt"
	"slices"
	"strings"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// The run description of a multi-recording run: each recording with everything its readout
// needs to be used without the data (input shape, normalisation, frame rate, pixel size, cell
// ids, data identity), and the recordings its core was trained on. LoadModel serves one
// recording at a time, as a single-recording model (RunMeta.ForRecording).

// RecordingMeta describes one recording of a multi-recording run.
type RecordingMeta struct {
	Name        string                  `json:"name"`
	Spec        runconfig.RecordingSpec `json:"spec"`  // where it was read from, every default filled in
	Model       nn.ModelConfig          `json:"model"` // the core with this recording's readout (ReadoutScope readout/<name>)
	NormStats   datasets.NormStats      `json:"norm_stats"`
	CellIDs     []int                   `json:"cell_ids"`
	InputShape  [3]int                  `json:"input_shape"` // [history, H, W]
	FrameRate   float64                 `json:"frame_rate_hz"`
	PixelSizeUM float64                 `json:"pixel_size_um"`
	Data        string                  `json:"data"`                  // provenance, for people
	DataSource  *datasets.Source        `json:"data_source,omitempty"` // identity (CheckSameData)

	BestValCorr    float64 `json:"best_val_corr"`     // at the run's best epoch (its mean validation r)
	TestCorrAtBest float64 `json:"test_corr_at_best"` // idem
}

// RecordingScore is one recording's scores in an epoch of a multi-recording run.
type RecordingScore struct {
	Name     string  `json:"name"`
	ValCorr  float64 `json:"val_corr"`
	TestCorr float64 `json:"test_corr"`
}

// CoreRecording is one recording a run's core was trained on.
type CoreRecording struct {
	Run        string           `json:"run,omitempty"` // the run that trained the core on it, when not this one (as from_run named it)
	Name       string           `json:"name"`
	Data       string           `json:"data"`
	DataSource *datasets.Source `json:"data_source,omitempty"`
}

// CoreOrigin is the checkpoint a fine-tuned run's core started from.
type CoreOrigin struct {
	Run        string `json:"run"`        // from_run, as given
	Checkpoint string `json:"checkpoint"` // the checkpoint folder read (absolute)
	Epoch      int    `json:"epoch"`      // its epoch
}

// checkRecordings checks the recordings of a multi-recording run description, naming the first
// bad field.
func (m *RunMeta) checkRecordings() error {
	seen := map[string]bool{}
	for i, r := range m.Recordings {
		field := func(name string) string { return fmt.Sprintf("field \"recordings[%d].%s\"", i, name) }
		switch {
		case !nn.ValidRecordingName(r.Name) || seen[r.Name]:
			return fmt.Errorf("%s: %q is not a recording name of its own (letters, digits, '.', '_', '-')", field("name"), r.Name)
		case r.Model.Validate() != nil:
			return fmt.Errorf("%s: %w", field("model"), r.Model.Validate())
		case r.Model.RecordingBNStats != m.Recordings[0].Model.RecordingBNStats:
			return fmt.Errorf("%s: RecordingBNStats %v, while recording %q has %v: a core keeps its running statistics per recording or shares them", field("model"),
				r.Model.RecordingBNStats, m.Recordings[0].Name, m.Recordings[0].Model.RecordingBNStats)
		case r.Model.ReadoutScope != nn.ReadoutScopeOf(r.Name):
			return fmt.Errorf("%s: readout scope %q; expected %q", field("model"), r.Model.ReadoutScope, nn.ReadoutScopeOf(r.Name))
		case len(r.CellIDs) != r.Model.NCells:
			return fmt.Errorf("%s: %d ids for a readout of %d cells", field("cell_ids"), len(r.CellIDs), r.Model.NCells)
		case r.InputShape != r.Model.ImgShape:
			return fmt.Errorf("%s: %v differs from the model's %v", field("input_shape"), r.InputShape, r.Model.ImgShape)
		case !(r.NormStats.Std > 0):
			return fmt.Errorf("%s: expected a positive number, got %v", field("norm_stats.std"), r.NormStats.Std)
		}
		seen[r.Name] = true
	}
	return nil
}

// RecordingNames lists the recordings of a run: those of a multi-recording run, or the one
// dataset of a single-recording run.
func (m *RunMeta) RecordingNames() []string {
	if len(m.Recordings) == 0 {
		return []string{m.Config.Dataset}
	}
	names := make([]string, len(m.Recordings))
	for i, r := range m.Recordings {
		names[i] = r.Name
	}
	return names
}

// RecordingChoiceError says that a run's recording must be named, or was misnamed.
type RecordingChoiceError struct {
	Asked string   // the name asked for ("" when none was)
	Names []string // the run's recordings
}

func (e *RecordingChoiceError) Error() string {
	if e.Asked == "" {
		return fmt.Sprintf("the run holds %d recordings, %s: name one", len(e.Names), strings.Join(e.Names, ", "))
	}
	return fmt.Sprintf("the run has no recording %q; it holds %s", e.Asked, strings.Join(e.Names, ", "))
}

// ForRecording returns the description of one recording of the run as a single-recording run
// has it: its model (the core with its readout), normalisation, cells, data identity, scores,
// and its own config (RecordingConfig), from which LoadData loads it. name "" chooses the only
// recording; with several it is a *RecordingChoiceError, as is a name the run does not hold.
// A single-recording run is its own description (its one recording is named by its dataset).
func (m *RunMeta) ForRecording(name string) (*RunMeta, error) {
	if len(m.Recordings) == 0 {
		if name != "" && name != m.Config.Dataset {
			return nil, &RecordingChoiceError{Asked: name, Names: m.RecordingNames()}
		}
		return m, nil
	}
	i := slices.IndexFunc(m.Recordings, func(r RecordingMeta) bool { return r.Name == name })
	if name == "" && len(m.Recordings) == 1 {
		i = 0
	}
	if i < 0 {
		return nil, &RecordingChoiceError{Asked: name, Names: m.RecordingNames()}
	}
	r := m.Recordings[i]
	v := *m
	v.Config = m.Config.RecordingConfig(r.Spec)
	v.Model, v.NormStats, v.CellIDs, v.InputShape = r.Model, r.NormStats, slices.Clone(r.CellIDs), r.InputShape
	v.FrameRate, v.PixelSizeUM, v.Data, v.DataSource = r.FrameRate, r.PixelSizeUM, r.Data, r.DataSource
	v.BestValCorr, v.TestCorrAtBest = r.BestValCorr, r.TestCorrAtBest
	v.Recordings = []RecordingMeta{r}
	v.History = make([]EpochRecord, len(m.History))
	for e, rec := range m.History {
		if j := slices.IndexFunc(rec.Recordings, func(s RecordingScore) bool { return s.Name == r.Name }); j >= 0 {
			rec.ValCorr, rec.TestCorr = rec.Recordings[j].ValCorr, rec.Recordings[j].TestCorr
			rec.Recordings = []RecordingScore{rec.Recordings[j]}
		}
		v.History[e] = rec
	}
	return &v, nil
}

// Recording is the name of the recording a model serves: that of a multi-recording run's
// chosen recording, else the dataset.
func (m *RunMeta) Recording() string {
	if len(m.Recordings) == 1 {
		return m.Recordings[0].Name
	}
	return m.Config.Dataset
}
