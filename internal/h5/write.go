package h5

import (
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/hdf5"

	"github.com/deepretina/deepretina/internal/fsutil"
)

// Writer is an HDF5 file being written by WriteAtomic.
type Writer struct {
	// File is the file itself, for layouts the helpers do not make (tests write broken files).
	File *hdf5.File
	root *hdf5.Group
}

// WriteAtomic creates path's directory, fills a temporary HDF5 file next to path, syncs it and
// renames it onto path, so that readers see the old file or the new one, never a part. The
// temporary file is removed on any failure. Errors read "<op> <path>: …".
func WriteAtomic(op, path string, fill func(*Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	tmp, err := fsutil.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	done := false
	defer func() {
		if !done {
			os.Remove(tmpName)
		}
	}()
	err = Guard(op, path, func() error {
		f, err := hdf5.CreateFile(tmpName, hdf5.F_ACC_TRUNC)
		if err != nil {
			return fmt.Errorf("create %s: %v", tmpName, err)
		}
		closed := false
		defer func() {
			if !closed {
				f.Close()
			}
		}()
		root, err := f.OpenGroup("/")
		if err != nil {
			return fmt.Errorf("open root group: %v", err)
		}
		err = fill(&Writer{File: f, root: root})
		root.Close()
		if err != nil {
			return err
		}
		closed = true
		if err := f.Close(); err != nil {
			return fmt.Errorf("close %s: %v", tmpName, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if fh, err := os.OpenFile(tmpName, os.O_RDWR, 0); err == nil {
		err = fh.Sync()
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s %s: sync: %w", op, path, err)
		}
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	done = true
	return nil
}

// CreateGroup creates group name (its parent must exist).
func (w *Writer) CreateGroup(name string) error {
	g, err := w.File.CreateGroup(name)
	if err != nil {
		return fmt.Errorf("create group %q: %v", name, err)
	}
	return g.Close()
}

// WriteArray writes data (row-major, shape dims) as a float32 or float64 dataset.
func WriteArray[E float32 | float64](w *Writer, name string, dims []int, data []E) error {
	udims := make([]uint, len(dims))
	n := 1
	for i, d := range dims {
		udims[i] = uint(d)
		n *= d
	}
	if n != len(data) {
		return fmt.Errorf("dataset %q: internal error: %d values for shape %s", name, len(data), Shape(dims))
	}
	typ := hdf5.T_NATIVE_FLOAT
	var zero E
	if _, ok := any(zero).(float64); ok {
		typ = hdf5.T_NATIVE_DOUBLE
	}
	sp, err := hdf5.CreateSimpleDataspace(udims, nil)
	if err != nil {
		return fmt.Errorf("dataset %q: %v", name, err)
	}
	defer sp.Close()
	ds, err := w.File.CreateDataset(name, typ, sp)
	if err != nil {
		return fmt.Errorf("create dataset %q: %v", name, err)
	}
	if n > 0 {
		if err := ds.Write(&data); err != nil {
			ds.Close()
			return fmt.Errorf("write dataset %q: %v", name, err)
		}
	}
	if err := ds.Close(); err != nil {
		return fmt.Errorf("close dataset %q: %v", name, err)
	}
	return nil
}

// WriteAttrFloat writes a scalar float64 attribute on the root group.
func (w *Writer) WriteAttrFloat(name string, v float64) error {
	return writeAttr(w.root, name, hdf5.T_NATIVE_DOUBLE, nil, func(a *hdf5.Attribute) error {
		return a.Write(&v, hdf5.T_NATIVE_DOUBLE)
	})
}

// WriteAttrString writes a scalar variable-length string attribute on the root group (what h5py
// writes for a str).
func (w *Writer) WriteAttrString(name, s string) error {
	return writeAttr(w.root, name, hdf5.T_GO_STRING, nil, func(a *hdf5.Attribute) error {
		return a.Write(&s, hdf5.T_GO_STRING)
	})
}

// WriteAttrInts writes an int64 array attribute on the root group; nothing when v is empty.
func (w *Writer) WriteAttrInts(name string, v []int) error {
	if len(v) == 0 {
		return nil
	}
	v64 := make([]int64, len(v))
	for i, x := range v {
		v64[i] = int64(x)
	}
	return writeAttr(w.root, name, hdf5.T_NATIVE_INT64, []uint{uint(len(v))}, func(a *hdf5.Attribute) error {
		return a.Write(&v64[0], hdf5.T_NATIVE_INT64)
	})
}

func writeAttr(g *hdf5.Group, name string, typ *hdf5.Datatype, dims []uint, write func(*hdf5.Attribute) error) error {
	var sp *hdf5.Dataspace
	var err error
	if dims == nil {
		sp, err = hdf5.CreateDataspace(hdf5.S_SCALAR)
	} else {
		sp, err = hdf5.CreateSimpleDataspace(dims, nil)
	}
	if err != nil {
		return fmt.Errorf("attribute %q: %v", name, err)
	}
	defer sp.Close()
	a, err := g.CreateAttribute(name, typ, sp)
	if err != nil {
		return fmt.Errorf("create attribute %q: %v", name, err)
	}
	if err := write(a); err != nil {
		a.Close()
		return fmt.Errorf("write attribute %q: %v", name, err)
	}
	return a.Close()
}
