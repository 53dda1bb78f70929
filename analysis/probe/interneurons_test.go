package probe

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
	"github.com/deepretina/deepretina/retina"
)

// cropUnits is a planted Recorder: layer "conv1" has 3 channels of 6×6 units over a 10×10
// frame, unit (y, x) reading pixel (y+2, x+2) of the last frame of its window (a "valid"
// crop). Channel 0 is that pixel, channel 1 its negative, channel 2 the pixel times 1e−9 (too
// small to trust: the reference's rule must zero it).
type cropUnits struct{ calls int }

func (u *cropUnits) Input() analysis.Input {
	return analysis.Input{History: 3, H: 10, W: 10, Norm: datasets.NormStats{Mean: 0, Std: 1}}
}

func (u *cropUnits) Layers() []retina.Layer {
	return []retina.Layer{{Name: "conv1", Shape: [3]int{3, 6, 6}}}
}

func (u *cropUnits) Record(stim datasets.Movie, layers []string, pre bool) ([]retina.Activations, error) {
	u.calls++
	in := u.Input()
	T := stim.T - in.History
	a := retina.Activations{Layer: "conv1", Shape: [4]int{T, 3, 6, 6}, Data: make([]float32, T*3*36)}
	for t := 0; t < T; t++ {
		f := stim.Frame(t + in.History - 1)
		for y := 0; y < 6; y++ {
			for x := 0; x < 6; x++ {
				v := f[(y+2)*10+x+2]
				base := t*108 + y*6 + x
				a.Data[base] = v
				a.Data[base+36] = -v
				a.Data[base+72] = 1e-9 * v
			}
		}
	}
	return []retina.Activations{a}, nil
}

