package retina

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// Model is a model ready to predict from raw stimulus and to expose its hidden units: a trained
// one loaded from a run folder (LoadModel, LoadCheckpoint) or an untrained one built in memory
// (NewModel).
type Model struct {
	Meta    *RunMeta
	Dir     string // the checkpoint folder it was loaded from; "" for a model built in memory
	backend compute.Backend
	store   *model.Store
	rates   *model.Exec
	batch   int

	hidden *hiddenCache
}

// hiddenCache holds the compiled read-outs of hidden layers, one per layer set.
type hiddenCache struct {
	mu     sync.Mutex
	execs  map[hiddenKey]*model.Exec
	builds atomic.Int32 // graphs built (one per layer set and input shape)
}

// LoadOptions say where a model runs and where its warnings go.
type LoadOptions struct {
	Backend compute.Backend // nil: the process's shared DefaultBackend
	Log     io.Writer       // warnings (a skipped corrupt checkpoint, a missing best one); nil discards them
	// Recording chooses the recording of a multi-recording run the model serves (its readout,
	// normalisation and cells; RunMeta.ForRecording). "" serves a run's only recording; a run
	// of several refuses it with a *RecordingChoiceError listing them.
	Recording string
}

// LoadModel loads the best checkpoint of a run folder. When the best checkpoint is missing or
// unusable it loads the newest good one instead and says so on opts.Log.
func LoadModel(runDir string, opts LoadOptions) (*Model, error) {
	st, err := os.Stat(runDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("run %s: not a run folder: it does not exist", runDir)
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: not a run folder: %w", runDir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("run %s: not a run folder (it is a file; give the folder that holds checkpoints/)", runDir)
	}
	dir, err := bestCheckpoint(runDir, opts.Log)
	if err != nil {
		return nil, err
	}
	return LoadCheckpoint(dir, opts)
}

// bestCheckpoint is the checkpoint folder LoadModel loads: the best epoch's, else the newest
// good one (said on log).
func bestCheckpoint(runDir string, log io.Writer) (string, error) {
	ref, meta, err := latestGoodCheckpoint(runDir, log)
	if err != nil {
		return "", err
	}
	if meta == nil {
		return "", fmt.Errorf("run %s: no usable checkpoint in %s", runDir, filepath.Join(runDir, checkpointsDir))
	}
	dir := ref.Dir
	if meta.BestEpoch > 0 {
		best := filepath.Join(runDir, checkpointsDir, checkpointDirName(meta.BestEpoch, 0))
		if _, err := ReadMeta(best); err == nil {
			dir = best
		} else if log != nil && dir != best {
			fmt.Fprintf(log, "deepretina: run %s: the best checkpoint (epoch %d) is unusable (%v); using the newest good one, %s\n",
				runDir, meta.BestEpoch, err, filepath.Base(dir))
		}
	}
	return dir, nil
}

// LoadCheckpoint loads one checkpoint folder (runs/x/checkpoints/epoch-0007).
func LoadCheckpoint(dir string, opts LoadOptions) (*Model, error) {
	meta, err := ReadMeta(dir)
	if err != nil {
		return nil, err
	}
	if meta, err = meta.ForRecording(opts.Recording); err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	store := model.NewStore()
	if err := loadVariables(store, dir, true); err != nil {
		return nil, err
	}
	if err := checkVariableShapes(store, meta.Model); err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", dir, err)
	}
	m, err := newModel(meta, store, opts.Backend)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	m.Dir = dir
	return m, nil
}

// NewModel builds an untrained model of the architecture mcfg in memory, its weights drawn as
// training would draw them with seed (PyTorch's default initialisation) and its batch norms at
// their initial statistics: the control that tells what an analysis owes to training rather
// than to the architecture. norm is the stimulus normalisation it applies (a trained model's
// Meta.NormStats, or datasets.ComputeNormStats of the stimulus it will see). It models cells
// 0…N−1 (Meta.CellIDs; set them to score it against a recording of other cells).
func NewModel(mcfg nn.ModelConfig, norm datasets.NormStats, seed uint64, opts LoadOptions) (*Model, error) {
	if err := mcfg.Validate(); err != nil {
		return nil, fmt.Errorf("new model: %w", err)
	}
	if !(norm.Std > 0) {
		return nil, fmt.Errorf("new model: norm stats std must be > 0, got %v", norm.Std)
	}
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(int64(seed)); err != nil {
		return nil, err
	}
	cfg := runconfig.DefaultConfig()
	cfg.ExpName, cfg.Seed, cfg.BatchSize = "untrained", seed, 64
	cfg.ModelType = runconfig.ReferenceModelType(mcfg.Type)
	cfg.ImgShape, cfg.Chans, cfg.KSizes = mcfg.ImgShape[:], mcfg.Chans, mcfg.KSizes
	meta := &RunMeta{Format: MetaFormat, Config: cfg, Model: mcfg, NormStats: norm,
		InputShape: mcfg.ImgShape, FrameRate: datasets.DefaultFrameRate, PixelSizeUM: datasets.DefaultPixelSizeUM,
		Data: "none: untrained", BestValCorr: noCorrelation, CellIDs: make([]int, mcfg.NCells)}
	for i := range meta.CellIDs {
		meta.CellIDs[i] = i
	}
	m, err := newModel(meta, store, opts.Backend)
	if err != nil {
		return nil, err
	}
	// Predicting once creates the variables with their initial values.
	if _, err := m.Predict(datasets.NewMovie(mcfg.ImgShape[0]+1, mcfg.ImgShape[1], mcfg.ImgShape[2])); err != nil {
		return nil, fmt.Errorf("new model: %w", err)
	}
	return m, nil
}

