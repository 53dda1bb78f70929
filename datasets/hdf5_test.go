package datasets

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gonum.org/v1/hdf5"

	"github.com/deepretina/deepretina/internal/h5"
)

// ---------------------------------------------------------------------------------------------
// Test helpers: a raw HDF5 writer (any element type, any layout, including broken ones) and
// synthetic recordings.

// h5tDS is one dataset for h5tWriteRaw. dims nil = scalar dataset; typ "group" makes a group.
type h5tDS struct {
	name string
	dims []int
	typ  string              // f32, f64, f32be, f64be, i64, i16, u8, group
	gen  func(i int) float64 // nil: create the dataset but write no data
}

type h5tAttr struct {
	name  string
	value any // float64, string or []int
}

type h5tType struct {
	typ  *hdf5.Datatype
	size int
	put  func(b []byte, v float64)
}

var h5tTypes = map[string]h5tType{
	"f32":   {hdf5.T_IEEE_F32LE, 4, func(b []byte, v float64) { binary.LittleEndian.PutUint32(b, math.Float32bits(float32(v))) }},
	"f64":   {hdf5.T_IEEE_F64LE, 8, func(b []byte, v float64) { binary.LittleEndian.PutUint64(b, math.Float64bits(v)) }},
	"f32be": {hdf5.T_IEEE_F32BE, 4, func(b []byte, v float64) { binary.BigEndian.PutUint32(b, math.Float32bits(float32(v))) }},
	"f64be": {hdf5.T_IEEE_F64BE, 8, func(b []byte, v float64) { binary.BigEndian.PutUint64(b, math.Float64bits(v)) }},
	"i64":   {hdf5.T_STD_I64LE, 8, func(b []byte, v float64) { binary.LittleEndian.PutUint64(b, uint64(int64(v))) }},
	"i16":   {hdf5.T_STD_I16LE, 2, func(b []byte, v float64) { binary.LittleEndian.PutUint16(b, uint16(int16(v))) }},
	"u8":    {hdf5.T_STD_U8LE, 1, func(b []byte, v float64) { b[0] = uint8(v) }},
}

// h5tWriteRaw writes datasets (creating parent groups) and root attributes with the gonum binding
// directly, so tests can produce layouts and types that WriteFile never would. Data is generated
// and written in slabs along axis 0, so large files need little memory.
func h5tWriteRaw(tb testing.TB, path string, dss []h5tDS, attrs []h5tAttr) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	err := h5.WriteAtomic("raw-write", path, func(w *h5.Writer) error {
		f := w.File
		var err error
		made := map[string]bool{}
		mkgroups := func(name string, self bool) error {
			parts := strings.Split(name, "/")
			if !self {
				parts = parts[:len(parts)-1]
			}
			for i := range parts {
				g := strings.Join(parts[:i+1], "/")
				if !made[g] {
					if err := w.CreateGroup(g); err != nil {
						return err
					}
					made[g] = true
				}
			}
			return nil
		}
		for _, d := range dss {
			if d.typ == "group" {
				if err := mkgroups(d.name, true); err != nil {
					return err
				}
				continue
			}
			if err := mkgroups(d.name, false); err != nil {
				return err
			}
			tt, ok := h5tTypes[d.typ]
			if !ok {
				return fmt.Errorf("unknown test type %q", d.typ)
			}
			var sp *hdf5.Dataspace
			n, rows := 1, 1
			if d.dims == nil {
				sp, err = hdf5.CreateDataspace(hdf5.S_SCALAR)
			} else {
				ud := make([]uint, len(d.dims))
				for i, x := range d.dims {
					ud[i] = uint(x)
					n *= x
				}
				rows = d.dims[0]
				sp, err = hdf5.CreateSimpleDataspace(ud, nil)
			}
			if err != nil {
				return err
			}
			ds, err := f.CreateDataset(d.name, tt.typ, sp)
			sp.Close()
			if err != nil {
				return fmt.Errorf("create %s: %v", d.name, err)
			}
			if n > 0 && d.gen != nil {
				rowElems := n / max(rows, 1)
				step := max(1, (4<<20)/(rowElems*tt.size))
				for r := 0; r < rows; r += step {
					k := min(step, rows-r)
					buf := make([]byte, k*rowElems*tt.size)
					for i := range k * rowElems {
						tt.put(buf[i*tt.size:], d.gen(r*rowElems+i))
					}
					if d.dims == nil {
						err = ds.Write(&buf)
					} else {
						fsp := ds.Space()
						off := make([]uint, len(d.dims))
						cnt := make([]uint, len(d.dims))
						for i := range d.dims {
							cnt[i] = uint(d.dims[i])
						}
						off[0], cnt[0] = uint(r), uint(k)
						if err := fsp.SelectHyperslab(off, nil, cnt, nil); err != nil {
							return err
						}
						msp, err2 := hdf5.CreateSimpleDataspace(cnt, nil)
						if err2 != nil {
							return err2
						}
						err = ds.WriteSubset(&buf, msp, fsp)
						msp.Close()
						fsp.Close()
					}
					if err != nil {
						return fmt.Errorf("write %s: %v", d.name, err)
					}
				}
			}
			ds.Close()
		}
		for _, a := range attrs {
			switch v := a.value.(type) {
			case float64:
				err = w.WriteAttrFloat(a.name, v)
			case string:
				err = w.WriteAttrString(a.name, v)
			case []int:
				err = w.WriteAttrInts(a.name, v)
			default:
				err = fmt.Errorf("attr %s: unsupported %T", a.name, v)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// Deterministic generators for the lab layout; split 0 = train, 1 = test.
func h5tStimGen(split int) func(int) float64 {
	return func(i int) float64 { return float64((i*7919+split*104729)%1000)/250 - 2 }
}
func h5tRateGen(split int) func(int) float64 {
	return func(i int) float64 { return float64((i*31+split*7)%97) * 0.5 }
}
func h5tBinnedGen(split int) func(int) float64 {
	return func(i int) float64 { return float64((i*13 + split) % 5) }
}
func h5tTimeGen(dt float64) func(int) float64 {
	return func(i int) float64 { return 3 + float64(i)*dt }
}
func h5tRepeatGen(cell int) func(int) float64 {
	return func(i int) float64 { return float64((i*17+cell*3)%89) * 0.25 }
}

// h5tLabLayout is a valid recording file in the lab's layout (no root attributes), with
// float32 stimuli and float64 responses like the lab's files.
func h5tLabLayout(tTrain, tTest, h, w, n, r int) []h5tDS {
	var dss []h5tDS
	for s, name := range []string{"train", "test"} {
		t := tTrain
		if s == 1 {
			t = tTest
		}
		dss = append(dss,
			h5tDS{name + "/time", []int{t}, "f64", h5tTimeGen(0.01)},
			h5tDS{name + "/stimulus", []int{t, h, w}, "f32", h5tStimGen(s)},
			h5tDS{name + "/response/firing_rate_10ms", []int{n, t}, "f64", h5tRateGen(s)},
			h5tDS{name + "/response/binned", []int{n, t}, "f64", h5tBinnedGen(s)},
		)
	}
	for c := range n {
		dss = append(dss, h5tDS{fmt.Sprintf("test/repeats/cell%02d", c+1), []int{r, tTest}, "f64", h5tRepeatGen(c)})
	}
	return dss
}

// h5tWith returns dss with the dataset called name replaced by d (or removed when d is nil).
func h5tWith(dss []h5tDS, name string, d *h5tDS) []h5tDS {
	out := make([]h5tDS, 0, len(dss))
	found := false
	for _, x := range dss {
		if x.name == name {
			found = true
			if d != nil {
				out = append(out, *d)
			}
			continue
		}
		out = append(out, x)
	}
	if !found {
		panic("h5tWith: no dataset " + name)
	}
	return out
}

// h5tRecording is a small synthetic recording with every optional part present.
func h5tRecording(tTrain, tTest, h, w int, ids []int, nRep int, seed uint64) *Recording {
	rng := rand.New(rand.NewPCG(seed, 7))
	n := len(ids)
	mk := func(t int, reps bool) Split {
		s := Split{Stimulus: NewMovie(t, h, w), Rates: NewMatrix(t, n), Counts: NewMatrix(t, n), Time: make([]float64, t)}
		for i := range s.Stimulus.Data {
			s.Stimulus.Data[i] = float32(rng.NormFloat64())
		}
		for i := range s.Rates.Data {
			s.Rates.Data[i] = float32(rng.ExpFloat64() * 10)
			s.Counts.Data[i] = float32(rng.IntN(4))
		}
		for i := range s.Time {
			s.Time[i] = 1.5 + float64(i)/60
		}
		if reps {
			s.Repeats = make([][][]float32, n)
			for c := range s.Repeats {
				s.Repeats[c] = make([][]float32, nRep)
				for r := range s.Repeats[c] {
					s.Repeats[c][r] = make([]float32, t)
					for i := range s.Repeats[c][r] {
						s.Repeats[c][r][i] = float32(rng.Float64() * 50)
					}
				}
			}
		}
		return s
	}
	rec := &Recording{
		Expt: "sim-small", Stim: WhiteNoise, CellIDs: slices.Clone(ids),
		FrameRate: 60, PixelSizeUM: 27.5, Provenance: "simulator preset small, seed 3 (µ-test)",
		Train: mk(tTrain, false), Test: mk(tTest, true),
	}
	rec.Train.CountTrials, rec.Test.CountTrials = 1, nRep
	return rec
}

// h5tErrContains fails unless err is non-nil, names path and contains every fragment, and did
// not come from a recovered panic.
func h5tErrContains(t *testing.T, err error, path string, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error mentioning %q, got nil", fragments)
	}
	msg := err.Error()
	if !strings.Contains(msg, path) {
		t.Errorf("error does not name the file %s:\n  %s", path, msg)
	}
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("error does not contain %q:\n  %s", f, msg)
		}
	}
	if strings.Contains(msg, "unexpected failure in the HDF5 binding") {
		t.Errorf("error came from a recovered panic, not from a check:\n  %s", msg)
	}
}

func h5tClose(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func h5tSum(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v)
	}
	return s
}

