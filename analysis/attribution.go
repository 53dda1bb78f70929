package analysis

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina"
)

// IGOptions configure IntegratedGradients.
type IGOptions struct {
	Layer string // hidden layer the response is attributed to (default: the first, "conv1")
	// PreNonlinearity attributes to the layer's units before their ReLU.
	PreNonlinearity bool
	Steps           int // α steps from the zero baseline to the stimulus (default 5, the reference's)
	Batch           int // windows per compiled step (default 32)
}

// Attribution is the integrated-gradients attribution of ganglion cells' responses to the
// channels of one hidden layer, window by window.
//
//	Channels: [cell][T][C]: the attribution of cell's response in window t to channel c (summed
//	          over the channel's units)
//	Output:   [cell][T]: the response F(x) of each window; Baseline [cell]: F(0), the response to
//	          the zero (mean grey) stimulus. Completeness: Σ_c Channels[cell][t][c] ≈
//	          Output[cell][t] − Baseline[cell], the better the more steps.
type Attribution struct {
	Layer           string
	PreNonlinearity bool
	Steps           int
	Cells           []int
	Channels        [][][]float64
	Output          [][]float64
	Baseline        []float64
}

// Residual is the largest completeness error |Σ_c attribution − (output − baseline)| of any
// cell and window.
func (a *Attribution) Residual() float64 {
	worst := 0.0
	for k := range a.Cells {
		for t, row := range a.Channels[k] {
			s := 0.0
			for _, v := range row {
				s += v
			}
			worst = max(worst, abs(s-(a.Output[k][t]-a.Baseline[k])))
		}
	}
	return worst
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// IntegratedGradients attributes the responses of the ganglion cells `cells` (nil: all) to a raw
// stimulus to the channels of a hidden layer over time, as the reference's
// integrated_gradient: the stimulus x (z-scored) is scaled from the zero baseline (mean grey)
// to itself in Steps equal steps α_k = k/Steps, the layer's activation h(α_k·x) recorded
// along the way, and each unit's attribution is the path integral Σ_k ∂F/∂h · Δh_k, here with
// the trapezoid rule (the mean of the gradients at both ends of each step), so that the
// attributions of all units add up to F(x) − F(0) up to the discretisation error.
//
//	stim: [T, H, W] raw units; the result has T − History windows
func IntegratedGradients(m *retina.Model, stim datasets.Movie, cells []int, opts IGOptions) (*Attribution, error) {
	layers := m.Layers()
	if len(layers) == 0 {
		return nil, fmt.Errorf("integrated gradients: model %s has no hidden layers", m.Meta.Model.Type)
	}
	if opts.Layer == "" {
		opts.Layer = layers[0].Name
	}
	picked, err := SelectLayers(layers, []string{opts.Layer})
	if err != nil {
		return nil, fmt.Errorf("integrated gradients: %w", err)
	}
	shape := picked[0].Shape
	if opts.Steps <= 0 {
		opts.Steps = 5
	}
	if opts.Batch <= 0 {
		opts.Batch = 32
	}
	n := m.Meta.Model.NCells
	if cells == nil {
		cells = AllWindows(n)
	}
	for _, c := range cells {
		if c < 0 || c >= n {
			return nil, fmt.Errorf("integrated gradients: cell %d; the model has cells 0…%d", c, n-1)
		}
	}
	w, err := m.Windows(stim, datasets.Matrix{})
	if err != nil {
		return nil, err
	}
	in := InputOf(m)
	nc, hw := shape[0], shape[1]*shape[2]
	layer, pre := opts.Layer, opts.PreNonlinearity
	exec, err := igExec(m, layer, pre)
	if err != nil {
		return nil, fmt.Errorf("integrated gradients: %w", err)
	}
	res := &Attribution{Layer: layer, PreNonlinearity: pre, Steps: opts.Steps, Cells: cells,
		Channels: make([][][]float64, len(cells)), Output: make([][]float64, len(cells)), Baseline: make([]float64, len(cells))}
	T := w.Len()
	size := w.XSize()
	x := make([]float32, opts.Batch*size)
	for k, cell := range cells {
		onehot := make([]float32, n)
		onehot[cell] = 1
		res.Channels[k] = make([][]float64, T)
		res.Output[k] = make([]float64, T)
		for start := 0; start < T; start += opts.Batch {
			end := min(start+opts.Batch, T)
			clear(x)
			for i := start; i < end; i++ {
				w.CopyX(x[(i-start)*size:(i-start+1)*size], i)
			}
			attr, err := igBatch(exec, x, onehot, in, opts, end-start, nc, hw, func(i int, f float32) {
				res.Output[k][start+i] = float64(f)
			}, &res.Baseline[k])
			if err != nil {
				return nil, fmt.Errorf("integrated gradients of cell %d: %w", cell, err)
			}
			for i := start; i < end; i++ {
				res.Channels[k][i] = attr[(i-start)*nc : (i-start+1)*nc]
			}
		}
	}
	return res, nil
}

// igExec builds one graph for every cell and step: inputs the z-scored windows x [B, History,
// H, W], the step's α (scalar) and a one-hot choice of cell [N]; outputs the layer's activation
// h(α·x) and the gradient of the chosen cell's response with respect to it, both [B, C·H·W],
// and that response [B]. The path integral is summed on the host (igBatch).
func igExec(m *retina.Model, layer string, pre bool) (*model.Exec, error) {
	return newModelExec(m, func(ctx *model.Scope, x, alpha, onehot *Node) (*Node, *Node, *Node) {
		out := forward(ctx, m, Mul(x, alpha))
		h := out.Hidden[layer]
		if pre {
			h = out.PreActivation[layer]
		}
		f := ReduceSum(Mul(out.Rates, InsertAxes(onehot, 0)), 1) // [B]
		g := Gradient(ReduceAllSum(f), h)[0]
		b := x.Shape().Dimensions[0]
		return Reshape(h, b, -1), Reshape(g, b, -1), f
	})
}

// igBatch integrates the gradients of one cell (onehot) over the nb windows in x along the
// straight path from a blank input, by the trapezoidal rule over opts.Steps steps: the
// attribution of each window to each of the layer's nc channels (hw units each), [nb·nc]. It
// sets *baseline to the response to the blank input and reports the full response of window i
// through output.
func igBatch(exec *model.Exec, x, onehot []float32, in Input, opts IGOptions, nb, nc, hw int, output func(i int, f float32), baseline *float64) ([]float64, error) {
	units := nc * hw
	attr := make([]float64, nb*nc)
	var hPrev, gPrev []float32
	for step := 0; step <= opts.Steps; step++ {
		alpha := float32(step) / float32(opts.Steps)
		out, err := exec.Exec(windowsTensor(x, opts.Batch, in), scalarTensor(alpha), tensors.FromFlatDataAndDimensions(onehot, len(onehot)))
		if err != nil {
			return nil, err
		}
		h, err := flat(out[0])
		if err != nil {
			return nil, err
		}
		g, err := flat(out[1])
		if err != nil {
			return nil, err
		}
		f, err := flat(out[2])
		if err != nil {
			return nil, err
		}
		if step == 0 {
			*baseline = float64(f[0])
		} else {
			for i := 0; i < nb; i++ {
				for u := 0; u < units; u++ {
					j := i*units + u
					attr[i*nc+u/hw] += 0.5 * float64(g[j]+gPrev[j]) * float64(h[j]-hPrev[j])
				}
			}
		}
		if step == opts.Steps {
			for i := range nb {
				output(i, f[i])
			}
		}
		hPrev, gPrev = h, g
	}
	return attr, nil
}
