package retina

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gomlx/compute"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// TrainOptions control how (not what) a run trains; what it trains is the runconfig.Config.
type TrainOptions struct {
	Backend compute.Backend     // nil: DefaultBackend, the process's shared engine
	Log     io.Writer           // progress and notices; nil discards them
	Data    *datasets.Recording // the recording to train on; nil: LoadData(cfg)
	// Recordings are the recordings of a multi-recording run
	// (runconfig.Config.MultiRecording), in the order of runconfig.Config.RecordingSpecs; nil:
	// LoadRecordings(cfg).
	Recordings []*datasets.Recording
	Keep       int // checkpoints kept besides the best one (default 2)
	// CheckNaN checks every variable for NaN/Inf after each step and names the first one a step
	// broke (slower; in the spirit of PyTorch's detect_anomaly).
	CheckNaN bool
	// OnStep, when set, is called after every training step, from the training goroutine:
	// keep it quick (update a chart, count steps, cancel the context).
	OnStep func(StepInfo)
	// OnEpoch, when set, is called after every epoch, once its checkpoint is saved.
	OnEpoch func(EpochRecord)
}

// StepInfo describes one training step for TrainOptions.OnStep.
type StepInfo struct {
	Epoch    int     // the epoch in progress, from 1
	Step     int     // steps done in this epoch, from 1
	Steps    int     // steps in an epoch
	Loss     float64 // this batch's loss (Poisson NLL plus the L1 and L2 terms)
	MeanLoss float64 // mean batch loss of the epoch so far
}

// ErrInterrupted is returned when training stopped on request after saving a checkpoint.
var ErrInterrupted = errors.New("training interrupted (checkpoint saved; run the same command again to resume)")

// Train trains cfg into runDir, resuming from the newest good checkpoint there if any, and
// returns the run description of the final checkpoint. Cancelling ctx stops training at the
// next step: a checkpoint is saved (mid-epoch, so that nothing is lost) and ErrInterrupted is
// returned; calling Train again with the same arguments resumes from it.
func Train(ctx context.Context, cfg runconfig.Config, runDir string, opts TrainOptions) (*RunMeta, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	if opts.Keep <= 0 {
		opts.Keep = 2
	}
	opts.Keep = cfg.KeepCheckpoints(opts.Keep) // save_every_epoch
	ref, meta, err := latestGoodCheckpoint(runDir, log)
	if err != nil {
		return nil, err
	}
	if meta != nil && runconfig.ChangedKeys(meta.Config, cfg) == nil && meta.Stopped != "" &&
		(meta.Stopped != "completed" || meta.Epoch >= cfg.NEpochs) {
		fmt.Fprintf(log, "%s: already finished (%s after %d epochs)\n", runDir, meta.Stopped, meta.Epoch)
		return meta, nil
	}
	recs, err := trainingData(cfg, opts, log)
	if err != nil {
		return nil, err
	}
	// Everything that can be checked is checked before anything is created.
	if err := CheckStartRecordings(cfg, runDir, recs); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(runDir)
	created := errors.Is(statErr, os.ErrNotExist)
	done, err := runTraining(ctx, cfg, runDir, recs, ref, meta, opts, log)
	if err != nil && !errors.Is(err, ErrInterrupted) {
		if cerr := CleanFailedStart(runDir, created); cerr != nil {
			fmt.Fprintf(log, "deepretina: %v\n", cerr)
		}
	}
	return done, err
}

// runTraining runs (or resumes, from ref/meta) a run that CheckStart accepted.
func runTraining(ctx context.Context, cfg runconfig.Config, runDir string, recs []*datasets.Recording, ref *checkpointRef, meta *RunMeta,
	opts TrainOptions, log io.Writer) (*RunMeta, error) {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, fmt.Errorf("run folder: %w", err)
	}
	if meta != nil {
		meta.Config.NEpochs = cfg.NEpochs // extending a run is allowed
		meta.Stopped = ""
	}
	t, err := newTrainer(cfg, recs, meta, opts)
	if err != nil {
		return nil, err
	}
	defer t.free()
	if ref != nil {
		if err := loadVariables(t.store, ref.Dir, false); err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "resuming %s from %s\n", runDir, filepath.Base(ref.Dir))
	} else if cfg.FromRun != "" {
		if err := t.loadCore(); err != nil {
			return nil, err
		}
	}
	if err := t.build(runDir); err != nil {
		return nil, err
	}
	return t.run(ctx)
}

// trainingData returns the recordings a run trains on, checked: opts.Data (or the config's
// recording) for a single-recording run, opts.Recordings (or the config's recordings) for a
// multi-recording one.
func trainingData(cfg runconfig.Config, opts TrainOptions, log io.Writer) ([]*datasets.Recording, error) {
	recs := opts.Recordings
	var err error
	switch {
	case !cfg.MultiRecording() && opts.Data != nil:
		recs = []*datasets.Recording{opts.Data}
	case !cfg.MultiRecording():
		var rec *datasets.Recording
		if rec, err = LoadData(cfg, log); err != nil {
			return nil, err
		}
		recs = []*datasets.Recording{rec}
	case recs == nil:
		if recs, err = LoadRecordings(cfg, log); err != nil {
			return nil, err
		}
	}
	for _, rec := range recs {
		if err := rec.Validate(); err != nil {
			return nil, fmt.Errorf("data %s/%s: %w", rec.Expt, rec.Stim, err)
		}
	}
	return recs, nil
}
