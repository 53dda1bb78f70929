package datasets

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// h5tInterneuronSet is a small set whose groups are deliberately not in name order.
func h5tInterneuronSet() *InterneuronSet {
	rng := rand.New(rand.NewPCG(11, 12))
	mk := func(name string, t, h, w, n int) InterneuronGroup {
		g := InterneuronGroup{Name: name, Stimuli: NewMovie(t, h, w), Potentials: NewMatrix(t, n)}
		for i := range g.Stimuli.Data {
			g.Stimuli.Data[i] = float32(2*rng.IntN(2) - 1)
		}
		for i := range g.Potentials.Data {
			g.Potentials.Data[i] = float32(rng.NormFloat64())
		}
		return g
	}
	return &InterneuronSet{
		CellType:   "amacrines",
		Provenance: "simulated interneurons, seed 11",
		Groups:     []InterneuronGroup{mk("movingbar", 14, 5, 6, 3), mk("boxes", 9, 4, 4, 2), mk("lines", 7, 3, 8, 1)},
	}
}

func h5tSortedGroups(gs []InterneuronGroup) []InterneuronGroup {
	out := slices.Clone(gs)
	slices.SortFunc(out, func(a, b InterneuronGroup) int { return strings.Compare(a.Name, b.Name) })
	return out
}

type h5tExpectedInterneurons struct {
	CellType string `json:"cell_type"`
	Groups   map[string]struct {
		T, H, W, N          int
		StimuliSum          float64     `json:"stimuli_sum"`
		StimuliEntries      [][]float64 `json:"stimuli_entries"`
		PotentialSumPerCell []float64   `json:"potential_sum_per_cell"`
		PotentialEntries    [][]float64 `json:"potential_entries"`
	} `json:"groups"`
}

func TestLoadInterneuronFileH5pyFixture(t *testing.T) {
	var want h5tExpectedInterneurons
	h5tReadJSON(t, filepath.Join("testdata", "interneurons_expected.json"), &want)
	path := filepath.Join("testdata", "interneurons_fixture.h5")
	set, err := LoadInterneuronFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if set.CellType != want.CellType {
		t.Errorf("cell type %q (an h5py str attribute), want %q", set.CellType, want.CellType)
	}
	if !strings.HasSuffix(set.Provenance, path) || !filepath.IsAbs(set.Provenance) {
		t.Errorf("provenance %q, want the absolute path", set.Provenance)
	}
	var names []string
	for _, g := range set.Groups {
		names = append(names, g.Name)
	}
	if !slices.Equal(names, []string{"boxes", "flashes"}) {
		t.Fatalf("groups %v, want [boxes flashes]", names)
	}
	for _, g := range set.Groups {
		w := want.Groups[g.Name]
		m, p := g.Stimuli, g.Potentials
		if m.T != w.T || m.H != w.H || m.W != w.W || p.Rows != w.T || p.Cols != w.N {
			t.Fatalf("%s: stimuli [%d,%d,%d] potentials [%d,%d], want [%d,%d,%d] [%d,%d]", g.Name, m.T, m.H, m.W, p.Rows, p.Cols, w.T, w.H, w.W, w.T, w.N)
		}
		if s := h5tSum(m.Data); !h5tClose(s, w.StimuliSum) {
			t.Errorf("%s: stimuli sum %v, want %v", g.Name, s, w.StimuliSum)
		}
		for _, e := range w.StimuliEntries {
			if got := m.Frame(int(e[0]))[int(e[1])*m.W+int(e[2])]; got != float32(e[3]) {
				t.Errorf("%s: stimuli%v = %v, want %v", g.Name, e[:3], got, float32(e[3]))
			}
		}
		for c := range w.N {
			if s := h5tSum(p.Column(c)); !h5tClose(s, w.PotentialSumPerCell[c]) {
				t.Errorf("%s: potential sum of cell %d = %v, want %v", g.Name, c, s, w.PotentialSumPerCell[c])
			}
		}
		for _, e := range w.PotentialEntries { // [cell, t, value]; ours is [T, N]
			if got := p.At(int(e[1]), int(e[0])); got != float32(e[2]) {
				t.Errorf("%s: potential[cell %d, t %d] = %v, want %v", g.Name, int(e[0]), int(e[1]), got, float32(e[2]))
			}
		}
	}
}