// TestCompareInterneuronsFindsAShiftedCopy plants a cell that is the corner pixel (0, 0) of the
// stimulus plus a little noise: no unit sees that pixel unless the stimulus moves by 2 pixels
// down and right, which brings it under unit (row 0, col 0), the only way within 2 pixels. The
// search must find that unit at that shift with r ≈ 1, and score the too-quiet channel 0.
func TestCompareInterneuronsFindsAShiftedCopy(t *testing.T) {
	rec := &cropUnits{}
	in := rec.Input()
	const T = 400
	rng := rand.New(rand.NewPCG(1, 2))
	stim := datasets.NewMovie(T, 10, 10)
	for i := range stim.Data {
		stim.Data[i] = float32(rng.NormFloat64())
	}
	pot := datasets.NewMatrix(T-in.History, 2)
	for t := 0; t < pot.Rows; t++ {
		v := stim.Frame(t + in.History - 1)[0]
		pot.Set(t, 0, v+0.05*float32(rng.NormFloat64()))
		pot.Set(t, 1, -stim.Frame(t + in.History - 1)[4*10+6]) // an OFF copy of a covered pixel
	}
	data := []InterneuronData{{Source: "planted.h5", CellType: "bipolar", Group: "noise", Stimulus: stim, Potentials: pot}}
	res, err := CompareInterneurons(rec, data, CompareOptions{MaxShift: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rec.calls != 25 {
		t.Errorf("%d recordings for shifts up to 2 px, want 25", rec.calls)
	}
	if len(res.Cells) != 2 {
		t.Fatalf("%d cells compared, want 2", len(res.Cells))
	}
	b := res.Cells[0].Best
	if b.Channel != 0 || b.Row != 0 || b.Col != 0 || b.ShiftY != 2 || b.ShiftX != 2 || b.R < 0.99 {
		t.Errorf("best unit of the shifted copy: %+v; want channel 0, row 0, col 0 at shift (2, 2), r ≈ 1", b)
	}
	// Unit (row 2, col 4) sees pixel (4, 6) at no shift; the OFF copy matches channel 1.
	b = res.Cells[1].Best
	if b.Channel != 1 || b.R < 0.999 || b.Row-b.ShiftY != 2 || b.Col-b.ShiftX != 4 {
		t.Errorf("best unit of the OFF copy: %+v; want channel 1 at (row, col) − shift = (2, 4), r ≈ 1", b)
	}
	m := res.Cells[1].Maps["conv1"]
	if len(m) != 3 || len(m[0]) != 36 {
		t.Fatalf("correlation map %d channels × %d units, want 3 × 36", len(m), len(m[0]))
	}
	for k, r := range m[2] {
		if r != 0 {
			t.Fatalf("quiet channel 2, unit %d: r = %v; the reference's rule gives 0", k, r)
		}
	}
	if cb := res.Cells[1].ChannelBest("conv1"); cb[1] < 0.999 || cb[0] > 0.2 {
		t.Errorf("per-channel best of the OFF copy %v: want channel 1 ≈ 1 and channel 0 low", cb)
	}
	s := res.ByType["bipolar"]
	if s.Cells != 2 || math.Abs(s.MeanBest-(res.Cells[0].Best.R+res.Cells[1].Best.R)/2) > 1e-12 {
		t.Errorf("bipolar summary %+v", s)
	}
}

func TestPrepareInterneuronsConventions(t *testing.T) {
	in := analysis.Input{History: 2, H: 6, W: 6, Norm: datasets.NormStats{Mean: 10, Std: 2}}
	stim := datasets.NewMovie(5, 2, 4) // smaller than the model's frame: padded, centred
	for i := range stim.Data {
		stim.Data[i] = float32(i % 2)
	}
	pot := datasets.NewMatrix(5, 1)
	for i := range pot.Data {
		pot.Data[i] = float32(i)
	}
	group := func(name string) datasets.InterneuronGroup {
		return datasets.InterneuronGroup{Name: name, Stimuli: stim, Potentials: pot}
	}
	for _, tc := range []struct {
		name       string
		provenance string
		group      string
		opts       InterneuronOptions
		// the value of stimulus pixel (frame 0, row 2, col 2) (source pixel (0, 1): 1) and of a
		// padded pixel, in the model's raw units
		inside, pad float32
	}{
		{"lab boxes", "recorded", "boxes", InterneuronOptions{}, 10 + 2*(2*1-1), 10},
		{"lab lines", "recorded", "lines", InterneuronOptions{}, 10 + 2*1, 10},
		{"simulator", "simulated retina preset=small seed=1", "whitenoise", InterneuronOptions{}, 1, 10},
		{"forced raw", "recorded", "lines", InterneuronOptions{Units: StimulusRaw}, 1, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := &datasets.InterneuronSet{CellType: "amacrines", Provenance: tc.provenance,
				Groups: []datasets.InterneuronGroup{group(tc.group)}}
			d, err := PrepareInterneurons(set, "f.h5", in, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(d) != 1 || d[0].CellType != "amacrine" || d[0].Group != tc.group {
				t.Fatalf("prepared %+v", d)
			}
			s := d[0].Stimulus
			if s.T != 5 || s.H != 6 || s.W != 6 {
				t.Fatalf("stimulus %d×%d×%d, want 5×6×6", s.T, s.H, s.W)
			}
			// Offsets (6−2)/2 = 2 rows, (6−4)/2 = 1 column: pixel (2, 2) is source (0, 1).
			if got := s.Frame(0)[2*6+2]; got != tc.inside {
				t.Errorf("pixel (2, 2) = %v, want %v", got, tc.inside)
			}
			if got := s.Frame(0)[0]; got != tc.pad {
				t.Errorf("padded pixel = %v, want %v (mean grey)", got, tc.pad)
			}
			if d[0].Potentials.Rows != 3 || d[0].Potentials.At(0, 0) != 2 {
				t.Errorf("potentials %v: want the first History=2 samples dropped", d[0].Potentials.Data)
			}
		})
	}
	set := &datasets.InterneuronSet{CellType: "bipolars", Groups: []datasets.InterneuronGroup{group("flashes"), group("boxes")}}
	if d, err := PrepareInterneurons(set, "f.h5", in, InterneuronOptions{}); err != nil || len(d) != 1 || d[0].Group != "boxes" {
		t.Errorf("default groups: %v %v; want only boxes, the reference's", d, err)
	}
	set.Provenance = "simulated retina preset=small seed=1; bipolar potentials"
	if d, err := PrepareInterneurons(set, "f.h5", in, InterneuronOptions{}); err != nil || len(d) != 2 {
		t.Errorf("default groups of the simulator's file: %d groups, %v; want both", len(d), err)
	}
	if _, err := PrepareInterneurons(set, "f.h5", in, InterneuronOptions{Groups: []string{"movingbar"}}); err == nil ||
		!strings.Contains(err.Error(), `no stimulus group "movingbar" (the file has flashes, boxes)`) {
		t.Errorf("missing group: %v", err)
	}
}

// TestSimulateInterneuronsMatchesSimulate: the short-cut gives exactly the interneurons a full
// simulation writes.
func TestSimulateInterneuronsMatchesSimulate(t *testing.T) {
	cfg, err := simretina.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	cfg.H, cfg.W, cfg.NCells = 12, 12, 3
	cfg.TrainSeconds, cfg.TestSeconds, cfg.Repeats, cfg.InterneuronSeconds = 4, 1, 2, 2
	full, err := simretina.Simulate(cfg, []string{datasets.NaturalScene}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := SimulateInterneurons(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(full.Interneurons) {
		t.Fatalf("%d interneuron sets, want %d", len(got), len(full.Interneurons))
	}
	for i, want := range full.Interneurons {
		g := got[i]
		if g.CellType != want.CellType || g.Provenance != want.Provenance || len(g.Groups) != len(want.Groups) {
			t.Fatalf("set %d: %s / %q, want %s / %q", i, g.CellType, g.Provenance, want.CellType, want.Provenance)
		}
		for j := range want.Groups {
			if !slices.Equal(g.Groups[j].Stimuli.Data, want.Groups[j].Stimuli.Data) ||
				!slices.Equal(g.Groups[j].Potentials.Data, want.Groups[j].Potentials.Data) {
				t.Errorf("set %s group %s differs from the full simulation's", want.CellType, want.Groups[j].Name)
			}
		}
	}
}
