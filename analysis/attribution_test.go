package analysis

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina/nn"
)

// TestIntegratedGradientsCompleteness: the attributions of a layer's channels add up to
// F(x) − F(0) (the response minus the response to mean grey), up to the path integral's
// discretisation error, which shrinks as the steps grow; F(x) is the model's own prediction.
func TestIntegratedGradientsCompleteness(t *testing.T) {
	for _, typ := range []string{nn.ModelBNCNN, nn.ModelLinearStacked} {
		m := tinyCNN(t, typ)
		in := InputOf(m)
		rng := rand.New(rand.NewPCG(4, 4))
		stim := datasets.NewMovie(in.History+12, in.H, in.W)
		for i := range stim.Data {
			stim.Data[i] = float32(rng.NormFloat64())
		}
		rates, err := m.Predict(stim)
		if err != nil {
			t.Fatal(err)
		}
		for _, opts := range []IGOptions{{Layer: "conv1"}, {Layer: "conv2", PreNonlinearity: true}} {
			var coarse float64
			for _, steps := range []int{2, 20} {
				opts.Steps, opts.Batch = steps, 8
				a, err := IntegratedGradients(m, stim, []int{1, 0}, opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(a.Channels) != 2 || len(a.Channels[0]) != 12 || len(a.Channels[0][0]) != m.Meta.Model.Chans[layerIndex(opts.Layer)] {
					t.Fatalf("%s %s: attribution shape %d×%d×%d", typ, opts.Layer, len(a.Channels), len(a.Channels[0]), len(a.Channels[0][0]))
				}
				var scale float64
				for k, cell := range a.Cells {
					for w := range a.Output[k] {
						if d := math.Abs(a.Output[k][w] - float64(rates.At(w, cell))); d > 1e-4 {
							t.Fatalf("%s: F(x) of cell %d, window %d is %v; Predict gives %v", typ, cell, w, a.Output[k][w], rates.At(w, cell))
						}
						scale = max(scale, math.Abs(a.Output[k][w]-a.Baseline[k]))
					}
				}
				res := a.Residual()
				t.Logf("%s %s pre=%v steps %d: residual %.2g of responses up to %.2g", typ, opts.Layer, opts.PreNonlinearity, steps, res, scale)
				if steps == 2 {
					coarse = res
					continue
				}
				if res > 0.03*scale {
					t.Errorf("%s %s: completeness residual %v with %d steps, responses up to %v", typ, opts.Layer, res, steps, scale)
				}
				if res > coarse && coarse > 1e-6 {
					t.Errorf("%s %s: residual %v with %d steps, larger than %v with 2", typ, opts.Layer, res, steps, coarse)
				}
			}
		}
	}
}

func layerIndex(name string) int {
	if name == "conv2" {
		return 1
	}
	return 0
}
