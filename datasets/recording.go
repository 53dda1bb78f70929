package datasets

import (
	"fmt"
	"math"
)

// Stimulus types, as named by the lab's files (<expt>/<stim>.h5).
const (
	WhiteNoise   = "whitenoise"
	NaturalScene = "naturalscene"
)

// Defaults of the lab's recordings.
const (
	DefaultFrameRate   = 100.0 // Hz: one frame per 10 ms bin
	DefaultPixelSizeUM = 55.0  // µm per stimulus pixel on the retina
	DefaultHistory     = 40    // frames of stimulus history per prediction
)

// Movie is a stimulus movie.
//
//	Data: [T, H, W] float32, row-major (frame, row, column).
type Movie struct {
	T, H, W int
	Data    []float32
}

// NewMovie allocates a zero movie of T frames of H×W pixels.
func NewMovie(t, h, w int) Movie {
	return Movie{T: t, H: h, W: w, Data: make([]float32, t*h*w)}
}

// FrameSize is the number of pixels in one frame (H·W).
func (m Movie) FrameSize() int { return m.H * m.W }

// Frame returns frame t, a view of [H, W] pixels sharing memory with the movie.
func (m Movie) Frame(t int) []float32 {
	n := m.FrameSize()
	return m.Data[t*n : (t+1)*n]
}

// Slice returns frames [from, to) as a movie sharing memory with m.
func (m Movie) Slice(from, to int) Movie {
	n := m.FrameSize()
	return Movie{T: to - from, H: m.H, W: m.W, Data: m.Data[from*n : to*n]}
}

// Matrix is a dense row-major float32 matrix.
//
//	Data: [Rows, Cols] float32.
type Matrix struct {
	Rows, Cols int
	Data       []float32
}