// ---------------------------------------------------------------------------------------------
// Fixture written by h5py (scripts/make_h5_fixture.py)

type h5tExpectedSplit struct {
	T, H, W           int
	TimeFirst         float64     `json:"time_first"`
	TimeLast          float64     `json:"time_last"`
	StimulusSum       float64     `json:"stimulus_sum"`
	StimulusAbsSum    float64     `json:"stimulus_abs_sum"`
	StimulusEntries   [][]float64 `json:"stimulus_entries"`
	RatesSumPerCell   []float64   `json:"rates_sum_per_cell"`
	RatesEntries      [][]float64 `json:"rates_entries"`
	BinnedSumPerCell  []float64   `json:"binned_sum_per_cell"`
	BinnedEntries     [][]float64 `json:"binned_entries"`
	NRepeats          int         `json:"n_repeats"`
	RepeatsSumPerCell []float64   `json:"repeats_sum_per_cell"`
	RepeatsEntries    [][]float64 `json:"repeats_entries"`
}

type h5tExpected struct {
	NCellsTotal int              `json:"n_cells_total"`
	FrameRateHz float64          `json:"frame_rate_hz"`
	Train       h5tExpectedSplit `json:"train"`
	Test        h5tExpectedSplit `json:"test"`
}

func h5tReadJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 scripts/make_h5_fixture.py)", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// h5tCheckSplit compares a loaded split (cells = the file's cell indices of its columns) with the
// fixture's expectations.
func h5tCheckSplit(t *testing.T, name string, sp Split, want h5tExpectedSplit, cells []int) {
	t.Helper()
	if sp.Stimulus.T != want.T || sp.Stimulus.H != want.H || sp.Stimulus.W != want.W {
		t.Fatalf("%s stimulus shape [%d,%d,%d], want [%d,%d,%d]", name, sp.Stimulus.T, sp.Stimulus.H, sp.Stimulus.W, want.T, want.H, want.W)
	}
	if len(sp.Time) != want.T || sp.Time[0] != want.TimeFirst || sp.Time[want.T-1] != want.TimeLast {
		t.Errorf("%s time: len %d, first/last %v/%v, want %d, %v/%v", name, len(sp.Time), sp.Time[0], sp.Time[len(sp.Time)-1], want.T, want.TimeFirst, want.TimeLast)
	}
	if s := h5tSum(sp.Stimulus.Data); !h5tClose(s, want.StimulusSum) {
		t.Errorf("%s stimulus sum %v, want %v", name, s, want.StimulusSum)
	}
	abs := 0.0
	for _, v := range sp.Stimulus.Data {
		abs += math.Abs(float64(v))
	}
	if !h5tClose(abs, want.StimulusAbsSum) {
		t.Errorf("%s stimulus |sum| %v, want %v", name, abs, want.StimulusAbsSum)
	}
	for _, e := range want.StimulusEntries {
		ti, i, j := int(e[0]), int(e[1]), int(e[2])
		if got := sp.Stimulus.Frame(ti)[i*sp.Stimulus.W+j]; got != float32(e[3]) {
			t.Errorf("%s stimulus[%d,%d,%d] = %v, want %v", name, ti, i, j, got, float32(e[3]))
		}
	}
	n := len(cells)
	if sp.Rates.Rows != want.T || sp.Rates.Cols != n || sp.Counts.Rows != want.T || sp.Counts.Cols != n {
		t.Fatalf("%s rates %dx%d counts %dx%d, want %dx%d", name, sp.Rates.Rows, sp.Rates.Cols, sp.Counts.Rows, sp.Counts.Cols, want.T, n)
	}
	col := map[int]int{} // file cell -> column
	for j, c := range cells {
		col[c] = j
		if s := h5tSum(sp.Rates.Column(j)); !h5tClose(s, want.RatesSumPerCell[c]) {
			t.Errorf("%s rates sum of cell %d (column %d) = %v, want %v", name, c, j, s, want.RatesSumPerCell[c])
		}
		if s := h5tSum(sp.Counts.Column(j)); !h5tClose(s, want.BinnedSumPerCell[c]) {
			t.Errorf("%s binned sum of cell %d = %v, want %v", name, c, s, want.BinnedSumPerCell[c])
		}
	}
	for _, es := range []struct {
		m       Matrix
		entries [][]float64
		what    string
	}{{sp.Rates, want.RatesEntries, "rates"}, {sp.Counts, want.BinnedEntries, "binned"}} {
		for _, e := range es.entries {
			j, ok := col[int(e[0])]
			if !ok {
				continue
			}
			if got := es.m.At(int(e[1]), j); got != float32(e[2]) {
				t.Errorf("%s %s[cell %d, t %d] = %v, want %v", name, es.what, int(e[0]), int(e[1]), got, float32(e[2]))
			}
		}
	}
	if want.NRepeats == 0 {
		if sp.Repeats != nil {
			t.Errorf("%s: repeats loaded but the fixture has none", name)
		}
		return
	}
	if len(sp.Repeats) != n {
		t.Fatalf("%s repeats for %d cells, want %d", name, len(sp.Repeats), n)
	}
	for j, c := range cells {
		if len(sp.Repeats[j]) != want.NRepeats {
			t.Fatalf("%s cell %d: %d repeats, want %d", name, c, len(sp.Repeats[j]), want.NRepeats)
		}
		s := 0.0
		for _, r := range sp.Repeats[j] {
			s += h5tSum(r)
		}
		if !h5tClose(s, want.RepeatsSumPerCell[c]) {
			t.Errorf("%s repeats sum of cell %d = %v, want %v", name, c, s, want.RepeatsSumPerCell[c])
		}
	}
	for _, e := range want.RepeatsEntries {
		j, ok := col[int(e[0])]
		if !ok {
			continue
		}
		if got := sp.Repeats[j][int(e[1])][int(e[2])]; got != float32(e[3]) {
			t.Errorf("%s repeats[cell %d][%d][%d] = %v, want %v", name, int(e[0]), int(e[1]), int(e[2]), got, float32(e[3]))
		}
	}
}

