package probe

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/metrics"
)

func noiseMovie(T, h, w int, rng *rand.Rand) datasets.Movie {
	m := datasets.NewMovie(T, h, w)
	for i := range m.Data {
		m.Data[i] = float32(rng.NormFloat64())
	}
	return m
}

// TestHeldOutScoresSelectionNoiseAsNothing plants cells unrelated to the stimulus: the best of
// 108 units reaches a clearly positive r in sample (selection alone), but the unit chosen on the
// first half scores about 0 on the second, as does the circular-shift null; a cell that copies a
// pixel keeps its r held out, far above its null.
func TestHeldOutScoresSelectionNoiseAsNothing(t *testing.T) {
	rec := &cropUnits{}
	in := rec.Input()
	const T, noiseCells = 600, 12
	rng := rand.New(rand.NewPCG(5, 6))
	stim := noiseMovie(T, 10, 10, rng)
	pot := datasets.NewMatrix(T-in.History, noiseCells+1)
	for t := 0; t < pot.Rows; t++ {
		for c := 0; c < noiseCells; c++ {
			pot.Set(t, c, float32(rng.NormFloat64()))
		}
		pot.Set(t, noiseCells, stim.Frame(t + in.History - 1)[4*10+6]+0.3*float32(rng.NormFloat64()))
	}
	types := make([]string, noiseCells+1)
	for c := range types {
		types[c] = "unrelated"
	}
	types[noiseCells] = "copy"
	data := []InterneuronData{{Source: "planted.h5", CellType: "amacrine", Group: "noise", Stimulus: stim, Potentials: pot, Subtypes: types}}
	res, err := CompareInterneurons(rec, data, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u, c := res.BySubtype["amacrine unrelated"], res.BySubtype["amacrine copy"]
	if u.Cells != noiseCells || c.Cells != 1 || res.ByType["amacrine"].Cells != noiseCells+1 {
		t.Fatalf("per-cell labels: types %v, subtypes %v; want %d amacrines: %d unrelated and 1 copy", res.ByType, res.BySubtype, noiseCells+1, noiseCells)
	}
	if u.MeanBest < 0.08 {
		t.Errorf("unrelated cells in sample %.3f: the best of 108 units should reach well above 0 by selection", u.MeanBest)
	}
	if math.Abs(u.HeldOut) > 0.05 || math.Abs(u.Null) > 0.05 {
		t.Errorf("unrelated cells: held out %.3f, null %.3f; want ≈ 0", u.HeldOut, u.Null)
	}
	if u.NullInSample < 0.08 {
		t.Errorf("unrelated cells: in-sample null %.3f; the shifted copies are as unrelated, so selection lifts them as much", u.NullInSample)
	}
	want := 1 / math.Sqrt(1+0.09) // r of a pixel with the pixel plus noise of SD 0.3
	if math.Abs(c.HeldOut-want) > 0.05 || c.Null > 0.15 {
		t.Errorf("copy cell: held out %.3f (want ≈ %.3f), null %.3f (want ≈ 0)", c.HeldOut, want, c.Null)
	}
	b := res.Cells[noiseCells].HeldOut.Best
	if b.Channel != 0 || b.Row != 2 || b.Col != 4 {
		t.Errorf("copy cell: unit chosen on the first half %+v; want channel 0, row 2, col 4", b)
	}
	sp := res.Split["planted.h5/noise"]
	if sp[1]+in.History != sp[2] || sp[3] != T-in.History || sp[1] < 200 {
		t.Errorf("split %v: want halves of %d rows with a gap of %d", sp, T-in.History, in.History)
	}
	if len(res.RepeatedStimulus) != 0 {
		t.Errorf("white noise flagged as a repeated stimulus: %v", res.RepeatedStimulus)
	}
}

// TestSegmentCorrelationsMatchPearson checks the segment sums against Pearson's r computed
// directly on the rows of each part, for units with a large mean.
func TestSegmentCorrelationsMatchPearson(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const T, U = 250, 4
	data := make([]float32, T*U)
	for i := range data {
		data[i] = float32(rng.NormFloat64()) + 500
	}
	y := make([]float64, T)
	for t := range y {
		y[t] = float64(data[t*U+1]) + rng.NormFloat64()
	}
	bounds, ok := heldOutSplit(T, 7)
	if !ok {
		t.Fatal("250 rows cannot be split")
	}
	st := correlateSegments(data, T, U, [][]float64{y}, bounds)
	for u := 0; u < U; u++ {
		col := make([]float64, T)
		for t := range col {
			col[t] = float64(data[t*U+u])
		}
		for _, tc := range []struct {
			segs   []int
			lo, hi int
		}{{[]int{segSelect}, bounds[0], bounds[1]}, {[]int{segScore}, bounds[2], bounds[3]}, {[]int{segSelect, segGap, segScore}, 0, T}} {
			want := metrics.PearsonFloat64(col[tc.lo:tc.hi], y[tc.lo:tc.hi])
			if got := st.r(u, 0, tc.segs...); math.Abs(got-want) > 1e-6 {
				t.Errorf("unit %d rows [%d, %d): r %.8f, want %.8f", u, tc.lo, tc.hi, got, want)
			}
		}
	}
}

func TestRepeatedStimulus(t *testing.T) {
	const history = 5
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name  string
		movie datasets.Movie
		want  bool
	}{
		{"white noise", noiseMovie(400, 3, 3, rng), false},
		{"flash cycles", func() datasets.Movie {
			m := datasets.NewMovie(400, 3, 3)
			levels := []float32{0, 1, 0, -1}
			for t := 0; t < m.T; t++ {
				for i := range m.Frame(t) {
					m.Frame(t)[i] = levels[(t/10)%4]
				}
			}
			return m
		}(), true},
	} {
		bounds, _ := heldOutSplit(tc.movie.T-history, history)
		if got := repeatedStimulus(tc.movie, history, bounds); got != tc.want {
			t.Errorf("%s: repeated %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCircularNullShifts(t *testing.T) {
	for _, tc := range []struct{ rows, history, want int }{{1000, 40, 3}, {100, 40, 1}, {60, 40, 0}} {
		s := circularNullShifts(tc.rows, tc.history)
		if len(s) != tc.want {
			t.Errorf("rows %d history %d: shifts %v, want %d", tc.rows, tc.history, s, tc.want)
		}
		for _, v := range s {
			if v <= tc.history || tc.rows-v <= tc.history {
				t.Errorf("rows %d: shift %d within the history %d of alignment", tc.rows, v, tc.history)
			}
		}
	}
	x := []float64{1, 2, 3, 4}
	if got := rotate(x, 1); got[0] != 4 || got[1] != 1 {
		t.Errorf("rotate %v by 1 = %v, want [4 1 2 3]", x, got)
	}
}

// TestMergeDuplicateCells plants an exact sign-flipped copy (merged) and a close but distinct
// cell (r ≈ 0.99, kept) in a file with two groups.
func TestMergeDuplicateCells(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	mk := func(group string) InterneuronData {
		p := datasets.NewMatrix(300, 4)
		for r := 0; r < p.Rows; r++ {
			a, b := rng.NormFloat64(), rng.NormFloat64()
			p.Set(r, 0, float32(a))
			p.Set(r, 1, float32(b))
			p.Set(r, 2, float32(-2*a)) // the OFF copy of cell 0
			p.Set(r, 3, float32(b+0.1*rng.NormFloat64()))
		}
		return InterneuronData{Source: "bipolars.h5", Group: group, CellType: "bipolar", Potentials: p, Subtypes: []string{"ON", "OFF", "OFF", "ON"}}
	}
	other := InterneuronData{Source: "amacrines.h5", Group: "noise", CellType: "amacrine", Potentials: datasets.NewMatrix(300, 1)}
	in := []InterneuronData{mk("noise"), mk("flashes"), other}
	out, merged := MergeDuplicateCells(in)
	if len(merged) != 1 || merged[0].Kept != 0 || merged[0].Dropped != 2 || merged[0].R > -0.999 || merged[0].Source != "bipolars.h5" {
		t.Fatalf("merged %+v; want cell 2 of bipolars.h5 merged into cell 0 with r ≈ −1", merged)
	}
	for g, d := range out[:2] {
		if d.Potentials.Cols != 3 || d.CellIndex[2] != 3 || d.Subtypes[0] != "ON/OFF" || d.Subtypes[1] != "OFF" || d.Subtypes[2] != "ON" {
			t.Errorf("group %s after merging: %d cells, indices %v, subtypes %v; want 3 cells [0 1 3], subtypes [ON/OFF OFF ON]", d.Group, d.Potentials.Cols, d.CellIndex, d.Subtypes)
		}
		if d.Potentials.At(5, 2) != in[g].Potentials.At(5, 3) || d.Potentials.At(7, 1) != in[g].Potentials.At(7, 1) {
			t.Errorf("group %s: the kept columns are not the input's columns 0, 1, 3", d.Group)
		}
	}
	if out[2].Potentials.Cols != 1 {
		t.Errorf("the other file lost cells: %d", out[2].Potentials.Cols)
	}
}
