package analysis

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/nn"
)

// Target is what a gradient analysis (receptive field, optimisation) follows: a ganglion cell
// of the model's output, or one hidden unit.
type Target struct {
	Layer           string // "": the output (ganglion cell Cell); else a hidden layer ("conv1", "conv2")
	Cell            int    // the output's cell index, when Layer is ""
	Channel         int    // the unit, when Layer is set
	Row, Col        int
	PreNonlinearity bool // the unit before its ReLU (the batch norm's output)
}

// Ganglion is the target of output cell c.
func Ganglion(c int) Target { return Target{Cell: c} }

// Unit is the target of hidden unit (channel, row, col) of layer, after its nonlinearity.
func Unit(layer string, channel, row, col int) Target {
	return Target{Layer: layer, Channel: channel, Row: row, Col: col}
}

func (t Target) String() string {
	if t.Layer == "" {
		return fmt.Sprintf("ganglion cell %d", t.Cell)
	}
	pre := ""
	if t.PreNonlinearity {
		pre = " (before ReLU)"
	}
	return fmt.Sprintf("%s unit (channel %d, row %d, col %d)%s", t.Layer, t.Channel, t.Row, t.Col, pre)
}

// check validates t against model configuration mcfg.
func (t Target) check(mcfg nn.ModelConfig) error {
	if t.Layer == "" {
		if t.Cell < 0 || t.Cell >= mcfg.NCells {
			return fmt.Errorf("%s: the model has cells 0…%d", t, mcfg.NCells-1)
		}
		return nil
	}
	shapes := mcfg.LayerShapes()
	s, ok := shapes[t.Layer]
	if !ok {
		var have []string
		for n := range shapes {
			have = append(have, n)
		}
		slices.Sort(have)
		return fmt.Errorf("%s: the model has no hidden layer %q (it has %s)", t, t.Layer, strings.Join(have, ", "))
	}
	if t.Channel < 0 || t.Channel >= s[0] || t.Row < 0 || t.Row >= s[1] || t.Col < 0 || t.Col >= s[2] {
		return fmt.Errorf("%s: outside the layer's %d×%d×%d units", t, s[0], s[1], s[2])
	}
	return nil
}

// node picks the target's value [B] out of a forward pass: a masked sum rather than a Slice,
// whose gradient needs an op (Pad) the pure-Go backend lacks.
func (t Target) node(out nn.Outputs) *Node {
	src, idx := out.Rates, t.Cell
	if t.Layer != "" {
		src = out.Hidden[t.Layer]
		if t.PreNonlinearity {
			src = out.PreActivation[t.Layer]
		}
		d := src.Shape().Dimensions
		idx = (t.Channel*d[2]+t.Row)*d[3] + t.Col
	}
	b := src.Shape().Dimensions[0]
	flat := Reshape(src, b, -1)
	mask := make([]float32, flat.Shape().Dimensions[1])
	mask[idx] = 1
	return ReduceSum(Mul(flat, Const(src.Graph(), [][]float32{mask})), 1)
}

// newModelExec compiles fn on the model's variables (read only). Inputs and outputs are as fn's.
func newModelExec[F model.ExecGraphFn](m *retina.Model, fn F) (*model.Exec, error) {
	return model.NewExec(m.Backend(), m.Store(), fn)
}

// forward runs the model on z-scored windows x [B, History, H, W] inside a graph.
func forward(ctx *model.Scope, m *retina.Model, x *Node) nn.Outputs {
	return nn.Forward(ctx.At(retina.ModelScope), m.Meta.Model, x)
}

// windowsTensor is a [B, History, H, W] float32 input.
func windowsTensor(data []float32, b int, in Input) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(data, b, in.History, in.H, in.W)
}

// flat copies a result tensor's values out and releases it.
func flat(t *tensors.Tensor) ([]float32, error) {
	defer t.FinalizeAll()
	var out []float32
	err := t.ConstFlatData(func(f any) {
		v, ok := f.([]float32)
		if ok {
			out = append([]float32(nil), v...)
		}
	})
	if err == nil && out == nil {
		err = fmt.Errorf("result is %s, not float32", t.DType())
	}
	return out, err
}

// scalarTensor is a float32 scalar input.
func scalarTensor(v float32) *tensors.Tensor { return tensors.FromScalar(v) }

// NoiseWindows fills dst ([B·History·H·W]) with white noise in z-scored units: Gaussian with SD
// contrast, or binary ±contrast.
func NoiseWindows(dst []float32, contrast float64, binary bool, rng *rand.Rand) {
	c := float32(contrast)
	for i := range dst {
		if binary {
			if rng.Uint64()&1 == 1 {
				dst[i] = c
			} else {
				dst[i] = -c
			}
		} else {
			dst[i] = c * float32(rng.NormFloat64())
		}
	}
}