func TestLoadFileH5pyFixture(t *testing.T) {
	var want h5tExpected
	h5tReadJSON(t, filepath.Join("testdata", "fixture_expt", "expected.json"), &want)
	path := filepath.Join("testdata", "fixture_expt", "whitenoise.h5")
	for _, tc := range []struct {
		name  string
		cells []int
		file  []int // file cell index of each column
	}{
		{"all cells", nil, []int{0, 1, 2, 3}},
		{"subset in given order", []int{3, 1}, []int{3, 1}},
		{"single cell", []int{2}, []int{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := LoadFile(path, WhiteNoise, tc.cells)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rec.CellIDs, tc.file) {
				t.Errorf("CellIDs %v, want %v", rec.CellIDs, tc.file)
			}
			if rec.Expt != "fixture_expt" || rec.Stim != WhiteNoise {
				t.Errorf("Expt/Stim = %q/%q, want fixture_expt/whitenoise", rec.Expt, rec.Stim)
			}
			if !h5tClose(rec.FrameRate, want.FrameRateHz) {
				t.Errorf("frame rate %v (from the time axis), want %v", rec.FrameRate, want.FrameRateHz)
			}
			if rec.PixelSizeUM != DefaultPixelSizeUM {
				t.Errorf("pixel size %v, want the default %v", rec.PixelSizeUM, DefaultPixelSizeUM)
			}
			if !filepath.IsAbs(rec.Provenance) || !strings.HasSuffix(rec.Provenance, filepath.Join("testdata", "fixture_expt", "whitenoise.h5")) {
				t.Errorf("provenance %q, want the absolute path of the file", rec.Provenance)
			}
			h5tCheckSplit(t, "train", rec.Train, want.Train, tc.file)
			h5tCheckSplit(t, "test", rec.Test, want.Test, tc.file)
		})
	}
}

func TestLoadJoinsRootExptStim(t *testing.T) {
	rec, err := Load("testdata", "fixture_expt", WhiteNoise, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Expt != "fixture_expt" || rec.Stim != WhiteNoise || rec.NCells() != 1 || rec.Train.Len() != 120 || rec.Test.Len() != 60 {
		t.Errorf("got expt %q stim %q cells %d T %d/%d", rec.Expt, rec.Stim, rec.NCells(), rec.Train.Len(), rec.Test.Len())
	}
	_, err = Load("testdata", "fixture_expt", NaturalScene, nil)
	h5tErrContains(t, err, filepath.Join("testdata", "fixture_expt", "naturalscene.h5"), "no such file")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file error should wrap fs.ErrNotExist: %v", err)
	}
}

