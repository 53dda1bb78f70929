package retina

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina/nn"
)

// residentWindows keeps a Windows' stimulus (and targets) on the engine's device, so that a
// training or prediction step receives only the start indices of its windows and gathers the
// [B, History, H, W] batch on the device. Building batches on the host and copying them every
// step moves History times the stimulus per epoch; on a GPU that copy, not the model, was the
// bottleneck (5,000 of 95,000 samples/s).
type residentWindows struct {
	w       *datasets.Windows
	stim    *tensors.Tensor // [T', H, W] float32, raw units (T' ≥ T: zero frames pad it to a bucket)
	targets *tensors.Tensor // [T', N] float32; nil for prediction-only windows
	bytes   int64           // host→device bytes of the upload
}

// uploadWindows copies w's stimulus (and its targets, if any) to the device once. padTo, when
// larger than the stimulus length, pads both with zero frames to that length, so that stimuli of
// similar lengths share one compiled graph.
func uploadWindows(backend compute.Backend, w *datasets.Windows, padTo int) (*residentWindows, error) {
	t := max(w.Stim.T, padTo)
	stim := w.Stim.Data
	if t > w.Stim.T {
		stim = make([]float32, t*w.Stim.FrameSize())
		copy(stim, w.Stim.Data)
	}
	r := &residentWindows{w: w}
	var err error
	if r.stim, err = deviceTensor(backend, stim, t, w.Stim.H, w.Stim.W); err != nil {
		return nil, fmt.Errorf("stimulus [%d,%d,%d] to the device: %w", w.Stim.T, w.Stim.H, w.Stim.W, err)
	}
	r.bytes = int64(len(stim)) * 4
	if n := w.NCells(); n > 0 {
		y := w.Targets.Data
		if t > w.Targets.Rows {
			y = make([]float32, t*n)
			copy(y, w.Targets.Data)
		}
		if r.targets, err = deviceTensor(backend, y, t, n); err != nil {
			r.free()
			return nil, fmt.Errorf("responses [%d,%d] to the device: %w", w.Targets.Rows, n, err)
		}
		r.bytes += int64(len(y)) * 4
	}
	return r, nil
}

// deviceTensor transfers flat data straight into a device buffer, without the host copy a
// local tensor would first make.
func deviceTensor(backend compute.Backend, flat []float32, dims ...int) (*tensors.Tensor, error) {
	buf, err := backend.BufferFromFlatData(0, flat, shapes.Make(dtypes.Float32, dims...))
	if err != nil {
		return nil, err
	}
	return tensors.FromBuffer(buf)
}

// free releases the device memory now rather than at garbage collection: a run holds GBs there.
func (r *residentWindows) free() {
	for _, t := range []*tensors.Tensor{r.stim, r.targets} {
		if t != nil {
			_ = t.FinalizeAll()
		}
	}
}

// startsTensor is the [B] int32 input of a step: the first frame of each window.
func startsTensor(idx []int, batchSize int) *tensors.Tensor {
	starts := make([]int32, batchSize)
	for i, j := range idx {
		starts[i] = int32(j)
	}
	return tensors.FromFlatDataAndDimensions(starts, batchSize)
}

// gatherWindows builds the z-scored windows [B, History, H, W] whose first frames are starts
// [B] int32, from the resident stimulus stim [T, H, W] in raw units. The z-scoring is the same
// float32 arithmetic as NormStats.Apply, (v − mean)·(1/std).
func gatherWindows(stim, starts *Node, history int, norm datasets.NormStats) *Node {
	g := stim.Graph()
	b := starts.Shape().Dimensions[0]
	h, w := stim.Shape().Dimensions[1], stim.Shape().Dimensions[2]
	offsets := Iota(g, shapes.Make(dtypes.Int32, b, history), 1)               // [B, History]: 0…History−1
	frames := Add(offsets, BroadcastToDims(InsertAxes(starts, 1), b, history)) // [B, History]
	x := Gather(stim, Reshape(frames, b*history, 1))                           // [B·History, H, W]
	x = Reshape(x, b, history, h, w)
	x = Sub(x, Scalar(g, dtypes.Float32, float32(norm.Mean)))
	return Mul(x, Scalar(g, dtypes.Float32, float32(1/norm.Std)))
}

// gatherTargets returns the targets [B, N] of the windows starting at starts: the response at
// the frame just after each window, targets[start+History].
func gatherTargets(targets, starts *Node, history int) *Node {
	b := starts.Shape().Dimensions[0]
	return Gather(targets, Reshape(AddScalar(starts, float64(history)), b, 1))
}

// bucketFrames rounds a stimulus length up so that lengths within about 12% share one compiled
// prediction graph: the top three bits of T are kept and the rest rounded up.
func bucketFrames(t int) int {
	const minBucket = 256
	if t <= minBucket {
		return minBucket
	}
	step := 1
	for (t-1)/step >= 8 {
		step *= 2
	}
	return ((t + step - 1) / step) * step
}

// newResidentPredictor compiles (lazily, once per stimulus shape and batch size) the model's
// rates on windows gathered on the device: inputs stim [T, H, W] and starts [B] int32.
func newResidentPredictor(backend compute.Backend, store *model.Store, mcfg nn.ModelConfig, norm datasets.NormStats) (*model.Exec, error) {
	history := mcfg.ImgShape[0]
	return model.NewExec(backend, store, func(ctx *model.Scope, stim, starts *Node) *Node {
		return nn.Forward(ctx.At(ModelScope), mcfg, gatherWindows(stim, starts, history, norm)).Rates
	})
}

// predictResident runs exec on the windows idx of r in fixed-size batches (the last one padded
// with window 0) and returns its per-window outputs [len(idx), width].
func predictResident(exec *model.Exec, r *residentWindows, idx []int, batchSize, width int) (datasets.Matrix, error) {
	out := datasets.NewMatrix(len(idx), width)
	for start := 0; start < len(idx); start += batchSize {
		end := min(start+batchSize, len(idx))
		res, err := exec.Exec(r.stim, startsTensor(idx[start:end], batchSize))
		if err != nil {
			return out, fmt.Errorf("predict: %w", err)
		}
		err = res[0].ConstFlatData(func(flat any) {
			copy(out.Data[start*width:end*width], flat.([]float32)[:(end-start)*width])
		})
		res[0].FinalizeAll()
		if err != nil {
			return out, fmt.Errorf("predict: %w", err)
		}
	}
	return out, nil
}
