package phenomena

import (
	"math"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/phenomena/stimuli"
)

// spotResponder is a linear cell with a Gaussian receptive field at a known centre, responding
// to the frame it predicts (one frame of delay): rate = 20 + 10·Σ w(p)·s(t−1, p).
type spotResponder struct {
	h, w    int
	centres []stimuli.Point
}

func (s spotResponder) InputShape() [3]int   { return [3]int{3, s.h, s.w} }
func (s spotResponder) FrameRate() float64   { return 100 }
func (s spotResponder) PixelSizeUM() float64 { return 55 }
func (s spotResponder) Respond(stim datasets.Movie) (datasets.Matrix, error) {
	out := datasets.NewMatrix(stim.T-3, len(s.centres))
	for t := 0; t < out.Rows; t++ {
		f := stim.Frame(t + 2)
		for c, p := range s.centres {
			var v float64
			for y := 0; y < s.h; y++ {
				for x := 0; x < s.w; x++ {
					d2 := (float64(y)-p.Y)*(float64(y)-p.Y) + (float64(x)-p.X)*(float64(x)-p.X)
					v += math.Exp(-d2/(2*1.5*1.5)) * float64(f[y*s.w+x])
				}
			}
			out.Set(t, c, float32(20+10*v))
		}
	}
	return out, nil
}

func TestReceptiveFieldCentres(t *testing.T) {
	want := []stimuli.Point{{Y: 5, X: 12.5}, {Y: 14, X: 4}, {Y: 9.5, X: 9.5}}
	got, err := ReceptiveFieldCentres(spotResponder{h: 20, w: 20, centres: want})
	if err != nil {
		t.Fatal(err)
	}
	for c := range want {
		if d := math.Hypot(got[c].Y-want[c].Y, got[c].X-want[c].X); d > 0.5 {
			t.Errorf("cell %d: centre %+v, want %+v (off by %.2f px)", c, got[c], want[c], d)
		}
	}
	// The simulated retina: every cell, the object-motion-sensitive one included, is found
	// within 1.5 pixels of its true centre.
	truth := simTruth(t)
	rfs, err := ReceptiveFieldCentres(truth)
	if err != nil {
		t.Fatal(err)
	}
	for c, p := range truth.Retina.CellCentres() {
		if d := math.Hypot(rfs[c].Y-p.Y, rfs[c].X-p.X); d > 1.5 {
			t.Errorf("simulated cell %d (%s): centre %+v, true %+v", c, truth.Retina.CellTypes()[c], rfs[c], p)
		}
	}
}

func TestDifferentialCircleAt(t *testing.T) {
	g := stimuli.Grating{Period: 4, Contrast: 1, Square: true}
	still, moving := make([]float64, 3), []float64{0, 1, 2}
	m, err := stimuli.DifferentialCircleAt(16, 16, 2, stimuli.Point{Y: 4, X: 11}, g, moving, still)
	if err != nil {
		t.Fatal(err)
	}
	// Frames differ inside the disc around (4, 11) and nowhere else.
	inside := 0
	for r := 0; r < 16; r++ {
		for c := 0; c < 16; c++ {
			differs := m.Frame(0)[r*16+c] != m.Frame(1)[r*16+c]
			in := math.Hypot(float64(r)-4, float64(c)-11) <= 2
			if differs && !in {
				t.Fatalf("pixel (%d,%d) outside the disc changed", r, c)
			}
			if differs {
				inside++
			}
		}
	}
	if inside == 0 {
		t.Error("the disc did not move")
	}
}