// ---------------------------------------------------------------------------------------------
// Round trips

func TestWriteFileLoadFileRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Recording)
	}{
		{"everything", func(*Recording) {}},
		{"no counts", func(r *Recording) {
			r.Train.Counts, r.Test.Counts = Matrix{}, Matrix{}
			r.Train.CountTrials, r.Test.CountTrials = 0, 0
		}},
		{"no time", func(r *Recording) { r.Train.Time, r.Test.Time = nil, nil }},
		{"no repeats", func(r *Recording) { r.Test.Repeats = nil }},
		{"one cell, one frame", func(r *Recording) {
			*r = *h5tRecording(1, 1, 2, 3, []int{42}, 1, 9)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := h5tRecording(30, 12, 5, 7, []int{5, 2, 9}, 4, 1)
			tc.modify(rec)
			path := filepath.Join(t.TempDir(), "new", rec.Expt, rec.Stim+".h5")
			if err := WriteFile(path, rec); err != nil {
				t.Fatal(err)
			}
			got, err := LoadFile(path, rec.Stim, nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := rec.Provenance + "; loaded from " + path; got.Provenance != want {
				t.Errorf("provenance %q, want %q", got.Provenance, want)
			}
			got.Provenance = rec.Provenance
			st, _ := os.Stat(path)
			if got.Source.Path != path || got.Source.Size != st.Size() || len(got.Source.SHA256) != 64 {
				t.Errorf("source %+v, want the file %s of %d bytes and a SHA-256", got.Source, path, st.Size())
			}
			got.Source = rec.Source
			if !reflect.DeepEqual(got, rec) {
				t.Errorf("round trip differs:\n got %+v\nwant %+v", got, rec)
			}
		})
	}
}

func TestWriteFileLoadFileSelectsByPositionKeepsIDs(t *testing.T) {
	rec := h5tRecording(20, 10, 4, 4, []int{5, 2, 9}, 2, 2)
	path := filepath.Join(t.TempDir(), rec.Expt, "whitenoise.h5")
	if err := WriteFile(path, rec); err != nil {
		t.Fatal(err)
	}
	got, err := LoadFile(path, "", []int{2, 0}) // positions: ids 9 and 5
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.CellIDs, []int{9, 5}) {
		t.Errorf("CellIDs %v, want [9 5]", got.CellIDs)
	}
	if got.Stim != "whitenoise" {
		t.Errorf("Stim %q, want the file's base name", got.Stim)
	}
	for j, pos := range []int{2, 0} {
		if !slices.Equal(got.Train.Rates.Column(j), rec.Train.Rates.Column(pos)) ||
			!slices.Equal(got.Test.Counts.Column(j), rec.Test.Counts.Column(pos)) ||
			!reflect.DeepEqual(got.Test.Repeats[j], rec.Test.Repeats[pos]) {
			t.Errorf("column %d is not position %d of the file", j, pos)
		}
	}
}

