// Package h5 is deepretina's plumbing over libhdf5 (gonum.org/v1/hdf5, cgo): opening and
// creating files, reading numeric datasets of any float or integer type into float32 or float64,
// reading and writing root attributes, with errors that name the dataset or attribute at fault.
// It knows nothing of any file layout: package datasets holds the lab's layout and the checks of
// the values.
//
// Every call into libhdf5 runs inside Guard, which serialises them (gonum/hdf5 is not safe for
// concurrent use, and not every libhdf5 build is thread-safe):
//
//	err := h5.Guard("load", path, func() error {
//		f, err := h5.Open(path) // refuses files without the HDF5 signature
//		if err != nil {
//			return err
//		}
//		defer f.Close()
//		a, err := f.OpenArray("train/stimulus")
//		if err != nil {
//			return err // dataset "train/stimulus": not found
//		}
//		defer a.Close()
//		dst := make([]float32, a.Len())
//		return h5.Read(a, dst, []int{0, 0, 0}, a.Dims, nil)
//	}) // errors read "load <path>: dataset …"
//
// Notes on the binding that shape this package:
//   - libhdf5 (Debian's serial build is thread-safe) keeps its "print errors to stderr" switch per
//     OS thread; gonum/hdf5 turns it off only on the thread that ran its init. Guard runs on one
//     locked OS thread with printing switched off, so a failed open never writes "HDF5-DIAG"
//     noise to stderr.
//   - Dataset.Read uses the dataset's own on-disk type as the memory type (no conversion), so
//     reading a float64 dataset into a []float32 would overrun the buffer. Read looks the on-disk
//     type up, reads native data straight into the destination, and anything else through a
//     small byte buffer that it decodes itself.
//   - Some calls panic on unusual inputs (e.g. SimpleExtentDims on a scalar dataspace, nil
//     dataspaces); shapes are checked before they are used, and Guard turns any remaining panic
//     into an error.
package h5

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"sync"

	"gonum.org/v1/hdf5"
)

// mu serialises every use of libhdf5 in the process (Guard).
var mu sync.Mutex

// Guard runs fn with libhdf5 to itself, on one locked OS thread with libhdf5's automatic error
// printing off, turns a panic inside the binding into an error, and prefixes errors with
// "<op> <path>: ".
func Guard(op, path string, fn func() error) (err error) {
	mu.Lock()
	defer mu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_ = hdf5.DisplayErrors(false) // per thread in thread-safe builds
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s %s: unexpected failure in the HDF5 binding (corrupt file?): %v", op, path, r)
		}
	}()
	if err := fn(); err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	return nil
}

var signature = []byte("\x89HDF\r\n\x1a\n")

// checkFile checks that path is a regular, non-empty file with the HDF5 signature (at offset 0
// or, after a user block, at 512, 1024, 2048, …) and returns its size. It keeps libhdf5 away from
// files that are not HDF5 at all.
func checkFile(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return 0, fmt.Errorf("open: %w", pe.Err)
		}
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if st.IsDir() {
		return 0, errors.New("is a directory, not an HDF5 file")
	}
	size := st.Size()
	if size == 0 {
		return 0, errors.New("empty file (0 bytes), not an HDF5 file")
	}
	buf := make([]byte, len(signature))
	for off := int64(0); off+int64(len(buf)) <= size; {
		if _, err := f.ReadAt(buf, off); err != nil {
			return 0, fmt.Errorf("read: %w", err)
		}
		if bytes.Equal(buf, signature) {
			return size, nil
		}
		if off == 0 {
			off = 512
		} else {
			off *= 2
		}
	}
	return 0, fmt.Errorf("not an HDF5 file (no HDF5 signature in its %d bytes)", size)
}

// File is an HDF5 file open for reading. Its methods must run inside Guard.
type File struct {
	f    *hdf5.File
	root *hdf5.Group
	size int64
}

// Open opens path read-only, after checking that it is an HDF5 file at all (errors such as
// "not an HDF5 file (no HDF5 signature in its 12 bytes)").
func Open(path string) (*File, error) {
	size, err := checkFile(path)
	if err != nil {
		return nil, err
	}
	f, err := hdf5.OpenFile(path, hdf5.F_ACC_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("libhdf5 cannot open it (truncated or corrupt HDF5 file?)")
	}
	root, err := f.OpenGroup("/")
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot open the root group (corrupt HDF5 file?)")
	}
	return &File{f: f, root: root, size: size}, nil
}

// Close closes the file.
func (h *File) Close() {
	h.root.Close()
	h.f.Close()
}

// Size is the file's size in bytes.
func (h *File) Size() int64 { return h.size }

// Exists reports whether every component of the slash-separated name is a link in the file.
func (h *File) Exists(name string) bool {
	parts := strings.Split(name, "/")
	for i := range parts {
		if !h.f.LinkExists(strings.Join(parts[:i+1], "/")) {
			return false
		}
	}
	return true
}

// IsGroup reports whether name exists and is a group.
func (h *File) IsGroup(name string) bool {
	if !h.Exists(name) {
		return false
	}
	g, err := h.f.OpenGroup(name)
	if err != nil {
		return false
	}
	g.Close()
	return true
}

// NumObjects is the number of entries of the root group.
func (h *File) NumObjects() (uint, error) { return h.f.NumObjects() }

// ObjectName is the name of entry i of the root group.
func (h *File) ObjectName(i uint) (string, error) { return h.f.ObjectNameByIndex(i) }

// Shape formats a shape the way numpy and h5py print it: (T, H, W), (T,).
func Shape(dims []int) string {
	if len(dims) == 1 {
		return fmt.Sprintf("(%d,)", dims[0])
	}
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = fmt.Sprint(d)
	}
	return "(" + strings.Join(s, ", ") + ")"
}
