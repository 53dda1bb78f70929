package retina

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// Checks made before a run starts or is scored, so that a mistake costs no training time and
// leaves nothing on disk: the configuration against the data, an existing run folder against
// the configuration, and a run's recording against the one it was trained on.

// CheckStart checks, without creating or changing anything, that training cfg into runDir on
// rec can start: the config is valid, the data's frames, lengths and number of windows suit it,
// and, when runDir already holds a run, that run has the same configuration (n_epochs may
// differ: a run can be extended) and was trained on the same data (CheckSameData). Errors about
// one key are *runconfig.ConfigError; changed data is a *DataChangedError.
func CheckStart(cfg runconfig.Config, runDir string, rec *datasets.Recording) error {
	return CheckStartRecordings(cfg, runDir, []*datasets.Recording{rec})
}

// CheckStartRecordings is CheckStart for a run on several recordings (a multi-recording run,
// recs in the order of runconfig.Config.RecordingSpecs; a single-recording run has one): each
// recording must suit the config (errors name it), a from_run's core must be the config's
// architecture, and an existing run must have been trained on the same recordings.
func CheckStartRecordings(cfg runconfig.Config, runDir string, recs []*datasets.Recording) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	specs := cfg.RecordingSpecs()
	if want := max(1, len(specs)); len(recs) != want {
		return fmt.Errorf("config: recordings: %d to train on, %d given", want, len(recs))
	}
	for i, rec := range recs {
		err := checkDataFits(cfg, rec)
		if err != nil && specs != nil {
			err = fmt.Errorf("recording %q: %w", specs[i].Name, err)
		}
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	_, meta, err := latestGoodCheckpoint(runDir, nil)
	if err != nil {
		return err
	}
	if meta == nil {
		if cfg.FromRun != "" {
			if _, _, err := fromRunCheckpoint(cfg, nil); err != nil {
				return fmt.Errorf("config: %w", err)
			}
		}
		return nil
	}
	if diff := runconfig.ChangedKeys(meta.Config, cfg); len(diff) > 0 {
		return fmt.Errorf("run folder %s holds another run: %s (use another --out or exp_name; or these values to resume it)",
			runDir, strings.Join(diff, "; "))
	}
	if len(meta.Recordings) == 0 {
		if err := CheckSameData(meta, recs[0]); err != nil {
			return fmt.Errorf("run folder %s: %w", runDir, err)
		}
		return nil
	}
	for i, r := range meta.Recordings {
		if r.DataSource == nil {
			continue
		}
		if changes := r.DataSource.Changes(recs[i].Source); len(changes) > 0 {
			return fmt.Errorf("run folder %s: recording %q: %w", runDir, r.Name, &DataChangedError{Changes: changes})
		}
	}
	return nil
}

// checkDataFits checks the config against the recording it will train on.
func checkDataFits(cfg runconfig.Config, rec *datasets.Recording) error {
	history, h, w := cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2]
	tr, te := rec.Train.Stimulus, rec.Test.Stimulus
	if tr.H != h || tr.W != w {
		return runconfig.Errorf("img_shape", "%v expects frames of %d×%d, the data's frames are %d×%d", cfg.ImgShape, h, w, tr.H, tr.W)
	}
	if tr.T <= history {
		return runconfig.Errorf("img_shape", "a history of %d frames needs a longer training stimulus: it has %d frames", history, tr.T)
	}
	if te.T <= history {
		return runconfig.Errorf("img_shape", "a history of %d frames needs a longer test stimulus: the test stimulus has %d frames", history, te.T)
	}
	trainIdx, _ := datasets.SplitTrainVal(tr.T-history, cfg.Seed)
	n, capped := len(trainIdx), ""
	if cfg.MaxTrainWindows > 0 && n > cfg.MaxTrainWindows {
		n, capped = cfg.MaxTrainWindows, fmt.Sprintf(" (max_train_windows %d)", cfg.MaxTrainWindows)
	}
	if n < cfg.BatchSize {
		return runconfig.Errorf("batch_size", "%d is more than the %d training windows%s", cfg.BatchSize, n, capped)
	}
	return nil
}

// DataChangedError reports that a recording is not the one a run was trained on.
type DataChangedError struct {
	Changes []string // what changed, in words (datasets.Source.Changes)
}

func (e *DataChangedError) Error() string {
	return "the recording differs from the one the run was trained on: " + strings.Join(e.Changes, ", ")
}

// CheckSameData checks that rec is the recording a run (described by meta) was trained on, by
// comparing their datasets.Source; a difference is a *DataChangedError saying what changed.
// Commands that score or probe a run on its recording (eval, and the analyses that read the
// recording) call it and refuse changed data unless the user asks otherwise. A run written by
// an older version records no source; nothing can be checked then, and the result is nil.
func CheckSameData(meta *RunMeta, rec *datasets.Recording) error {
	if meta.DataSource == nil {
		return nil
	}
	if changes := meta.DataSource.Changes(rec.Source); len(changes) > 0 {
		return &DataChangedError{Changes: changes}
	}
	return nil
}

// sourceOf is the identity a new run records for its recording: a copy of rec.Source, or nil
// for a recording without one (built in memory by a caller), which then cannot be checked.
func sourceOf(rec *datasets.Recording) *datasets.Source {
	if rec.Source.SHA256 == "" {
		return nil
	}
	src := rec.Source
	return &src
}

// CleanFailedStart removes what a failed Train left in runDir that holds nothing worth keeping:
// the staging and temporary folders of checkpoints, the checkpoints folder when it holds no
// checkpoint, and runDir itself when created is true (the failed call created it) and it is
// left empty. Checkpoints and anything else are never removed.
func CleanFailedStart(runDir string, created bool) error {
	root := filepath.Join(runDir, checkpointsDir)
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clean up %s: %w", root, err)
	}
	for _, e := range entries {
		if e.Name() == ".staging" || strings.HasPrefix(e.Name(), ".tmp-") {
			if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
				return fmt.Errorf("clean up %s: %w", root, err)
			}
		}
	}
	removeIfEmpty(root)
	if created {
		removeIfEmpty(runDir)
	}
	return nil
}

// removeIfEmpty removes dir when it is an empty folder; anything else leaves it alone.
func removeIfEmpty(dir string) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) == 0 {
		_ = os.Remove(dir)
	}
}