// TestWriteFileReadableByH5py opens files we write with h5py, the reference implementation's
// reader. It fails (does not skip) without /usr/bin/python3 + h5py.
func TestWriteFileReadableByH5py(t *testing.T) {
	if testing.Short() {
		t.Skip("needs /usr/bin/python3 with h5py and numpy; runs in the full tier, scripts/test.sh")
	}
	dir := t.TempDir()
	rec := h5tRecording(25, 10, 6, 5, []int{7, 3}, 3, 4)
	recPath := filepath.Join(dir, "sim", "whitenoise.h5")
	if err := WriteFile(recPath, rec); err != nil {
		t.Fatal(err)
	}
	set := h5tInterneuronSet()
	intPath := filepath.Join(dir, "amacrines_sim.h5")
	if err := WriteInterneuronFile(intPath, set); err != nil {
		t.Fatal(err)
	}

	type dsInfo struct {
		Shape []int   `json:"shape"`
		Dtype string  `json:"dtype"`
		Sum   float64 `json:"sum"`
	}
	type fileInfo struct {
		Datasets map[string]dsInfo `json:"datasets"`
		Attrs    map[string]any    `json:"attrs"`
	}
	script := `
import json, sys
import h5py, numpy as np
out = {}
for path in sys.argv[1:]:
    info = {"datasets": {}, "attrs": {}}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                a = np.asarray(obj[()], dtype=np.float64)
                info["datasets"][name] = {"shape": list(obj.shape), "dtype": obj.dtype.str, "sum": float(a.sum())}
        f.visititems(visit)
        for k, v in f.attrs.items():
            if isinstance(v, np.ndarray):
                v = v.tolist()
            elif isinstance(v, (np.floating, np.integer)):
                v = v.item()
            elif isinstance(v, bytes):
                v = "BYTES, NOT STR: " + repr(v)
            info["attrs"][k] = v
    out[path] = info
print(json.dumps(out))
`
	cmd := exec.Command("/usr/bin/python3", "-c", script, recPath, intPath)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("this test needs /usr/bin/python3 with h5py and numpy (Debian/Ubuntu: apt-get install python3-h5py): %v\n%s", err, stderr)
	}
	var got map[string]fileInfo
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python output: %v\n%s", err, out)
	}

	f32 := "<f4"
	wantRec := map[string]dsInfo{}
	for _, s := range []struct {
		name string
		sp   *Split
	}{{"train", &rec.Train}, {"test", &rec.Test}} {
		m := s.sp.Stimulus
		tsum := 0.0
		for _, v := range s.sp.Time {
			tsum += v
		}
		wantRec[s.name+"/time"] = dsInfo{[]int{m.T}, "<f8", tsum}
		wantRec[s.name+"/stimulus"] = dsInfo{[]int{m.T, m.H, m.W}, f32, h5tSum(m.Data)}
		wantRec[s.name+"/response/firing_rate_10ms"] = dsInfo{[]int{2, m.T}, f32, h5tSum(s.sp.Rates.Data)}
		wantRec[s.name+"/response/binned"] = dsInfo{[]int{2, m.T}, f32, h5tSum(s.sp.Counts.Data)}
		for c, reps := range s.sp.Repeats {
			sum := 0.0
			for _, r := range reps {
				sum += h5tSum(r)
			}
			wantRec[fmt.Sprintf("%s/repeats/cell%02d", s.name, c+1)] = dsInfo{[]int{len(reps), m.T}, f32, sum}
		}
	}
	wantInt := map[string]dsInfo{}
	for _, g := range set.Groups {
		m, p := g.Stimuli, g.Potentials
		wantInt[g.Name+"/stimuli"] = dsInfo{[]int{m.T, m.H, m.W}, f32, h5tSum(m.Data)}
		wantInt[g.Name+"/detrended_membrane_potential"] = dsInfo{[]int{p.Cols, p.Rows}, f32, h5tSum(p.Data)}
	}
	for _, f := range []struct {
		path  string
		want  map[string]dsInfo
		attrs map[string]any
	}{
		{recPath, wantRec, map[string]any{
			"frame_rate_hz": rec.FrameRate, "pixel_size_um": rec.PixelSizeUM, "provenance": rec.Provenance,
			"cell_ids": []any{7.0, 3.0}, "test_count_trials": []any{float64(rec.Test.CountTrials)}}},
		{intPath, wantInt, map[string]any{"cell_type": set.CellType, "provenance": set.Provenance}},
	} {
		info, ok := got[f.path]
		if !ok {
			t.Fatalf("python did not report %s", f.path)
		}
		if len(info.Datasets) != len(f.want) {
			t.Errorf("%s: h5py sees %d datasets, want %d: %v", f.path, len(info.Datasets), len(f.want), info.Datasets)
		}
		for name, w := range f.want {
			g, ok := info.Datasets[name]
			if !ok {
				t.Errorf("%s: h5py does not see dataset %s", f.path, name)
				continue
			}
			if !slices.Equal(g.Shape, w.Shape) || g.Dtype != w.Dtype || math.Abs(g.Sum-w.Sum) > 1e-9*math.Max(1, math.Abs(w.Sum)) {
				t.Errorf("%s: %s: h5py sees shape %v dtype %s sum %v, want %v %s %v", f.path, name, g.Shape, g.Dtype, g.Sum, w.Shape, w.Dtype, w.Sum)
			}
		}
		if !reflect.DeepEqual(info.Attrs, f.attrs) {
			t.Errorf("%s: h5py attributes %#v, want %#v", f.path, info.Attrs, f.attrs)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Element types, attributes, frame rate

func TestLoadFileConvertsElementTypes(t *testing.T) {
	const tt, h, w, n = 9, 3, 4, 2
	for _, tc := range []struct{ stim, rates, binned string }{
		{"f32", "f64", "f64"},
		{"f64", "f32", "i64"},
		{"f32be", "f64be", "u8"},
		{"i16", "i64", "i16"},
	} {
		t.Run(tc.stim+"/"+tc.rates+"/"+tc.binned, func(t *testing.T) {
			dss := h5tLabLayout(tt, 5, h, w, n, 2)
			dss = h5tWith(dss, "train/stimulus", &h5tDS{"train/stimulus", []int{tt, h, w}, tc.stim, h5tStimGen(0)})
			dss = h5tWith(dss, "train/response/firing_rate_10ms", &h5tDS{"train/response/firing_rate_10ms", []int{n, tt}, tc.rates, h5tRateGen(0)})
			dss = h5tWith(dss, "train/response/binned", &h5tDS{"train/response/binned", []int{n, tt}, tc.binned, h5tBinnedGen(0)})
			path := filepath.Join(t.TempDir(), "e", "whitenoise.h5")
			h5tWriteRaw(t, path, dss, nil)
			rec, err := LoadFile(path, WhiteNoise, nil)
			if err != nil {
				t.Fatal(err)
			}
			conv := func(typ string, v float64) float32 {
				switch typ {
				case "i16", "i64", "u8":
					return float32(math.Trunc(v))
				}
				return float32(v)
			}
			for i, got := range rec.Train.Stimulus.Data {
				if want := conv(tc.stim, h5tStimGen(0)(i)); got != want {
					t.Fatalf("stimulus[%d] = %v, want %v", i, got, want)
				}
			}
			for c := range n {
				for ti := range tt {
					if got, want := rec.Train.Rates.At(ti, c), conv(tc.rates, h5tRateGen(0)(c*tt+ti)); got != want {
						t.Fatalf("rates[t=%d, c=%d] = %v, want %v", ti, c, got, want)
					}
					if got, want := rec.Train.Counts.At(ti, c), conv(tc.binned, h5tBinnedGen(0)(c*tt+ti)); got != want {
						t.Fatalf("binned[t=%d, c=%d] = %v, want %v", ti, c, got, want)
					}
				}
			}
		})
	}
}

func TestLoadFileFrameRateAndAttributes(t *testing.T) {
	base := h5tLabLayout(20, 10, 2, 2, 3, 2)
	noTime := h5tWith(h5tWith(base, "train/time", nil), "test/time", nil)
	ntsc := h5tWith(base, "train/time", &h5tDS{"train/time", []int{20}, "f64", h5tTimeGen(1001.0 / 60000)})
	for _, tc := range []struct {
		name      string
		dss       []h5tDS
		attrs     []h5tAttr
		wantFrame float64
		wantPixel float64
		wantIDs   []int
		wantProv  string
	}{
		{"from time spacing", base, nil, 100, DefaultPixelSizeUM, []int{0, 1, 2}, ""},
		{"from 59.94 Hz time spacing", ntsc, nil, 59.94006, DefaultPixelSizeUM, []int{0, 1, 2}, ""},
		{"no time: default", noTime, nil, DefaultFrameRate, DefaultPixelSizeUM, []int{0, 1, 2}, ""},
		{"attributes win", base, []h5tAttr{{"frame_rate_hz", 30.0}, {"pixel_size_um", 12.5}, {"cell_ids", []int{11, 12, 13}}, {"provenance", "lab rig 2"}},
			30, 12.5, []int{11, 12, 13}, "lab rig 2; loaded from "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x", "naturalscene.h5")
			h5tWriteRaw(t, path, tc.dss, tc.attrs)
			rec, err := LoadFile(path, NaturalScene, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rec.FrameRate != tc.wantFrame || rec.PixelSizeUM != tc.wantPixel || !slices.Equal(rec.CellIDs, tc.wantIDs) {
				t.Errorf("frame %v pixel %v ids %v, want %v %v %v", rec.FrameRate, rec.PixelSizeUM, rec.CellIDs, tc.wantFrame, tc.wantPixel, tc.wantIDs)
			}
			if rec.Provenance != tc.wantProv+path {
				t.Errorf("provenance %q, want %q", rec.Provenance, tc.wantProv+path)
			}
		})
	}
}

// ---------------------------------------------------------------------------------------------
// Malformed files

func TestLoadFileMalformed(t *testing.T) {
	dir := t.TempDir()
	valid := h5tLabLayout(20, 10, 4, 4, 3, 2)
	validPath := filepath.Join(dir, "valid.h5")
	h5tWriteRaw(t, validPath, valid, nil)
	if _, err := LoadFile(validPath, WhiteNoise, nil); err != nil {
		t.Fatalf("the unmodified layout must load: %v", err)
	}
	validBytes, err := os.ReadFile(validPath)
	if err != nil {
		t.Fatal(err)
	}
	nanAt := func(k int, g func(int) float64) func(int) float64 {
		return func(i int) float64 {
			if i == k {
				return math.NaN()
			}
			return g(i)
		}
	}
	raw := func(dss []h5tDS, attrs ...h5tAttr) func(string) {
		return func(p string) { h5tWriteRaw(t, p, dss, attrs) }
	}
	bytesFile := func(b []byte) func(string) {
		return func(p string) {
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	random := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}

	for _, tc := range []struct {
		name  string
		make  func(path string) // nil: the file does not exist
		cells []int
		want  []string
	}{
		{"nonexistent", nil, nil, []string{"no such file"}},
		{"empty", bytesFile(nil), nil, []string{"empty file"}},
		{"random bytes", bytesFile(random), nil, []string{"not an HDF5 file"}},
		{"truncated", bytesFile(validBytes[:len(validBytes)/2]), nil, []string{"truncated"}},
		{"signature only", bytesFile(validBytes[:64]), nil, []string{"truncated"}},
		{"missing test group", raw(valid[:4]), nil, []string{`group "test": not found`}},
		{"missing train/stimulus", raw(h5tWith(valid, "train/stimulus", nil)), nil,
			[]string{`dataset "train/stimulus": not found`}},
		{"missing rates", raw(h5tWith(valid, "test/response/firing_rate_10ms", nil)), nil,
			[]string{`dataset "test/response/firing_rate_10ms": not found`}},
		{"stimulus is a group", raw(h5tWith(valid, "train/stimulus", &h5tDS{"train/stimulus/x", nil, "group", nil})), nil,
			[]string{`dataset "train/stimulus"`, "group"}},
		{"wrong-rank stimulus", raw(h5tWith(valid, "train/stimulus", &h5tDS{"train/stimulus", []int{20, 16}, "f32", h5tStimGen(0)})), nil,
			[]string{`dataset "train/stimulus"`, "expected shape (T, H, W)", "got (20, 16)"}},
		{"scalar stimulus", raw(h5tWith(valid, "test/stimulus", &h5tDS{"test/stimulus", nil, "f32", h5tStimGen(0)})), nil,
			[]string{`dataset "test/stimulus"`, "expected shape (T, H, W)", "got ()"}},
		{"rates with the wrong T", raw(h5tWith(valid, "train/response/firing_rate_10ms", &h5tDS{"train/response/firing_rate_10ms", []int{3, 19}, "f64", h5tRateGen(0)})), nil,
			[]string{`dataset "train/response/firing_rate_10ms"`, "expected shape (3, 20)", "got (3, 19)", `"train/stimulus"`}},
		{"test rates with other cells", raw(h5tWith(valid, "test/response/firing_rate_10ms", &h5tDS{"test/response/firing_rate_10ms", []int{4, 10}, "f64", h5tRateGen(1)})), nil,
			[]string{`dataset "test/response/firing_rate_10ms"`, "expected shape (3, 10)", "got (4, 10)"}},
		{"binned with the wrong T", raw(h5tWith(valid, "test/response/binned", &h5tDS{"test/response/binned", []int{3, 11}, "i64", h5tBinnedGen(1)})), nil,
			[]string{`dataset "test/response/binned"`, "got (3, 11)"}},
		{"time with the wrong length", raw(h5tWith(valid, "train/time", &h5tDS{"train/time", []int{21}, "f64", h5tTimeGen(0.01)})), nil,
			[]string{`dataset "train/time"`, "expected shape (20,)", "got (21,)"}},
		{"repeats with the wrong T", raw(h5tWith(valid, "test/repeats/cell02", &h5tDS{"test/repeats/cell02", []int{2, 9}, "f64", h5tRepeatGen(1)})), nil,
			[]string{`dataset "test/repeats/cell02"`, "got (2, 9)"}},
		{"repeats missing a cell", raw(h5tWith(valid, "test/repeats/cell03", nil)), nil,
			[]string{`dataset "test/repeats/cell03": not found`}},
		// Positions are the file's own: the dataset's name and its index in the file's layout.
		{"NaN in rates", raw(h5tWith(valid, "train/response/firing_rate_10ms", &h5tDS{"train/response/firing_rate_10ms", []int{3, 20}, "f64", nanAt(25, h5tRateGen(0))})), nil,
			[]string{`dataset "train/response/firing_rate_10ms"`, "value at [1, 5] is NaN"}},
		{"NaN in a repeat", raw(h5tWith(valid, "test/repeats/cell02", &h5tDS{"test/repeats/cell02", []int{2, 10}, "f64", nanAt(13, h5tRepeatGen(1))})), nil,
			[]string{`dataset "test/repeats/cell02"`, "value at [1, 3] is NaN", "repeat 1"}},
		{"Inf in stimulus", raw(h5tWith(valid, "test/stimulus", &h5tDS{"test/stimulus", []int{10, 4, 4}, "f64", func(i int) float64 { return math.Inf(1) }})), nil,
			[]string{`dataset "test/stimulus"`, "value at [0, 0, 0] is +Inf"}},
		{"float64 overflowing float32", raw(h5tWith(valid, "train/stimulus", &h5tDS{"train/stimulus", []int{20, 4, 4}, "f64",
			func(i int) float64 { return map[bool]float64{true: -1e39, false: float64(i % 3)}[i == 21] }})), nil,
			[]string{`dataset "train/stimulus"`, "value at [1, 1, 1]", "-1e+39", "overflows float32"}},
		{"negative rate", raw(h5tWith(valid, "train/response/firing_rate_10ms", &h5tDS{"train/response/firing_rate_10ms", []int{3, 20}, "f64",
			func(i int) float64 { return map[bool]float64{true: -2, false: h5tRateGen(0)(i)}[i == 47] }})), nil,
			[]string{`dataset "train/response/firing_rate_10ms"`, "value at [2, 7] is -2", "negative"}},
		{"negative spike count", raw(h5tWith(valid, "test/response/binned", &h5tDS{"test/response/binned", []int{3, 10}, "i16",
			func(i int) float64 { return map[bool]float64{true: -1, false: 0}[i == 4] }})), nil,
			[]string{`dataset "test/response/binned"`, "value at [0, 4] is -1", "negative"}},
		{"negative repeat", raw(h5tWith(valid, "test/repeats/cell01", &h5tDS{"test/repeats/cell01", []int{2, 10}, "f64",
			func(i int) float64 { return map[bool]float64{true: -0.5, false: 1}[i == 12] }})), nil,
			[]string{`dataset "test/repeats/cell01"`, "value at [1, 2]", "repeat 1", "negative"}},
		{"constant training stimulus", raw(h5tWith(valid, "train/stimulus", &h5tDS{"train/stimulus", []int{20, 4, 4}, "f32", func(int) float64 { return 0 }})), nil,
			[]string{`"train/stimulus"`, "constant", "every value is 0"}},
		{"an interneuron file", raw([]h5tDS{
			{"flashes/stimuli", []int{6, 4, 4}, "f32", h5tStimGen(0)},
			{"flashes/detrended_membrane_potential", []int{2, 6}, "f64", h5tRateGen(0)},
		}), nil, []string{`group "train": not found`, "interneuron file", `"flashes"`}},
		{"cell index out of range", bytesFile(validBytes), []int{0, 3}, []string{"cells", "index 3 out of range", "3 cells"}},
		{"negative cell index", bytesFile(validBytes), []int{-1}, []string{"cells", "index -1 out of range"}},
		{"cell selected twice", bytesFile(validBytes), []int{1, 1}, []string{"cells", "index 1 selected twice"}},
		{"bad frame rate attribute", raw(valid, h5tAttr{"frame_rate_hz", -5.0}), nil, []string{`attribute "frame_rate_hz"`, "-5"}},
		{"frame rate attribute is a string", raw(valid, h5tAttr{"frame_rate_hz", "fast"}), nil, []string{`attribute "frame_rate_hz"`, "expected one number"}},
		{"cell_ids of the wrong length", raw(valid, h5tAttr{"cell_ids", []int{1, 2}}), nil, []string{`attribute "cell_ids"`, "expected 3 ids", "got 2"}},
		{"implausible shape", raw(h5tWith(valid, "train/stimulus", &h5tDS{"train/stimulus", []int{1 << 20, 1 << 12, 1 << 10}, "f32", nil})), nil,
			[]string{`dataset "train/stimulus"`, "implausible"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.NewReplacer(" ", "_", "/", "_").Replace(tc.name)+".h5")
			if tc.make != nil {
				tc.make(path)
			}
			rec, err := LoadFile(path, WhiteNoise, tc.cells)
			t.Log(err)
			if rec != nil {
				t.Errorf("got a recording along with the error")
			}
			h5tErrContains(t, err, path, tc.want...)
		})
	}
}

// TestLoadFileNoHDF5StderrNoise checks, in a child process, that failed opens on many OS threads
// print nothing to stderr (libhdf5's error printing is per thread).
func TestLoadFileNoHDF5StderrNoise(t *testing.T) {
	if p := os.Getenv("DEEPRETINA_H5_NOISE_CHILD"); p != "" {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread() // never unlocked: this thread dies, the next goroutine gets a fresh one
				if _, err := LoadFile(p, WhiteNoise, nil); err == nil {
					t.Errorf("goroutine %d: expected an error", i)
				}
				if _, err := LoadInterneuronFile(p); err == nil {
					t.Errorf("goroutine %d: expected an error", i)
				}
			}()
			wg.Wait()
		}
		return
	}
	path := filepath.Join(t.TempDir(), "broken.h5")
	h5tWriteRaw(t, path, h5tWith(h5tLabLayout(5, 5, 2, 2, 1, 1), "train/stimulus", nil), nil)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadFileNoHDF5StderrNoise$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DEEPRETINA_H5_NOISE_CHILD="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child failed: %v\n%s\n%s", err, out, stderr.String())
	}
	if s := stderr.String(); strings.Contains(s, "HDF5-DIAG") || s != "" {
		t.Errorf("libhdf5 wrote to stderr:\n%s", s)
	}
}

