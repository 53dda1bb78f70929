package analysis

import (
	"fmt"
	"slices"
	"strings"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina"
)

// Input describes the stimulus a model reads: windows of History frames of H×W pixels, in raw
// stimulus units that the model normalises with Norm (z = (raw − Norm.Mean) / Norm.Std).
type Input struct {
	History, H, W int
	Norm          datasets.NormStats
}

// InputOf is the input of a trained or untrained model.
func InputOf(m *retina.Model) Input {
	s := m.Meta.InputShape
	return Input{History: s[0], H: s[1], W: s[2], Norm: m.Meta.NormStats}
}

// Raw converts a value in the model's normalised (z-scored) units to raw stimulus units.
func (in Input) Raw(z float32) float32 {
	return z*float32(in.Norm.Std) + float32(in.Norm.Mean)
}

// Recorder is what the unit analyses probe: something with named hidden layers of units
// (channel × row × column) whose activity can be recorded on a raw stimulus. *retina.Model
// is one through ModelUnits; tests plant units of known behaviour through it.
type Recorder interface {
	Input() Input
	// Layers lists the hidden layers from the input up (names as retina.Model.Layers).
	Layers() []retina.Layer
	// Record returns the activations of the named layers (nil: all), [T−History, C, H, W] each,
	// before (pre) or after the nonlinearity. stim: [T, H, W] raw units.
	Record(stim datasets.Movie, layers []string, pre bool) ([]retina.Activations, error)
}

// ModelUnits makes a model a Recorder (its hidden layers "conv1", "conv2", read by
// retina.Model.Hidden).
func ModelUnits(m *retina.Model) Recorder { return modelUnits{m} }

type modelUnits struct{ m *retina.Model }

func (u modelUnits) Input() Input           { return InputOf(u.m) }
func (u modelUnits) Layers() []retina.Layer { return u.m.Layers() }
func (u modelUnits) Record(stim datasets.Movie, layers []string, pre bool) ([]retina.Activations, error) {
	return u.m.Hidden(stim, retina.HiddenOptions{Layers: layers, PreNonlinearity: pre})
}

// CheckRecorded checks that a recorder returned what was asked: one [T, C, H, W] block per
// layer, with T = frames − history rows.
func CheckRecorded(acts []retina.Activations, layers []retina.Layer, rows int) error {
	if len(acts) != len(layers) {
		return fmt.Errorf("recorded %d layers, asked for %d", len(acts), len(layers))
	}
	for i, a := range acts {
		l := layers[i]
		want := [4]int{rows, l.Shape[0], l.Shape[1], l.Shape[2]}
		if a.Shape != want || len(a.Data) != rows*l.Shape[0]*l.Shape[1]*l.Shape[2] {
			return fmt.Errorf("layer %s: recorded shape %v (%d values), want %v", l.Name, a.Shape, len(a.Data), want)
		}
	}
	return nil
}

// SelectLayers returns the named layers of all (nil: all of them), in the order named.
func SelectLayers(all []retina.Layer, names []string) ([]retina.Layer, error) {
	if len(all) == 0 {
		return nil, fmt.Errorf("the model has no hidden layers (an LN model has none to probe)")
	}
	if names == nil {
		return all, nil
	}
	var out []retina.Layer
	for _, n := range names {
		i := slices.IndexFunc(all, func(l retina.Layer) bool { return l.Name == n })
		if i < 0 {
			have := make([]string, len(all))
			for j, l := range all {
				have[j] = l.Name
			}
			return nil, fmt.Errorf("no hidden layer %q (the model has %s)", n, strings.Join(have, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}