// NewMatrix allocates a zero rows×cols matrix.
func NewMatrix(rows, cols int) Matrix {
	return Matrix{Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
}

// At returns element (r, c).
func (m Matrix) At(r, c int) float32 { return m.Data[r*m.Cols+c] }

// Set sets element (r, c).
func (m Matrix) Set(r, c int, v float32) { m.Data[r*m.Cols+c] = v }

// Row returns row r as a view.
func (m Matrix) Row(r int) []float32 { return m.Data[r*m.Cols : (r+1)*m.Cols] }

// Column copies column c out of the matrix.
func (m Matrix) Column(c int) []float32 {
	out := make([]float32, m.Rows)
	for r := range out {
		out[r] = m.Data[r*m.Cols+c]
	}
	return out
}

// Split is one part (train or test) of a recording. All fields share the time axis T.
type Split struct {
	// Time: [T] seconds, the start of each frame.
	Time []float64
	// Stimulus: [T, H, W] in the recording's raw intensity units.
	Stimulus Movie
	// Rates: [T, N] firing rate in Hz (for the test split: averaged over repeats).
	Rates Matrix
	// Counts: [T, N] spike counts per frame, summed over CountTrials trials.
	Counts Matrix
	// CountTrials is the number of trials Counts sums: 1 for training data and for a test split
	// whose counts are those of one repeat, R when they are summed over the R repeats; 0 when
	// unknown (scores that need the counts, such as bits per spike, are then unavailable).
	CountTrials int
	// Repeats: [N][R][T] firing rate (Hz) of each repeat of the test segment; empty for training data.
	Repeats [][][]float32
}

// Len is the number of frames T.
func (s Split) Len() int { return s.Stimulus.T }

// Recording is one stimulus type of one experiment: ganglion-cell responses to a training
// stimulus and to a repeated test stimulus.
type Recording struct {
	Expt        string  // experiment name, e.g. "15-10-07" or "sim-small"
	Stim        string  // WhiteNoise or NaturalScene
	CellIDs     []int   // ids (indices into the file's cell axis) of the N cells kept, in column order
	FrameRate   float64 // Hz
	PixelSizeUM float64 // µm per pixel
	Provenance  string  // where the data came from (file path, simulator preset and seed, …), for people
	Source      Source  // what the data are, for programs: file, size, content hash, simulator seed
	Train, Test Split
}

// NCells is the number of cells N.
func (r *Recording) NCells() int { return len(r.CellIDs) }

// Validate checks that all shapes agree, that every value is finite, that firing rates, spike
// counts and repeats are not negative and that neither stimulus is constant. The error names the
// dataset at fault and the position of a bad value in the file's layout; callers wrap it with
// the file name. A test split with fewer than two repeats is valid: the scores that need repeats
// (reliability ceiling, FEV) are then unavailable.
func (r *Recording) Validate() error { return r.validate(true) }

// ValidateResponses is Validate without reading the stimuli's values (their shapes are still
// checked): for recordings whose stimuli are valid by construction, such as simulated ones,
// where reading gigabytes of stimulus again would cost more than making them.
func (r *Recording) ValidateResponses() error { return r.validate(false) }

func (r *Recording) validate(stimulusValues bool) error {
	n := r.NCells()
	if n == 0 {
		return fmt.Errorf("recording has no cells")
	}
	if r.FrameRate <= 0 || math.IsNaN(r.FrameRate) || math.IsInf(r.FrameRate, 0) {
		return fmt.Errorf("frame rate: expected a positive number of Hz, got %v", r.FrameRate)
	}
	for _, sp := range []struct {
		name  string
		split *Split
	}{{"train", &r.Train}, {"test", &r.Test}} {
		if err := sp.split.validateShape(sp.name); err != nil {
			return err
		}
		if stimulusValues {
			if err := checkMovie(sp.name+"/"+h5Stimulus, sp.split.Stimulus); err != nil {
				return err
			}
		}
		if err := sp.split.validateResponses(sp.name, n); err != nil {
			return err
		}
	}
	if r.Train.Stimulus.H != r.Test.Stimulus.H || r.Train.Stimulus.W != r.Test.Stimulus.W {
		return fmt.Errorf("test/stimulus: frame size %dx%d differs from train/stimulus %dx%d",
			r.Test.Stimulus.H, r.Test.Stimulus.W, r.Train.Stimulus.H, r.Train.Stimulus.W)
	}
	return nil
}

// validateShape checks the shapes of the stimulus and of the time axis.
func (s *Split) validateShape(split string) error {
	t := s.Stimulus.T
	name := func(ds string) string { return split + "/" + ds }
	if t <= 0 || s.Stimulus.H <= 0 || s.Stimulus.W <= 0 {
		return fmt.Errorf("%s: expected shape [T,H,W] with all sizes > 0, got [%d,%d,%d]", name(h5Stimulus), s.Stimulus.T, s.Stimulus.H, s.Stimulus.W)
	}
	if len(s.Stimulus.Data) != t*s.Stimulus.H*s.Stimulus.W {
		return fmt.Errorf("%s: %d values for shape [%d,%d,%d]", name(h5Stimulus), len(s.Stimulus.Data), t, s.Stimulus.H, s.Stimulus.W)
	}
	if s.Time != nil && len(s.Time) != t {
		return fmt.Errorf("%s: expected %d values (one per stimulus frame), got %d", name(h5Time), t, len(s.Time))
	}
	return nil
}

// validateResponses checks the rates, counts and repeats of n cells against the stimulus's T.
func (s *Split) validateResponses(split string, n int) error {
	t := s.Stimulus.T
	name := func(ds string) string { return split + "/" + ds }
	if s.Rates.Rows != t || s.Rates.Cols != n || len(s.Rates.Data) != t*n {
		return fmt.Errorf("%s: expected [T=%d, N=%d], got [%d, %d]", name(h5Rates), t, n, s.Rates.Rows, s.Rates.Cols)
	}
	if err := checkResponses(name(h5Rates), s.Rates, nonNegative); err != nil {
		return err
	}
	if s.Counts.Data != nil {
		if s.Counts.Rows != t || s.Counts.Cols != n || len(s.Counts.Data) != t*n {
			return fmt.Errorf("%s: expected [T=%d, N=%d], got [%d, %d]", name(h5Binned), t, n, s.Counts.Rows, s.Counts.Cols)
		}
		if err := checkResponses(name(h5Binned), s.Counts, nonNegative); err != nil {
			return err
		}
	}
	if s.CountTrials < 0 {
		return fmt.Errorf("%s: the number of trials the counts sum must be ≥ 0 (0 = unknown), got %d", name(h5Binned), s.CountTrials)
	}
	if s.Repeats != nil {
		if len(s.Repeats) != n {
			return fmt.Errorf("%s: expected one entry per cell (%d), got %d", name(h5Repeats), n, len(s.Repeats))
		}
		for c, reps := range s.Repeats {
			ds := fmt.Sprintf("%s/cell%02d", name(h5Repeats), c+1)
			for r, rep := range reps {
				if len(rep) != t {
					return fmt.Errorf("%s repeat %d: expected %d frames, got %d", ds, r, t, len(rep))
				}
				if err := checkTrial(ds, r, rep); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// InterneuronGroup is the response of recorded (or simulated) interneurons to one stimulus, in the
// layout of the lab's interneuron files (bipolars_/amacrines_/horizontals_{early,late}_2012.h5).
type InterneuronGroup struct {
	Name string // stimulus group: "boxes", "lines", "flashes", "movingbar", "whitenoise", …
	// Stimuli: [T, H, W] in the units the model sees (the file's `stimuli`).
	Stimuli Movie
	// Potentials: [T, N] detrended membrane potential of N cells (the file stores it as (N, T):
	// `detrended_membrane_potential`).
	Potentials Matrix
}

// InterneuronSet is one interneuron file: one cell type, several stimulus groups.
type InterneuronSet struct {
	CellType   string // "bipolars", "amacrines", "horizontals"
	Provenance string
	Groups     []InterneuronGroup
	// Types: optional per-cell subtype, one per column of every group's Potentials (e.g.
	// "ON-fast", "narrow-field OFF"); nil when unknown (the lab's files). Stored as the root
	// attribute cell_subtypes, the types joined by ";".
	Types []string
}