func TestInterneuronFileRoundTrip(t *testing.T) {
	set := h5tInterneuronSet()
	path := filepath.Join(t.TempDir(), "new", "amacrines_sim.h5")
	if err := WriteInterneuronFile(path, set); err != nil {
		t.Fatal(err)
	}
	got, err := LoadInterneuronFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := set.Provenance + "; loaded from " + path; got.Provenance != want {
		t.Errorf("provenance %q, want %q", got.Provenance, want)
	}
	if got.CellType != set.CellType {
		t.Errorf("cell type %q, want %q", got.CellType, set.CellType)
	}
	// Groups come back in name order.
	if want := h5tSortedGroups(set.Groups); !reflect.DeepEqual(got.Groups, want) {
		t.Errorf("groups differ after the round trip:\n got %+v\nwant %+v", got.Groups, want)
	}
}

// Per-cell subtypes survive a round trip; a file without them reads as nil; a count that does
// not match the cells, or a name holding the separator, is refused.
func TestInterneuronFileSubtypes(t *testing.T) {
	set := h5tInterneuronSet()
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.h5")
	if err := WriteInterneuronFile(plain, set); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadInterneuronFile(plain); err != nil || got.Types != nil {
		t.Fatalf("file without subtypes: types %q, err %v; want nil", got.Types, err)
	}
	// The fixture's groups have 3, 2 and 1 cells: make them agree first.
	for i := range set.Groups {
		g := &set.Groups[i]
		g.Potentials = NewMatrix(g.Stimuli.T, 2)
		for k := range g.Potentials.Data {
			g.Potentials.Data[k] = float32(k % 5)
		}
	}
	set.Types = []string{"narrow-field ON", "wide-field ON-OFF"}
	path := filepath.Join(dir, "typed.h5")
	if err := WriteInterneuronFile(path, set); err != nil {
		t.Fatal(err)
	}
	got, err := LoadInterneuronFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Types, set.Types) {
		t.Errorf("types %q after the round trip, want %q", got.Types, set.Types)
	}
	for _, c := range []struct {
		types []string
		want  string
	}{
		{[]string{"ON"}, "names 1 types"},
		{[]string{"ON;OFF", "x"}, "without \";\""},
		{[]string{"", "x"}, "non-empty"},
	} {
		set.Types = c.types
		err := WriteInterneuronFile(filepath.Join(dir, "bad.h5"), set)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("types %q: error %v, want one saying %q", c.types, err, c.want)
		}
	}
}

func TestLoadInterneuronFileCellTypeFromFileName(t *testing.T) {
	set := h5tInterneuronSet()
	set.CellType = ""
	path := filepath.Join(t.TempDir(), "horizontals_late_2012.h5")
	if err := WriteInterneuronFile(path, set); err != nil {
		t.Fatal(err)
	}
	got, err := LoadInterneuronFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.CellType != "horizontals" {
		t.Errorf("cell type %q, want horizontals (from the file name)", got.CellType)
	}
}