// ---------------------------------------------------------------------------------------------
// Writing

func TestWriteFileAtomicAndValidated(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "whitenoise.h5") // parents do not exist yet
	first := h5tRecording(10, 5, 3, 3, []int{1, 2}, 2, 5)
	if err := WriteFile(path, first); err != nil {
		t.Fatal(err)
	}
	second := h5tRecording(12, 6, 3, 3, []int{4}, 1, 6)
	if err := WriteFile(path, second); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadFile(path, WhiteNoise, nil); err != nil || got.Train.Len() != 12 || !slices.Equal(got.CellIDs, []int{4}) {
		t.Fatalf("overwrite: got %v, %v", got, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("file mode: %v, %v", st, err)
	}

	bad := h5tRecording(12, 6, 3, 3, []int{4}, 1, 7)
	bad.Test.Rates.Data[3] = float32(math.Inf(-1))
	err := WriteFile(path, bad)
	h5tErrContains(t, err, path, "test/response/firing_rate_10ms", "-Inf")
	notFrame := h5tRecording(12, 6, 3, 3, []int{4}, 1, 7)
	notFrame.FrameRate = 0
	h5tErrContains(t, WriteFile(path, notFrame), path, "frame rate")
	h5tErrContains(t, WriteFile(path, nil), path, "nil recording")
	// Writing onto a directory fails at the rename; nothing may be left behind.
	h5tErrContains(t, WriteFile(filepath.Join(dir, "a"), first), filepath.Join(dir, "a"))

	if got, err := LoadFile(path, WhiteNoise, nil); err != nil || got.Train.Len() != 12 {
		t.Fatalf("failed writes must leave the old file intact: %v, %v", got, err)
	}
	for _, d := range []string{dir, filepath.Join(dir, "a"), filepath.Join(dir, "a", "b")} {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("temporary file left behind: %s", filepath.Join(d, e.Name()))
			}
		}
	}
}