func newModel(meta *RunMeta, store *model.Store, backend compute.Backend) (*Model, error) {
	if backend == nil {
		var err error
		if backend, err = DefaultBackend(nil); err != nil {
			return nil, err
		}
	}
	m := &Model{Meta: meta, backend: backend, store: store, batch: max(2, min(meta.Config.BatchSize, 256)),
		hidden: &hiddenCache{execs: make(map[hiddenKey]*model.Exec)}}
	var err error
	if m.rates, err = newResidentPredictor(backend, store, meta.Model, meta.NormStats); err != nil {
		return nil, err
	}
	return m, nil
}

// Store holds the model's variables (under scope ModelScope), for analyses that build their own
// graphs on the model with model.NewExec, e.g. gradients with respect to the stimulus.
func (m *Model) Store() *model.Store { return m.store }

// Scope is a fresh root scope of the model's store: Scope().At(ModelScope) reaches the weights.
func (m *Model) Scope() *model.Scope { return m.store.RootScope() }

// Backend is the engine the model runs on.
func (m *Model) Backend() compute.Backend { return m.backend }

// Windows wraps a raw stimulus as the model's input windows, normalised with the model's stats.
// stim: [T, H, W] raw units; targets may be the zero Matrix.
func (m *Model) Windows(stim datasets.Movie, targets datasets.Matrix) (*datasets.Windows, error) {
	if stim.H != m.Meta.InputShape[1] || stim.W != m.Meta.InputShape[2] {
		return nil, fmt.Errorf("stimulus frames are %d×%d; the model expects %d×%d", stim.H, stim.W, m.Meta.InputShape[1], m.Meta.InputShape[2])
	}
	return datasets.NewWindows(stim, m.Meta.NormStats, targets, m.Meta.InputShape[0])
}

// Predict returns the model's firing rates for a raw stimulus.
//
//	stim: [T, H, W] raw stimulus units (the stored norm stats are applied)
//	returns [T−history, N]: row t predicts frame t+history from frames t … t+history−1.
func (m *Model) Predict(stim datasets.Movie) (datasets.Matrix, error) {
	w, err := m.Windows(stim, datasets.Matrix{})
	if err != nil {
		return datasets.Matrix{}, err
	}
	return m.run(m.rates, w, m.Meta.Model.NCells)
}

// run uploads the stimulus of w once (padded to a length bucket, so that similar lengths share
// a compiled graph) and evaluates exec on all of its windows.
func (m *Model) run(exec *model.Exec, w *datasets.Windows, width int) (datasets.Matrix, error) {
	r, err := uploadWindows(m.backend, w, bucketFrames(w.Stim.T))
	if err != nil {
		return datasets.Matrix{}, err
	}
	defer r.free()
	return predictResident(exec, r, allIndices(w.Len()), m.batch, width)
}

// checkVariableShapes compares the shapes of the model variables a checkpoint holds with those
// its description (meta.json's model) needs, so that a mismatch is reported as the
// checkpoint's fault, by name, rather than by GoMLX while it builds the first graph.
func checkVariableShapes(store *model.Store, mcfg nn.ModelConfig) error {
	scope := store.RootScope().At(ModelScope)
	for _, s := range nn.Vars(mcfg) {
		path := s.Path(scope)
		if v := store.GetVariable(path); v != nil && !slices.Equal(v.Shape().Dimensions, s.Shape) {
			return fmt.Errorf("variable %s has shape %v, but the model described in %s (%s, chans %v, ksizes %v) needs %v",
				path, v.Shape().Dimensions, metaFile, mcfg.Type, mcfg.Chans, mcfg.KSizes, s.Shape)
		}
	}
	return nil
}