func TestLoadInterneuronFileMalformed(t *testing.T) {
	dir := t.TempDir()
	stim := func(i int) float64 { return float64(i%3) - 1 }
	pot := func(i int) float64 { return math.Sin(float64(i)) }
	valid := []h5tDS{
		{"boxes/stimuli", []int{10, 4, 4}, "u8", stim},
		{"boxes/detrended_membrane_potential", []int{2, 10}, "f64", pot},
		{"flashes/stimuli", []int{6, 4, 4}, "f32", stim},
		{"flashes/detrended_membrane_potential", []int{6}, "f64", pot}, // one cell, 1-D
	}
	validPath := filepath.Join(dir, "valid.h5")
	h5tWriteRaw(t, validPath, valid, nil)
	set, err := LoadInterneuronFile(validPath)
	if err != nil {
		t.Fatalf("the unmodified layout must load: %v", err)
	}
	if len(set.Groups) != 2 || set.Groups[1].Potentials.Cols != 1 || set.Groups[0].Stimuli.Data[1] != 0 {
		t.Fatalf("unexpected valid set: %+v", set)
	}
	validBytes, err := os.ReadFile(validPath)
	if err != nil {
		t.Fatal(err)
	}
	raw := func(dss []h5tDS) func(string) { return func(p string) { h5tWriteRaw(t, p, dss, nil) } }
	bytesFile := func(b []byte) func(string) {
		return func(p string) {
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name string
		make func(string)
		want []string
	}{
		{"nonexistent", nil, []string{"no such file"}},
		{"empty", bytesFile(nil), []string{"empty file"}},
		{"random bytes", bytesFile([]byte(strings.Repeat("not hdf5 ", 100))), []string{"not an HDF5 file"}},
		{"truncated", bytesFile(validBytes[:len(validBytes)*2/3]), []string{"truncated"}},
		{"no groups", raw([]h5tDS{{"stimuli", []int{3, 2, 2}, "f32", stim}}), []string{"no stimulus groups"}},
		{"missing stimuli", raw(h5tWith(valid, "flashes/stimuli", nil)), []string{`dataset "flashes/stimuli": not found`}},
		{"missing potentials", raw(h5tWith(valid, "boxes/detrended_membrane_potential", nil)),
			[]string{`dataset "boxes/detrended_membrane_potential": not found`}},
		{"stimuli of rank 2", raw(h5tWith(valid, "boxes/stimuli", &h5tDS{"boxes/stimuli", []int{10, 16}, "f32", stim})),
			[]string{`dataset "boxes/stimuli"`, "expected shape (T, H, W)", "got (10, 16)"}},
		{"potentials with the wrong T", raw(h5tWith(valid, "boxes/detrended_membrane_potential", &h5tDS{"boxes/detrended_membrane_potential", []int{2, 9}, "f64", pot})),
			[]string{`dataset "boxes/detrended_membrane_potential"`, "expected shape (n_cells, 10)", "got (2, 9)"}},
		{"NaN in potentials", raw(h5tWith(valid, "boxes/detrended_membrane_potential", &h5tDS{"boxes/detrended_membrane_potential", []int{2, 10}, "f64",
			func(i int) float64 { return map[bool]float64{true: math.NaN(), false: 1}[i == 13] }})),
			[]string{`dataset "boxes/detrended_membrane_potential"`, "value at [1, 3] is NaN"}},
		{"float64 stimuli overflowing float32", raw(h5tWith(valid, "flashes/stimuli", &h5tDS{"flashes/stimuli", []int{6, 4, 4}, "f64",
			func(i int) float64 { return map[bool]float64{true: 5e38, false: 0}[i == 16] }})),
			[]string{`dataset "flashes/stimuli"`, "value at [1, 0, 0]", "overflows float32"}},
		{"a recording file", raw(h5tLabLayout(20, 10, 4, 4, 3, 2)),
			[]string{"this is a ganglion-cell recording", `"train"`, "not an interneuron file", "deepretina data info"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.NewReplacer(" ", "_", "/", "_").Replace(tc.name)+".h5")
			if tc.make != nil {
				tc.make(path)
			}
			set, err := LoadInterneuronFile(path)
			t.Log(err)
			if set != nil {
				t.Errorf("got a set along with the error")
			}
			h5tErrContains(t, err, path, tc.want...)
		})
	}
}

func TestWriteInterneuronFileRejectsInvalidSets(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		modify func(*InterneuronSet)
		want   []string
	}{
		{"no groups", func(s *InterneuronSet) { s.Groups = nil }, []string{"no stimulus groups"}},
		{"duplicate names", func(s *InterneuronSet) { s.Groups[1].Name = s.Groups[0].Name }, []string{`group "movingbar": appears twice`}},
		{"slash in name", func(s *InterneuronSet) { s.Groups[0].Name = "a/b" }, []string{`group "a/b": invalid name`}},
		{"empty name", func(s *InterneuronSet) { s.Groups[2].Name = "" }, []string{`group "": invalid name`}},
		{"potentials of the wrong T", func(s *InterneuronSet) { s.Groups[1].Potentials = NewMatrix(8, 2) },
			[]string{`group "boxes"`, "detrended_membrane_potential", "expected [T=9"}},
		{"stimulus data too short", func(s *InterneuronSet) { s.Groups[0].Stimuli.Data = s.Groups[0].Stimuli.Data[:5] },
			[]string{`group "movingbar"`, "stimuli"}},
		{"Inf in stimuli", func(s *InterneuronSet) { s.Groups[2].Stimuli.Data[4] = float32(math.Inf(1)) },
			[]string{`dataset "lines/stimuli"`, "value at [0, 0, 4] is +Inf"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := h5tInterneuronSet()
			tc.modify(set)
			path := filepath.Join(dir, strings.NewReplacer(" ", "_", "/", "_").Replace(tc.name)+".h5")
			h5tErrContains(t, WriteInterneuronFile(path, set), path, tc.want...)
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("a rejected set must not create %s (stat: %v)", path, err)
			}
		})
	}
	h5tErrContains(t, WriteInterneuronFile(filepath.Join(dir, "nil.h5"), nil), filepath.Join(dir, "nil.h5"), "nil interneuron set")
}
