package h5

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/hdf5"
)

func errContains(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error containing %q", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not contain %q", err, f)
		}
	}
}

// writeSample writes a (4, 3) float32 array a, a (5,) float64 array b holding 1e39 (beyond
// float32) at index 3, and root attributes rate (float), note (string) and ids (ints).
func writeSample(t *testing.T, path string) {
	t.Helper()
	a := make([]float32, 12)
	for i := range a {
		a[i] = float32(i) - 2.5
	}
	err := WriteAtomic("write", path, func(w *Writer) error {
		if err := w.CreateGroup("g"); err != nil {
			return err
		}
		if err := WriteArray(w, "g/a", []int{4, 3}, a); err != nil {
			return err
		}
		if err := WriteArray(w, "b", []int{5}, []float64{0.5, -1, 2, 1e39, 3}); err != nil {
			return err
		}
		if err := w.WriteAttrFloat("rate", 100); err != nil {
			return err
		}
		if err := w.WriteAttrString("note", "made by a test"); err != nil {
			return err
		}
		return w.WriteAttrInts("ids", []int{7, 3, -1})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// What WriteAtomic writes, Open and Read give back: values, shapes, hyperslabs, conversions and
// attributes; each slab read is visited once, in order, covering the read.
func TestWriteReadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.h5") // the folder does not exist yet
	writeSample(t, path)
	err := Guard("load", path, func() error {
		f, err := Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, _ := os.Stat(path); f.Size() != st.Size() {
			t.Errorf("Size %d, file has %d bytes", f.Size(), st.Size())
		}
		if !f.IsGroup("g") || f.IsGroup("g/a") || !f.Exists("g/a") || f.Exists("g/nope") || f.Exists("nope/a") {
			t.Error("Exists/IsGroup disagree with the layout written")
		}
		if n, err := f.NumObjects(); err != nil || n != 2 {
			t.Errorf("root has %d entries (%v), want 2 (g, b)", n, err)
		}
		a, err := f.OpenArray("g/a")
		if err != nil {
			return err
		}
		defer a.Close()
		if !slices.Equal(a.Dims, []int{4, 3}) || a.Len() != 12 || a.Name != "g/a" {
			t.Errorf("array %q dims %v len %d", a.Name, a.Dims, a.Len())
		}
		// Rows 1..2 of a, as float32 (native) and as float64 (converted).
		want := []float64{0.5, 1.5, 2.5, 3.5, 4.5, 5.5}
		got32 := make([]float32, 6)
		covered := 0
		if err := Read(a, got32, []int{1, 0}, []int{2, 3}, func(first int, part []float32) error {
			if first != covered {
				t.Errorf("slab starts at %d, want %d", first, covered)
			}
			covered += len(part)
			return nil
		}); err != nil {
			return err
		}
		got64 := make([]float64, 6)
		if err := Read(a, got64, []int{1, 0}, []int{2, 3}, nil); err != nil {
			return err
		}
		for i, w := range want {
			if float64(got32[i]) != w || got64[i] != w {
				t.Errorf("value %d: %v (float32), %v (float64), want %v", i, got32[i], got64[i], w)
			}
		}
		if covered != 6 {
			t.Errorf("visits covered %d values, want 6", covered)
		}
		if err := a.ExpectShape([]int{4, 3}, "(ok)"); err != nil {
			t.Error(err)
		}
		errContains(t, a.ExpectShape([]int{4}, "= (T,) with T=4"), `dataset "g/a": expected shape (4,) = (T,) with T=4, got (4, 3)`)

		if v, ok, err := f.AttrFloat("rate"); v != 100 || !ok || err != nil {
			t.Errorf("rate: %v %v %v", v, ok, err)
		}
		if v, ok, err := f.AttrString("note"); v != "made by a test" || !ok || err != nil {
			t.Errorf("note: %q %v %v", v, ok, err)
		}
		if v, ok, err := f.AttrInts("ids"); !slices.Equal(v, []int{7, 3, -1}) || !ok || err != nil {
			t.Errorf("ids: %v %v %v", v, ok, err)
		}
		if _, ok, err := f.AttrFloat("absent"); ok || err != nil {
			t.Errorf("absent attribute: ok %v, err %v; want false, nil", ok, err)
		}
		_, _, err = f.AttrInts("note")
		errContains(t, err, `attribute "note": expected integers, got type string`)
		_, _, err = f.AttrString("ids")
		errContains(t, err, `attribute "ids": expected one string, got 3 values of type integer`)
		_, err = f.OpenArray("g")
		errContains(t, err, `dataset "g": cannot open it as a dataset (is it a group?)`)
		_, err = f.OpenArray("g/b")
		errContains(t, err, `dataset "g/b": not found`)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A float64 beyond float32's range stops a float32 read with its index and value (never an
// infinity), reads fine as float64, and an error from the visitor stops the read.
func TestReadOverflowAndVisitError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.h5")
	writeSample(t, path)
	err := Guard("load", path, func() error {
		f, err := Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := f.OpenArray("b")
		if err != nil {
			return err
		}
		defer b.Close()
		err = Read(b, make([]float32, 5), []int{0}, []int{5}, nil)
		var of *OverflowError
		if !errors.As(err, &of) || of.Index != 3 || of.Value != 1e39 {
			t.Errorf("float32 read of 1e39: %v, want an OverflowError at index 3", err)
		}
		got := make([]float64, 5)
		if err := Read(b, got, []int{0}, []int{5}, nil); err != nil || got[3] != 1e39 {
			t.Errorf("float64 read: %v, %v", got, err)
		}
		stop := errors.New("stop")
		if err := Read(b, got, []int{0}, []int{5}, func(int, []float64) error { return stop }); err != stop {
			t.Errorf("visitor's error: got %v", err)
		}
		errContains(t, Read(b, make([]float64, 4), []int{0}, []int{5}, nil), `dataset "b": internal error: 5 values into a buffer of 4`)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Open keeps libhdf5 away from what is not an HDF5 file, and Guard names the operation and path.
func TestOpenRefusesWhatIsNotHDF5(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.h5")
	text := filepath.Join(dir, "text.h5")
	truncated := filepath.Join(dir, "truncated.h5")
	_ = os.WriteFile(empty, nil, 0o644)
	_ = os.WriteFile(text, []byte("time,rate\n0,1\n"), 0o644)
	good := filepath.Join(dir, "good.h5")
	writeSample(t, good)
	data, _ := os.ReadFile(good)
	_ = os.WriteFile(truncated, data[:200], 0o644)
	for _, tc := range []struct {
		path string
		want string
	}{
		{filepath.Join(dir, "missing.h5"), "open: no such file or directory"},
		{dir, "is a directory, not an HDF5 file"},
		{empty, "empty file (0 bytes), not an HDF5 file"},
		{text, "not an HDF5 file (no HDF5 signature in its 14 bytes)"},
		{truncated, "libhdf5 cannot open it (truncated or corrupt HDF5 file?)"},
	} {
		err := Guard("load", tc.path, func() error {
			f, err := Open(tc.path)
			if err == nil {
				f.Close()
			}
			return err
		})
		errContains(t, err, "load "+tc.path+": "+tc.want)
	}
}

// A failed fill leaves the old file intact and no temporary file behind.
func TestWriteAtomicFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.h5")
	writeSample(t, path)
	before, _ := os.ReadFile(path)
	err := WriteAtomic("write", path, func(w *Writer) error {
		if err := WriteArray(w, "a", []int{2}, []float32{1, 2}); err != nil {
			return err
		}
		return WriteArray(w, "a", []int{2}, []float32{1, 2}) // twice: libhdf5 refuses
	})
	errContains(t, err, "write "+path+": ", `create dataset "a"`)
	errContains(t, WriteAtomic("write", path, func(w *Writer) error {
		return WriteArray(w, "b", []int{3}, []float32{1, 2})
	}), `dataset "b": internal error: 2 values for shape (3,)`)
	after, _ := os.ReadFile(path)
	if !slices.Equal(before, after) {
		t.Error("a failed write changed the old file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries after failed writes, want only x.h5", len(entries))
	}
}

// A panic inside the binding becomes an error naming the file, and the libhdf5 lock is released
// afterwards.
func TestGuardRecoversPanics(t *testing.T) {
	err := Guard("load", "/x/y.h5", func() error {
		var ds *hdf5.Dataspace
		_, _, err := ds.SimpleExtentDims() // nil receiver: panics inside gonum/hdf5
		return err
	})
	errContains(t, err, "load /x/y.h5: unexpected failure in the HDF5 binding")
	done := make(chan error, 1)
	go func() {
		done <- WriteAtomic("write", filepath.Join(t.TempDir(), "x.h5"), func(w *Writer) error {
			return w.WriteAttrFloat("v", 1)
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Guard blocked after a recovered panic: the libhdf5 lock was not released")
	}
}

func TestShape(t *testing.T) {
	for _, tc := range []struct {
		dims []int
		want string
	}{{[]int{5}, "(5,)"}, {[]int{4, 3}, "(4, 3)"}, {[]int{}, "()"}, {[]int{2, 1, 7}, "(2, 1, 7)"}} {
		if got := Shape(tc.dims); got != tc.want {
			t.Errorf("Shape(%v) = %q, want %q", tc.dims, got, tc.want)
		}
	}
}