// TestLoadFileConcurrent loads from several goroutines at once (the loader serialises libhdf5).
func TestLoadFileConcurrent(t *testing.T) {
	rec := h5tRecording(15, 5, 3, 3, []int{0, 1}, 2, 8)
	path := filepath.Join(t.TempDir(), "c", "whitenoise.h5")
	if err := WriteFile(path, rec); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var bad atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				got, err := LoadFile(path, WhiteNoise, nil)
				if err != nil || !slices.Equal(got.Train.Stimulus.Data, rec.Train.Stimulus.Data) {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d concurrent loads failed or differed", bad.Load())
	}
}

// ---------------------------------------------------------------------------------------------
// Memory

// h5tLoadAllocRatio loads path and returns (bytes allocated on the Go heap during the load) /
// (bytes of the loaded stimuli), and the peak live heap growth sampled during the load over the
// same denominator.
func h5tLoadAllocRatio(tb testing.TB, path string) (alloc, peak float64) {
	tb.Helper()
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var maxLive atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > maxLive.Load() {
				maxLive.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rec, err := LoadFile(path, WhiteNoise, nil)
	runtime.ReadMemStats(&after)
	close(stop)
	<-done
	if err != nil {
		tb.Fatal(err)
	}
	stim := float64(4 * (len(rec.Train.Stimulus.Data) + len(rec.Test.Stimulus.Data)))
	runtime.KeepAlive(rec)
	peakGrowth := float64(0)
	if m := maxLive.Load(); m > base {
		peakGrowth = float64(m - base)
	}
	return float64(after.TotalAlloc-before.TotalAlloc) / stim, peakGrowth / stim
}

// TestLoadFileMemoryAboutOneStimulusCopy: whatever the on-disk type, loading allocates about
// one copy of the stimulus (float32 is read in place; float64 is converted through 1 MiB).
func TestLoadFileMemoryAboutOneStimulusCopy(t *testing.T) {
	for _, typ := range []string{"f32", "f64"} {
		t.Run(typ, func(t *testing.T) {
			const T, tTest, hw = 800, 100, 50
			dss := h5tLabLayout(T, tTest, hw, hw, 2, 2)
			dss = h5tWith(dss, "train/stimulus", &h5tDS{"train/stimulus", []int{T, hw, hw}, typ, h5tStimGen(0)})
			path := filepath.Join(t.TempDir(), "m", "whitenoise.h5")
			h5tWriteRaw(t, path, dss, nil)
			alloc, peak := h5tLoadAllocRatio(t, path)
			t.Logf("%s: allocated %.3f, peak live %.3f bytes per stimulus byte", typ, alloc, peak)
			if alloc > 1.5 {
				t.Errorf("loading a %s stimulus allocated %.2f× the stimulus size; want ≤ 1.5×", typ, alloc)
			}
		})
	}
}

// BenchmarkLoadLarge loads a (36000, 50, 50) training stimulus (plus a (600, 50, 50) test
// stimulus) stored as float32 and as float64, and reports Go-heap bytes allocated per loaded
// stimulus byte (heap/stim-bytes, an upper bound of the peak) and the sampled peak live-heap
// growth (peak-heap/stim-bytes).
func BenchmarkLoadLarge(b *testing.B) {
	const T, tTest, hw = 36000, 600, 50
	for _, typ := range []string{"f32", "f64"} {
		b.Run(typ, func(b *testing.B) {
			dss := h5tLabLayout(T, tTest, hw, hw, 4, 3)
			dss = h5tWith(dss, "train/stimulus", &h5tDS{"train/stimulus", []int{T, hw, hw}, typ, h5tStimGen(0)})
			path := filepath.Join(b.TempDir(), "big", "whitenoise.h5")
			h5tWriteRaw(b, path, dss, nil)
			b.SetBytes(int64(4 * (T + tTest) * hw * hw))
			b.ResetTimer()
			worstAlloc, worstPeak := 0.0, 0.0
			for range b.N {
				alloc, peak := h5tLoadAllocRatio(b, path)
				worstAlloc, worstPeak = max(worstAlloc, alloc), max(worstPeak, peak)
			}
			b.ReportMetric(worstAlloc, "heap/stim-bytes")
			b.ReportMetric(worstPeak, "peak-heap/stim-bytes")
		})
	}
}

// BenchmarkLoadHashing measures what computing Source.SHA256 while reading costs: LoadFile
// (hashed) against the same read with the hash switched off, on a float32 (36000, 50, 50)
// training stimulus (360 MB, a tenth of the paper-size recording; DEEPRETINA_BENCH_FRAMES sets
// another number of frames, 360000 for the paper size).
//
//	go test ./datasets -run '^$' -bench LoadHashing -benchtime 5x
func BenchmarkLoadHashing(b *testing.B) {
	T, tTest, hw := 36000, 600, 50
	if v, err := strconv.Atoi(os.Getenv("DEEPRETINA_BENCH_FRAMES")); err == nil && v > 0 {
		T = v
	}
	dss := h5tLabLayout(T, tTest, hw, hw, 4, 3)
	path := filepath.Join(b.TempDir(), "big", "whitenoise.h5")
	h5tWriteRaw(b, path, dss, nil)
	unhashed := func() error {
		return h5.Guard("load", path, func() error {
			h, err := openReader(path)
			if err != nil {
				return err
			}
			defer h.Close()
			_, err = loadRecording(h, path, WhiteNoise, nil)
			return err
		})
	}
	for _, c := range []struct {
		name string
		load func() error
	}{
		{"unhashed", unhashed},
		{"hashed", func() error { _, err := LoadFile(path, WhiteNoise, nil); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(4 * (T + tTest) * hw * hw))
			for range b.N {
				if err := c.load(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
