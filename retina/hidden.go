package retina

import (
	"fmt"
	"slices"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina/nn"
)

// Layer describes a hidden layer of a model: its stable name and the shape of its units.
type Layer struct {
	Name  string // "conv1" (read as bipolar cells), "conv2" (read as amacrine cells)
	Shape [3]int // [C, H, W]: channels × rows × columns of units
}

// Layers lists the model's hidden layers from the input up; an LN model has none.
func (m *Model) Layers() []Layer {
	return modelLayers(m.Meta.Model)
}

func modelLayers(mcfg nn.ModelConfig) []Layer {
	shapes := mcfg.LayerShapes()
	var out []Layer
	for _, name := range nn.HiddenLayerNames(mcfg) {
		out = append(out, Layer{Name: name, Shape: shapes[name]})
	}
	return out
}

// HiddenOptions choose what Model.Hidden reads out.
type HiddenOptions struct {
	Layers []string // layer names; nil: every hidden layer
	// PreNonlinearity reads the layers before their ReLU (the batch norm's output) instead of
	// after it: the graded signal that a membrane potential is compared with.
	PreNonlinearity bool
}

// Activations are one hidden layer's responses to a stimulus.
//
//	Data: [T, C, H, W] float32, T = stimulus frames − history (row t ↔ frame t+history, as Predict)
type Activations struct {
	Layer string
	Shape [4]int
	Data  []float32
}

// At returns the activation of unit (c, y, x) at window t.
func (a Activations) At(t, c, y, x int) float32 {
	return a.Data[((t*a.Shape[1]+c)*a.Shape[2]+y)*a.Shape[3]+x]
}

// Unit returns the time course [T] of unit (c, y, x).
func (a Activations) Unit(c, y, x int) []float32 {
	out := make([]float32, a.Shape[0])
	for t := range out {
		out[t] = a.At(t, c, y, x)
	}
	return out
}

// hiddenKey identifies one compiled read-out; GoMLX compiles it again only for a new input shape.
type hiddenKey struct {
	layers string
	pre    bool
}

// Hidden runs the model on a raw stimulus and returns the activations of the chosen hidden
// layers, in the order asked (model order by default).
//
//	stim: [T, H, W] raw units (the stored norm stats are applied)
func (m *Model) Hidden(stim datasets.Movie, opts HiddenOptions) ([]Activations, error) {
	layers, err := m.chooseLayers(opts.Layers)
	if err != nil {
		return nil, err
	}
	w, err := m.Windows(stim, datasets.Matrix{})
	if err != nil {
		return nil, err
	}
	exec, err := m.hiddenExec(layers, opts.PreNonlinearity)
	if err != nil {
		return nil, err
	}
	width := 0
	for _, l := range layers {
		width += l.Shape[0] * l.Shape[1] * l.Shape[2]
	}
	all, err := m.run(exec, w, width)
	if err != nil {
		return nil, err
	}
	// Split the concatenated per-window rows into one [T, C, H, W] block per layer.
	out := make([]Activations, len(layers))
	offset := 0
	for i, l := range layers {
		n := l.Shape[0] * l.Shape[1] * l.Shape[2]
		a := Activations{Layer: l.Name, Shape: [4]int{all.Rows, l.Shape[0], l.Shape[1], l.Shape[2]}, Data: make([]float32, all.Rows*n)}
		for t := 0; t < all.Rows; t++ {
			copy(a.Data[t*n:(t+1)*n], all.Data[t*width+offset:t*width+offset+n])
		}
		out[i] = a
		offset += n
	}
	return out, nil
}

func (m *Model) chooseLayers(names []string) ([]Layer, error) {
	all := m.Layers()
	if len(all) == 0 {
		return nil, fmt.Errorf("model %s has no hidden layers", m.Meta.Model.Type)
	}
	if names == nil {
		return all, nil
	}
	var out []Layer
	for _, n := range names {
		i := slices.IndexFunc(all, func(l Layer) bool { return l.Name == n })
		if i < 0 {
			var have []string
			for _, l := range all {
				have = append(have, l.Name)
			}
			return nil, fmt.Errorf("model %s has no hidden layer %q (it has %s)", m.Meta.Model.Type, n, strings.Join(have, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// hiddenExec returns the compiled read-out of layers, building it on first use.
func (m *Model) hiddenExec(layers []Layer, pre bool) (*model.Exec, error) {
	names := make([]string, len(layers))
	for i, l := range layers {
		names[i] = l.Name
	}
	key := hiddenKey{layers: strings.Join(names, ","), pre: pre}
	c := m.hidden
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.execs[key]; ok {
		return e, nil
	}
	mcfg, history, norm := m.Meta.Model, m.Meta.InputShape[0], m.Meta.NormStats
	exec, err := model.NewExec(m.backend, m.store, func(ctx *model.Scope, stim, starts *Node) *Node {
		c.builds.Add(1)
		out := nn.Forward(ctx.At(ModelScope), mcfg, gatherWindows(stim, starts, history, norm))
		src := out.Hidden
		if pre {
			src = out.PreActivation
		}
		b := starts.Shape().Dimensions[0]
		parts := make([]*Node, len(names))
		for i, n := range names {
			parts[i] = Reshape(src[n], b, -1)
		}
		if len(parts) == 1 {
			return parts[0]
		}
		return Concatenate(parts, 1)
	})
	if err != nil {
		return nil, err
	}
	c.execs[key] = exec
	return exec, nil
}
