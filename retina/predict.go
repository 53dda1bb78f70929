package retina

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/deepretina/deepretina/datasets"
)

// Model is a trained model loaded from a run folder, ready to predict from raw stimulus.
type Model struct {
	Meta    *RunMeta
	Dir     string // the checkpoint folder it was loaded from
	backend backends.Backend
	ctx     *context.Context
	rates   *context.Exec
	batch   int
}

// LoadModel loads the best checkpoint of a run folder (the newest good one if the best was
// lost). backend may be nil: the process's shared DefaultBackend.
func LoadModel(runDir string, backend backends.Backend) (*Model, error) {
	if st, err := os.Stat(runDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("run %s: not a run folder (%v)", runDir, err)
	}
	ref, meta, err := latestGoodCheckpoint(runDir, os.Stderr)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		return nil, fmt.Errorf("run %s: no usable checkpoint in %s", runDir, filepath.Join(runDir, checkpointsDir))
	}
	dir := ref.Dir
	if meta.BestEpoch > 0 {
		best := filepath.Join(runDir, checkpointsDir, checkpointDirName(meta.BestEpoch, 0))
		if bm, err := ReadMeta(best); err == nil {
			dir, meta = best, bm
		}
	}
	return LoadCheckpoint(dir, backend)
}

// LoadCheckpoint loads one checkpoint folder (runs/x/checkpoints/epoch-0007).
func LoadCheckpoint(dir string, backend backends.Backend) (*Model, error) {
	meta, err := ReadMeta(dir)
	if err != nil {
		return nil, err
	}
	if backend == nil {
		if backend, err = DefaultBackend(nil); err != nil {
			return nil, err
		}
	}
	ctx := context.New()
	if err := loadVariables(ctx, dir, true); err != nil {
		return nil, err
	}
	m := &Model{Meta: meta, Dir: dir, backend: backend, ctx: ctx, batch: max(1, min(meta.Config.BatchSize, 256))}
	if m.rates, err = newResidentPredictor(backend, ctx, meta.Model, meta.NormStats); err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	return m, nil
}

// Context exposes the model's variables (scope ModelScope) for analyses that build their own
// graphs on the model, e.g. gradients with respect to the stimulus.
func (m *Model) Context() *context.Context { return m.ctx }

// Backend is the engine the model runs on.
func (m *Model) Backend() backends.Backend { return m.backend }

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
func (m *Model) run(exec *context.Exec, w *datasets.Windows, width int) (datasets.Matrix, error) {
	r, err := uploadWindows(m.backend, w, bucketFrames(w.Stim.T))
	if err != nil {
		return datasets.Matrix{}, err
	}
	defer r.free()
	return predictResident(exec, r, allIndices(w.Len()), m.batch, width)
}

// Hidden returns the named hidden activations (e.g. "conv1", "conv2", channels-first) for
// every window of a raw stimulus, flattened per window: [T−history, C·H·W].
func (m *Model) Hidden(stim datasets.Movie, layer string) (datasets.Matrix, error) {
	w, err := m.Windows(stim, datasets.Matrix{})
	if err != nil {
		return datasets.Matrix{}, err
	}
	shape, ok := m.Meta.Model.LayerShapes()[layer]
	if !ok {
		return datasets.Matrix{}, fmt.Errorf("model %s has no hidden layer %q (it has %v)", m.Meta.Model.Type, layer, m.Meta.Model.LayerShapes())
	}
	mcfg, history, norm := m.Meta.Model, m.Meta.InputShape[0], m.Meta.NormStats
	exec, err := context.NewExec(m.backend, m.ctx.Checked(false), func(ctx *context.Context, stim, starts *Node) *Node {
		h := Forward(ctx.In(ModelScope), mcfg, gatherWindows(stim, starts, history, norm)).Hidden[layer]
		return Reshape(h, starts.Shape().Dimensions[0], -1)
	})
	if err != nil {
		return datasets.Matrix{}, err
	}
	return m.run(exec, w, shape[0]*shape[1]*shape[2])
}
