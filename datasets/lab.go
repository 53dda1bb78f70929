package datasets

// HDF5 reading and writing of recordings in the lab's layout, with gonum.org/v1/hdf5 (cgo, libhdf5).
//
// Notes on the binding that shape this file:
//   - libhdf5 (Debian's serial build is thread-safe) keeps its "print errors to stderr" switch per OS
//     thread; gonum/hdf5 turns it off only on the thread that ran its init. Every call here runs on
//     one locked OS thread with printing switched off (h5guard), so a failed open never writes
//     "HDF5-DIAG" noise to stderr.
//   - Dataset.Read uses the dataset's own on-disk type as the memory type (no conversion), so
//     reading a float64 dataset into a []float32 would overrun the buffer. We look the on-disk type
//     up, read float32 data straight into the destination, and anything else through a small byte
//     buffer that we decode ourselves (h5read).
//   - Some calls panic on unusual inputs (e.g. SimpleExtentDims on a scalar dataspace, nil
//     dataspaces); shapes are checked before they are used, and h5guard turns any remaining panic
//     into an error.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"gonum.org/v1/hdf5"

	"github.com/deepretina/deepretina/internal/fsutil"
)

// Names of the datasets and attributes of the lab's recording files.
const (
	h5Stimulus    = "stimulus"
	h5Time        = "time"
	h5Rates       = "response/firing_rate_10ms"
	h5Binned      = "response/binned"
	h5Repeats     = "repeats"
	h5AttrFrame   = "frame_rate_hz"
	h5AttrPixel   = "pixel_size_um"
	h5AttrProv    = "provenance"
	h5AttrCellIDs = "cell_ids"
	// test_count_trials: how many trials test/response/binned sums (see Split.CountTrials).
	h5AttrCountTrials = "test_count_trials"
	h5AttrSimPreset   = "sim_preset"
	h5AttrSimSeed     = "sim_seed"
)

// h5ChunkBytes bounds the conversion buffer used for datasets whose on-disk type is not the
// destination's native type (float64, integers, big-endian data).
const h5ChunkBytes = 1 << 20

// Load reads <root>/<expt>/<stim>.h5; see LoadFile.
func Load(root, expt, stim string, cells []int) (*Recording, error) {
	return LoadFile(filepath.Join(root, expt, stim+".h5"), stim, cells)
}

// LoadFile reads one recording file in the lab's layout:
//
//	train/time                        (T,)             seconds (optional)
//	train/stimulus                    (T, H, W)
//	train/response/firing_rate_10ms   (n_cells, T)     Hz
//	train/response/binned             (n_cells, T)     spike counts (optional)
//	test/…                            the same, test/response/firing_rate_10ms averaged over repeats
//	test/repeats/cellNN               (n_repeats, T)   one per cell, cell01 = cell index 0 (optional
//	                                                   as a group; if present, every selected cell
//	                                                   must have its dataset)
//
// Datasets may be stored as float32, float64 or integers (either byte order); everything is
// converted to float32 (time to float64) in our layouts: Rates and Counts [T, N], Repeats [N][R][T].
//
// cells selects cell indices along the file's cell axis (nil or empty = all cells, in file
// order); the result keeps them in the order given. Recording.CellIDs holds, for each kept cell,
// the file's root attribute cell_ids at that index when the file has one (files written by
// WriteFile), otherwise the index itself (the lab's files).
//
// FrameRate comes from the root attribute frame_rate_hz, else from the median spacing of
// train/time (rounded to 1e-6 Hz), else DefaultFrameRate; PixelSizeUM from pixel_size_um, else
// DefaultPixelSizeUM. Provenance is the provenance attribute (if any) and the absolute path.
// Expt is the name of the file's parent folder; Stim is stim (the file's base name when stim is "").
//
// Spike counts: Train.CountTrials is 1; Test.CountTrials is the root attribute
// test_count_trials when the file has it (WriteFile writes it), otherwise inferred by comparing
// the test counts with the trial-averaged test rates: about rate·dt spikes per bin means one
// repeat's counts, R times that the sum over the R repeats, anything else unknown (0).
//
// Source records the absolute path, the size and the SHA-256 of what was read (computed while
// reading, on another core), plus the simulator's preset and seed from the root attributes
// sim_preset and sim_seed when the file was simulated.
//
// Every value is checked as it is read: NaN, ±Inf, float64 values that overflow float32 and
// negative rates, counts or repeats are errors naming the dataset and the value's position in
// the file's own layout. The recording is then validated (Recording.Validate: shapes, and no
// constant stimulus) before it is returned.
//
// Errors name the file and the dataset or attribute at fault. Peak memory is about one copy of the
// stimulus: float32 data is read straight into the result, other types through a 1 MiB buffer.
func LoadFile(path, stim string, cells []int) (*Recording, error) {
	var rec *Recording
	err := h5guard("load", path, func() error {
		h, err := h5open(path)
		if err != nil {
			return err
		}
		defer h.close()
		h.hash = newStreamHash()
		defer func() {
			if h.hash != nil { // an error stopped the load: stop the hashing goroutine
				h.hash.sum()
			}
		}()
		if rec, err = h5loadRecording(h, path, stim, cells); err != nil {
			return err
		}
		h.hash.header(fmt.Sprintf("attributes frame_rate=%v pixel=%v cells=%v count_trials=%d sim=%s/%d",
			rec.FrameRate, rec.PixelSizeUM, rec.CellIDs, rec.Test.CountTrials, rec.Source.SimPreset, rec.Source.SimSeed))
		rec.Source.Size = h.size
		rec.Source.SHA256 = h.hash.sum()
		h.hash = nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// WriteFile writes rec to path in the layout LoadFile reads: float32 stimulus, rates and counts
// ((n_cells, T) on disk), float64 time, test/repeats/cellNN numbered by column position (cell01 =
// column 0), and root attributes frame_rate_hz, pixel_size_um, provenance (string) and cell_ids
// (int64 array). Time, counts and repeats are written only when present. The recording is
// validated first. The file is written to a temporary file in the same directory and renamed into
// place, so readers never see a partial file; parent directories are created.
func WriteFile(path string, rec *Recording) error {
	if rec == nil {
		return fmt.Errorf("write %s: nil recording", path)
	}
	if err := rec.Validate(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return h5writeAtomic("write", path, func(f *hdf5.File) error { return h5writeRecording(f, rec) })
}

// ---------------------------------------------------------------------------------------------
// Recording: reading

func h5loadRecording(h *h5file, path, stim string, cells []int) (*Recording, error) {
	for _, g := range []string{"train", "test"} {
		if !h.isGroup(g) {
			return nil, fmt.Errorf("group %q: not found%s", g, h.interneuronHint())
		}
	}
	// The cell axis is defined by train/response/firing_rate_10ms.
	ratesName := "train/" + h5Rates
	ra, err := h.openArray(ratesName)
	if err != nil {
		return nil, err
	}
	dims := ra.dims
	ra.close()
	if len(dims) != 2 {
		return nil, fmt.Errorf("dataset %q: expected rank 2 (n_cells, T), got shape %s", ratesName, h5shape(dims))
	}
	nTotal := dims[0]
	if nTotal == 0 {
		return nil, fmt.Errorf("dataset %q: has no cells (shape %s)", ratesName, h5shape(dims))
	}
	sel, err := h5selectCells(cells, nTotal, ratesName)
	if err != nil {
		return nil, err
	}

	rec := &Recording{Stim: stim, FrameRate: DefaultFrameRate, PixelSizeUM: DefaultPixelSizeUM}
	if rec.Stim == "" {
		rec.Stim = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	rec.Expt = filepath.Base(filepath.Dir(abs))
	rec.Source.Path = abs
	if preset, ok, err := h.attrString(h5AttrSimPreset); err != nil {
		return nil, err
	} else if ok {
		rec.Source.SimPreset = preset
	}
	if seed, ok, err := h.attrInts(h5AttrSimSeed); err != nil {
		return nil, err
	} else if ok && len(seed) == 1 {
		rec.Source.SimSeed = uint64(seed[0])
	}

	// Root attributes.
	ids, ok, err := h.attrInts(h5AttrCellIDs)
	if err != nil {
		return nil, err
	}
	rec.CellIDs = make([]int, len(sel))
	if ok {
		if len(ids) != nTotal {
			return nil, fmt.Errorf("attribute %q: expected %d ids (one per cell of %s), got %d",
				h5AttrCellIDs, nTotal, ratesName, len(ids))
		}
		for j, c := range sel {
			rec.CellIDs[j] = ids[c]
		}
	} else {
		copy(rec.CellIDs, sel)
	}
	prov, ok, err := h.attrString(h5AttrProv)
	if err != nil {
		return nil, err
	}
	if ok && prov != "" {
		rec.Provenance = prov + "; loaded from " + abs
	} else {
		rec.Provenance = abs
	}
	if v, ok, err := h.attrFloat(h5AttrPixel); err != nil {
		return nil, err
	} else if ok {
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("attribute %q: expected a positive number of µm, got %v", h5AttrPixel, v)
		}
		rec.PixelSizeUM = v
	}

	if rec.Train, err = h5loadSplit(h, "train", sel, nTotal, ""); err != nil {
		return nil, err
	}
	if rec.Test, err = h5loadSplit(h, "test", sel, nTotal, ratesName); err != nil {
		return nil, err
	}

	if v, ok, err := h.attrFloat(h5AttrFrame); err != nil {
		return nil, err
	} else if ok {
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("attribute %q: expected a positive number of Hz, got %v", h5AttrFrame, v)
		}
		rec.FrameRate = v
	} else if fr, ok := h5frameRateFromTime(rec.Train.Time); ok {
		rec.FrameRate = fr
	} else if fr, ok := h5frameRateFromTime(rec.Test.Time); ok {
		rec.FrameRate = fr
	}

	if rec.Train.Counts.Data != nil {
		rec.Train.CountTrials = 1
	}
	if v, ok, err := h.attrInts(h5AttrCountTrials); err != nil {
		return nil, err
	} else if ok {
		if len(v) != 1 || v[0] < 0 {
			return nil, fmt.Errorf("attribute %q: expected one integer ≥ 0 (0 = unknown), got %v", h5AttrCountTrials, v)
		}
		rec.Test.CountTrials = v[0]
	} else {
		rec.Test.CountTrials = inferCountTrials(&rec.Test, rec.FrameRate)
	}

	if err := rec.Validate(); err != nil {
		return nil, err
	}
	return rec, nil
}

// h5selectCells checks a cell selection against the file's n cells (nil/empty = all).
func h5selectCells(cells []int, n int, axis string) ([]int, error) {
	if len(cells) == 0 {
		sel := make([]int, n)
		for i := range sel {
			sel[i] = i
		}
		return sel, nil
	}
	seen := make(map[int]bool, len(cells))
	for _, c := range cells {
		if c < 0 || c >= n {
			return nil, fmt.Errorf("cells: index %d out of range: %s has %d cells (indices 0..%d)", c, axis, n, n-1)
		}
		if seen[c] {
			return nil, fmt.Errorf("cells: index %d selected twice", c)
		}
		seen[c] = true
	}
	return slices.Clone(cells), nil
}

// h5loadSplit reads one split. All shapes are checked before any large read. cellAxis names the
// dataset that fixed n_cells (empty when this split's rates define it).
func h5loadSplit(h *h5file, split string, sel []int, nTotal int, cellAxis string) (Split, error) {
	var sp Split
	var open []*h5array
	defer func() {
		for _, a := range open {
			a.close()
		}
	}()
	get := func(name string) (*h5array, error) {
		a, err := h.openArray(name)
		if err == nil {
			open = append(open, a)
		}
		return a, err
	}

	stimName := split + "/" + h5Stimulus
	sa, err := get(stimName)
	if err != nil {
		return sp, err
	}
	if len(sa.dims) != 3 || sa.dims[0] == 0 || sa.dims[1] == 0 || sa.dims[2] == 0 {
		return sp, fmt.Errorf("dataset %q: expected shape (T, H, W) with all sizes > 0, got %s", stimName, h5shape(sa.dims))
	}
	t := sa.dims[0]
	tWhy := fmt.Sprintf("T=%d from %q", t, stimName)
	sa.axes = axesMovie

	var ta *h5array
	if name := split + "/" + h5Time; h.exists(name) {
		if ta, err = get(name); err != nil {
			return sp, err
		}
		if err := ta.expectShape([]int{t}, "= (T,) with "+tWhy); err != nil {
			return sp, err
		}
	}

	respWhy := func() string {
		why := "= (n_cells, T) with " + tWhy
		if cellAxis != "" {
			why += fmt.Sprintf(" and n_cells=%d from %q", nTotal, cellAxis)
		}
		return why
	}
	ratesName := split + "/" + h5Rates
	ra, err := get(ratesName)
	if err != nil {
		return sp, err
	}
	if err := ra.expectShape([]int{nTotal, t}, respWhy()); err != nil {
		return sp, err
	}
	ra.kind, ra.axes = nonNegative, axesResponses
	var ba *h5array
	if name := split + "/" + h5Binned; h.exists(name) {
		if ba, err = get(name); err != nil {
			return sp, err
		}
		if err := ba.expectShape([]int{nTotal, t}, respWhy()); err != nil {
			return sp, err
		}
		ba.kind, ba.axes = nonNegative, axesResponses
	}
	var reps []*h5array
	if h.isGroup(split + "/" + h5Repeats) {
		reps = make([]*h5array, len(sel))
		for j, c := range sel {
			name := fmt.Sprintf("%s/%s/cell%02d", split, h5Repeats, c+1)
			a, err := get(name)
			if err != nil {
				return sp, fmt.Errorf("%w (the file has a %s/%s group, so every cell needs its repeats)", err, split, h5Repeats)
			}
			if len(a.dims) != 2 || a.dims[1] != t {
				return sp, fmt.Errorf("dataset %q: expected shape (n_repeats, %d) = (n_repeats, T) with %s, got %s", name, t, tWhy, h5shape(a.dims))
			}
			a.kind, a.axes = nonNegative, axesRepeats
			reps[j] = a
		}
	}

	// Shapes agree: read.
	sp.Stimulus = NewMovie(t, sa.dims[1], sa.dims[2])
	if err := h5read(sa, sp.Stimulus.Data, []int{0, 0, 0}, sa.dims); err != nil {
		return sp, err
	}
	if ta != nil {
		sp.Time = make([]float64, t)
		if err := h5read(ta, sp.Time, []int{0}, ta.dims); err != nil {
			return sp, err
		}
	}
	if sp.Rates, err = h5readCells(ra, sel, t); err != nil {
		return sp, err
	}
	if ba != nil {
		if sp.Counts, err = h5readCells(ba, sel, t); err != nil {
			return sp, err
		}
	}
	if reps != nil {
		sp.Repeats = make([][][]float32, len(sel))
		for j, a := range reps {
			r := a.dims[0]
			data := make([]float32, r*t)
			if err := h5read(a, data, []int{0, 0}, a.dims); err != nil {
				return sp, err
			}
			sp.Repeats[j] = make([][]float32, r)
			for k := range r {
				sp.Repeats[j][k] = data[k*t : (k+1)*t : (k+1)*t]
			}
		}
	}
	return sp, nil
}

// h5readCells reads rows sel of an (n_cells, T) dataset into a [T, len(sel)] matrix.
func h5readCells(a *h5array, sel []int, t int) (Matrix, error) {
	n := len(sel)
	m := NewMatrix(t, n)
	for j, c := range sel {
		row := make([]float32, t) // not reused: it may still be being hashed
		if err := h5read(a, row, []int{c, 0}, []int{1, t}); err != nil {
			return Matrix{}, err
		}
		for i, v := range row {
			m.Data[i*n+j] = v
		}
	}
	return m, nil
}

// h5frameRateFromTime is 1 / median(diff(time)), rounded to 1e-6 Hz.
func h5frameRateFromTime(time []float64) (float64, bool) {
	if len(time) < 2 {
		return 0, false
	}
	d := make([]float64, len(time)-1)
	for i := range d {
		d[i] = time[i+1] - time[i]
	}
	slices.Sort(d)
	var med float64
	if k := len(d); k%2 == 1 {
		med = d[k/2]
	} else {
		med = (d[k/2-1] + d[k/2]) / 2
	}
	if !(med > 0) || math.IsInf(med, 0) {
		return 0, false
	}
	fr := math.Round(1e6/med) / 1e6
	if !(fr > 0) || math.IsInf(fr, 0) {
		return 0, false
	}
	return fr, true
}

// ---------------------------------------------------------------------------------------------
// Recording: writing

func h5writeRecording(f *hdf5.File, rec *Recording) error {
	root, err := f.OpenGroup("/")
	if err != nil {
		return fmt.Errorf("open root group: %v", err)
	}
	defer root.Close()
	if err := h5writeAttrFloat(root, h5AttrFrame, rec.FrameRate); err != nil {
		return err
	}
	if err := h5writeAttrFloat(root, h5AttrPixel, rec.PixelSizeUM); err != nil {
		return err
	}
	if err := h5writeAttrString(root, h5AttrProv, rec.Provenance); err != nil {
		return err
	}
	if err := h5writeAttrInts(root, h5AttrCellIDs, rec.CellIDs); err != nil {
		return err
	}
	if rec.Test.Counts.Data != nil && rec.Test.CountTrials > 0 {
		if err := h5writeAttrInts(root, h5AttrCountTrials, []int{rec.Test.CountTrials}); err != nil {
			return err
		}
	}
	if src := rec.Source; src.SimPreset != "" {
		if err := h5writeAttrString(root, h5AttrSimPreset, src.SimPreset); err != nil {
			return err
		}
		if err := h5writeAttrInts(root, h5AttrSimSeed, []int{int(src.SimSeed)}); err != nil {
			return err
		}
	}
	for _, s := range []struct {
		name  string
		split *Split
	}{{"train", &rec.Train}, {"test", &rec.Test}} {
		if err := h5writeSplit(f, s.name, s.split); err != nil {
			return err
		}
	}
	return nil
}

func h5writeSplit(f *hdf5.File, name string, sp *Split) error {
	groups := []string{name, name + "/response"}
	if sp.Repeats != nil {
		groups = append(groups, name+"/"+h5Repeats)
	}
	for _, g := range groups {
		if err := h5createGroup(f, g); err != nil {
			return err
		}
	}
	m := sp.Stimulus
	t := m.T
	if sp.Time != nil {
		if err := h5writeArray(f, name+"/"+h5Time, []int{t}, sp.Time); err != nil {
			return err
		}
	}
	if err := h5writeArray(f, name+"/"+h5Stimulus, []int{t, m.H, m.W}, m.Data); err != nil {
		return err
	}
	if err := h5writeArray(f, name+"/"+h5Rates, []int{sp.Rates.Cols, t}, h5transpose(sp.Rates)); err != nil {
		return err
	}
	if sp.Counts.Data != nil {
		if err := h5writeArray(f, name+"/"+h5Binned, []int{sp.Counts.Cols, t}, h5transpose(sp.Counts)); err != nil {
			return err
		}
	}
	for c, reps := range sp.Repeats {
		data := make([]float32, 0, len(reps)*t)
		for _, r := range reps {
			data = append(data, r...)
		}
		if err := h5writeArray(f, fmt.Sprintf("%s/%s/cell%02d", name, h5Repeats, c+1), []int{len(reps), t}, data); err != nil {
			return err
		}
	}
	return nil
}

// h5transpose returns the (Cols, Rows) row-major transpose of m.
func h5transpose(m Matrix) []float32 {
	out := make([]float32, len(m.Data))
	for r := range m.Rows {
		for c := range m.Cols {
			out[c*m.Rows+r] = m.Data[r*m.Cols+c]
		}
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// Plumbing shared by recordings and interneuron files

// h5mu serialises this package's use of libhdf5 (not every libhdf5 build is thread-safe).
var h5mu sync.Mutex

// h5guard runs fn with libhdf5 to itself, on one locked OS thread with libhdf5's automatic error
// printing off, turns a panic inside the binding into an error, and prefixes errors with
// "<op> <path>: ".
func h5guard(op, path string, fn func() error) (err error) {
	h5mu.Lock()
	defer h5mu.Unlock()
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

// h5writeAtomic creates path's directory, fills a temporary HDF5 file next to path, syncs it and
// renames it onto path. The temporary file is removed on any failure.
func h5writeAtomic(op, path string, fill func(*hdf5.File) error) error {
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
	err = h5guard(op, path, func() error {
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
		if err := fill(f); err != nil {
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

var h5signature = []byte("\x89HDF\r\n\x1a\n")

// h5checkFile checks that path is a regular, non-empty file with the HDF5 signature (at offset 0
// or, after a user block, at 512, 1024, 2048, …) and returns its size. It keeps libhdf5 away from
// files that are not HDF5 at all.
func h5checkFile(path string) (int64, error) {
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
	buf := make([]byte, len(h5signature))
	for off := int64(0); off+int64(len(buf)) <= size; {
		if _, err := f.ReadAt(buf, off); err != nil {
			return 0, fmt.Errorf("read: %w", err)
		}
		if bytes.Equal(buf, h5signature) {
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

// h5file is an open HDF5 file (read-only).
type h5file struct {
	f    *hdf5.File
	root *hdf5.Group
	size int64
	hash *streamHash // nil: what is read is not hashed
}

func h5open(path string) (*h5file, error) {
	size, err := h5checkFile(path)
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
	return &h5file{f: f, root: root, size: size}, nil
}

func (h *h5file) close() {
	h.root.Close()
	h.f.Close()
}

// exists reports whether every component of the slash-separated name is a link in the file.
func (h *h5file) exists(name string) bool {
	parts := strings.Split(name, "/")
	for i := range parts {
		if !h.f.LinkExists(strings.Join(parts[:i+1], "/")) {
			return false
		}
	}
	return true
}

// isGroup reports whether name exists and is a group.
func (h *h5file) isGroup(name string) bool {
	if !h.exists(name) {
		return false
	}
	g, err := h.f.OpenGroup(name)
	if err != nil {
		return false
	}
	g.Close()
	return true
}

// h5elemType is an on-disk element type we can convert to float.
type h5elemType struct {
	name   string
	typ    *hdf5.Datatype
	size   int
	decode func([]byte) float64
}

var (
	h5le = binary.LittleEndian
	h5be = binary.BigEndian
)

var h5elemTypes = []h5elemType{
	{"float32", hdf5.T_IEEE_F32LE, 4, func(b []byte) float64 { return float64(math.Float32frombits(h5le.Uint32(b))) }},
	{"float64", hdf5.T_IEEE_F64LE, 8, func(b []byte) float64 { return math.Float64frombits(h5le.Uint64(b)) }},
	{"float32 big-endian", hdf5.T_IEEE_F32BE, 4, func(b []byte) float64 { return float64(math.Float32frombits(h5be.Uint32(b))) }},
	{"float64 big-endian", hdf5.T_IEEE_F64BE, 8, func(b []byte) float64 { return math.Float64frombits(h5be.Uint64(b)) }},
	{"int8", hdf5.T_STD_I8LE, 1, func(b []byte) float64 { return float64(int8(b[0])) }},
	{"uint8", hdf5.T_STD_U8LE, 1, func(b []byte) float64 { return float64(b[0]) }},
	{"int16", hdf5.T_STD_I16LE, 2, func(b []byte) float64 { return float64(int16(h5le.Uint16(b))) }},
	{"uint16", hdf5.T_STD_U16LE, 2, func(b []byte) float64 { return float64(h5le.Uint16(b)) }},
	{"int32", hdf5.T_STD_I32LE, 4, func(b []byte) float64 { return float64(int32(h5le.Uint32(b))) }},
	{"uint32", hdf5.T_STD_U32LE, 4, func(b []byte) float64 { return float64(h5le.Uint32(b)) }},
	{"int64", hdf5.T_STD_I64LE, 8, func(b []byte) float64 { return float64(int64(h5le.Uint64(b))) }},
	{"uint64", hdf5.T_STD_U64LE, 8, func(b []byte) float64 { return float64(h5le.Uint64(b)) }},
	{"int8 big-endian", hdf5.T_STD_I8BE, 1, func(b []byte) float64 { return float64(int8(b[0])) }},
	{"uint8 big-endian", hdf5.T_STD_U8BE, 1, func(b []byte) float64 { return float64(b[0]) }},
	{"int16 big-endian", hdf5.T_STD_I16BE, 2, func(b []byte) float64 { return float64(int16(h5be.Uint16(b))) }},
	{"uint16 big-endian", hdf5.T_STD_U16BE, 2, func(b []byte) float64 { return float64(h5be.Uint16(b)) }},
	{"int32 big-endian", hdf5.T_STD_I32BE, 4, func(b []byte) float64 { return float64(int32(h5be.Uint32(b))) }},
	{"uint32 big-endian", hdf5.T_STD_U32BE, 4, func(b []byte) float64 { return float64(h5be.Uint32(b)) }},
	{"int64 big-endian", hdf5.T_STD_I64BE, 8, func(b []byte) float64 { return float64(int64(h5be.Uint64(b))) }},
	{"uint64 big-endian", hdf5.T_STD_U64BE, 8, func(b []byte) float64 { return float64(h5be.Uint64(b)) }},
}

var h5classNames = map[hdf5.TypeClass]string{
	hdf5.T_INTEGER: "integer", hdf5.T_FLOAT: "float", hdf5.T_TIME: "time", hdf5.T_STRING: "string",
	hdf5.T_BITFIELD: "bitfield", hdf5.T_OPAQUE: "opaque", hdf5.T_COMPOUND: "compound",
	hdf5.T_REFERENCE: "reference", hdf5.T_ENUM: "enum", hdf5.T_VLEN: "variable-length",
	hdf5.T_ARRAY: "array",
}

func h5className(c hdf5.TypeClass) string {
	if s, ok := h5classNames[c]; ok {
		return s
	}
	return fmt.Sprintf("class %d", int(c))
}

// h5array is an open numeric dataset.
type h5array struct {
	ds        *hdf5.Dataset
	file      *h5file
	name      string
	dims      []int
	elem      *h5elemType
	nativeF32 bool      // on-disk type is the host's float32: read straight into []float32
	nativeF64 bool      // likewise for float64
	kind      valueKind // which values are allowed (checked as they are read)
	axes      []string  // names of the axes, for error messages
}

// openArray opens the numeric dataset name; errors say what is wrong with it.
func (h *h5file) openArray(name string) (*h5array, error) {
	if !h.exists(name) {
		return nil, fmt.Errorf("dataset %q: not found", name)
	}
	ds, err := h.f.OpenDataset(name)
	if err != nil {
		return nil, fmt.Errorf("dataset %q: cannot open it as a dataset (is it a group?)", name)
	}
	a := &h5array{ds: ds, file: h, name: name}
	if err := a.init(h.size); err != nil {
		ds.Close()
		return nil, err
	}
	return a, nil
}

func (a *h5array) close() { a.ds.Close() }

func (a *h5array) init(fileSize int64) error {
	sp := a.ds.Space()
	if sp == nil {
		return fmt.Errorf("dataset %q: cannot read its dataspace (corrupt file?)", a.name)
	}
	defer sp.Close()
	switch sp.SimpleExtentType() {
	case hdf5.S_SIMPLE:
		nd := sp.SimpleExtentNDims()
		if nd < 1 || nd > 32 {
			return fmt.Errorf("dataset %q: cannot read its rank (got %d)", a.name, nd)
		}
		dims, _, err := sp.SimpleExtentDims()
		if err != nil {
			return fmt.Errorf("dataset %q: cannot read its shape", a.name)
		}
		a.dims = make([]int, nd)
		for i, d := range dims {
			if d > math.MaxInt32 {
				return fmt.Errorf("dataset %q: implausible size %d along axis %d (corrupt file?)", a.name, d, i)
			}
			a.dims[i] = int(d)
		}
	case hdf5.S_SCALAR:
		a.dims = []int{} // rank 0
	default:
		return fmt.Errorf("dataset %q: has no data (null dataspace)", a.name)
	}
	dt, err := a.ds.Datatype()
	if err != nil {
		return fmt.Errorf("dataset %q: cannot read its element type", a.name)
	}
	defer dt.Close()
	for i := range h5elemTypes {
		if dt.Equal(h5elemTypes[i].typ) {
			a.elem = &h5elemTypes[i]
			break
		}
	}
	if a.elem == nil {
		return fmt.Errorf("dataset %q: unsupported element type (%s, %d bytes); expected float32, float64 or integers",
			a.name, h5className(dt.Class()), dt.Size())
	}
	a.nativeF32 = dt.Equal(hdf5.T_NATIVE_FLOAT)
	a.nativeF64 = dt.Equal(hdf5.T_NATIVE_DOUBLE)
	// Refuse shapes the file cannot hold (even deflate-compressed: ≤ ~1032:1), rather than letting
	// a corrupt header make us allocate terabytes.
	n := 1.0
	for _, d := range a.dims {
		n *= float64(d)
	}
	if nbytes := n * float64(a.elem.size); nbytes > 2048*float64(fileSize)+(1<<20) {
		return fmt.Errorf("dataset %q: shape %s (%.0f bytes) is implausible for a file of %d bytes (corrupt file?)",
			a.name, h5shape(a.dims), nbytes, fileSize)
	}
	return nil
}

// expectShape fails with a message naming the dataset, the expected and the actual shape.
func (a *h5array) expectShape(want []int, why string) error {
	if !slices.Equal(a.dims, want) {
		return fmt.Errorf("dataset %q: expected shape %s %s, got %s", a.name, h5shape(want), why, h5shape(a.dims))
	}
	return nil
}

// h5shape formats a shape the way numpy/h5py print it: (T, H, W), (T,).
func h5shape(dims []int) string {
	if len(dims) == 1 {
		return fmt.Sprintf("(%d,)", dims[0])
	}
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = fmt.Sprint(d)
	}
	return "(" + strings.Join(s, ", ") + ")"
}

// h5read reads the hyperslab [start, start+count) of a (rank ≥ 1) into dst, row-major, converting
// to E. Data already in E's native layout is read straight into dst; anything else goes through a
// buffer of at most ~h5ChunkBytes (or one slice along axis 0, if larger). Every value is checked
// as it is read (a.kind; a float64 that overflows float32 is an error, not an infinity), and
// reported at its position in the file. When the file is being hashed, the values read go to the
// hash; dst must then stay unchanged until the hash is summed.
func h5read[E float32 | float64](a *h5array, dst []E, start, count []int) error {
	if len(count) == 0 || len(count) != len(a.dims) || len(start) != len(count) {
		return fmt.Errorf("dataset %q: internal error: read of rank %d from shape %s", a.name, len(count), h5shape(a.dims))
	}
	n := 1
	for _, c := range count {
		n *= c
	}
	if len(dst) != n {
		return fmt.Errorf("dataset %q: internal error: %d values into a buffer of %d", a.name, n, len(dst))
	}
	if n == 0 {
		return nil
	}
	fileSpace := a.ds.Space()
	if fileSpace == nil {
		return fmt.Errorf("dataset %q: cannot read its dataspace (corrupt file?)", a.name)
	}
	defer fileSpace.Close()

	var hash *streamHash
	if a.file != nil {
		hash = a.file.hash
	}
	if hash != nil {
		hash.header(a.name, append(slices.Clone(start), count...)...)
	}
	var zero E
	_, isF32 := any(zero).(float32)
	direct := (isF32 && a.nativeF32) || (!isF32 && a.nativeF64)
	rows := count[0]
	rowElems := n / rows
	step := rows
	var buf []byte
	if !direct {
		step = max(1, h5ChunkBytes/(rowElems*a.elem.size))
		step = min(step, rows)
		buf = make([]byte, step*rowElems*a.elem.size)
	} else if hash != nil {
		// Slabs of ~32 MiB, so the hash of one slab is computed while the next is read.
		step = min(rows, max(1, (32<<20)/(rowElems*int(unsafe.Sizeof(zero)))))
	}
	off := make([]uint, len(start))
	cnt := make([]uint, len(count))
	for i := range start {
		off[i], cnt[i] = uint(start[i]), uint(count[i])
	}
	// at is the position in the file of value i of this read.
	at := func(i int) []int {
		idx := unravel(i, count)
		for k := range idx {
			idx[k] += start[k]
		}
		return idx
	}
	for r := 0; r < rows; r += step {
		k := min(step, rows-r)
		off[0], cnt[0] = uint(start[0]+r), uint(k)
		if err := fileSpace.SelectHyperslab(off, nil, cnt, nil); err != nil {
			return fmt.Errorf("dataset %q: cannot select rows %d..%d: %v", a.name, start[0]+r, start[0]+r+k, err)
		}
		memSpace, err := hdf5.CreateSimpleDataspace(cnt, nil)
		if err != nil {
			return fmt.Errorf("dataset %q: %v", a.name, err)
		}
		first := r * rowElems
		part := dst[first : (r+k)*rowElems]
		if direct {
			err = a.ds.ReadSubset(&part, memSpace, fileSpace)
		} else {
			b := buf[:k*rowElems*a.elem.size]
			err = a.ds.ReadSubset(&b, memSpace, fileSpace)
			if err == nil {
				sz := a.elem.size
				for i := range part {
					v := a.elem.decode(b[i*sz : (i+1)*sz])
					part[i] = E(v)
					if isF32 && math.IsInf(float64(part[i]), 0) && !math.IsInf(v, 0) {
						memSpace.Close()
						return overflow(a.name, at(first+i), a.axes, v)
					}
				}
			}
		}
		memSpace.Close()
		if err != nil {
			return fmt.Errorf("dataset %q: read failed (truncated or corrupt file?)", a.name)
		}
		if hash != nil { // the values as read (converted ones after conversion: no copy of the buffer)
			hash.write(asBytes(part))
		}
		if i := firstBad(part, a.kind); i >= 0 {
			v := float64(part[i])
			return badValue(a.name, at(first+i), a.axes, v, a.kind.problem(v))
		}
	}
	return nil
}

// interneuronHint explains a missing recording group when the file is an interneuron file.
func (h *h5file) interneuronHint() string {
	n, err := h.f.NumObjects()
	if err != nil || n > h5IntMaxGroups {
		return ""
	}
	var groups []string
	for i := range n {
		name, err := h.f.ObjectNameByIndex(i)
		if err == nil && h.isGroup(name) && h.exists(name+"/"+h5IntStimuli) && h.exists(name+"/"+h5IntPotential) {
			groups = append(groups, fmt.Sprintf("%q", name))
		}
	}
	if len(groups) == 0 {
		return ""
	}
	return fmt.Sprintf("; this is an interneuron file (stimulus groups %s with %s and %s), not a recording: read it with LoadInterneuronFile",
		strings.Join(groups, ", "), h5IntStimuli, h5IntPotential)
}

// ---- attributes (on the root group; absent attributes are reported with ok=false) ----

// h5attrOpen opens attribute name of g and reports its type class, element size, number of values
// and whether it is a variable-length string; ok is false (and err nil) when g has no such attribute.
func h5attrOpen(g *hdf5.Group, name string) (a *hdf5.Attribute, class hdf5.TypeClass, size, npoints int, varStr, ok bool, err error) {
	a, oerr := g.OpenAttribute(name)
	if oerr != nil {
		return nil, 0, 0, 0, false, false, nil // absent
	}
	fail := func(format string, args ...any) (*hdf5.Attribute, hdf5.TypeClass, int, int, bool, bool, error) {
		a.Close()
		return nil, 0, 0, 0, false, false, fmt.Errorf("attribute %q: "+format, append([]any{name}, args...)...)
	}
	sp := a.Space()
	if sp == nil {
		return fail("cannot read its dataspace")
	}
	switch sp.SimpleExtentType() {
	case hdf5.S_SCALAR:
		npoints = 1
	case hdf5.S_SIMPLE:
		if sp.SimpleExtentNDims() != 1 {
			sp.Close()
			return fail("expected a scalar or a 1-D array, got rank %d", sp.SimpleExtentNDims())
		}
		npoints = sp.SimpleExtentNPoints()
	default:
		npoints = 0
	}
	sp.Close()
	dt := &hdf5.Datatype{Identifier: a.GetType()}
	defer dt.Close()
	if dt.ID() < 0 {
		return fail("cannot read its type")
	}
	class = dt.Class()
	size = int(dt.Size())
	if class == hdf5.T_STRING {
		vt := hdf5.VarLenType{Datatype: *dt}
		varStr = vt.IsVariableStr()
	}
	return a, class, size, npoints, varStr, true, nil
}

func (h *h5file) attrFloat(name string) (float64, bool, error) { return h5attrFloat(h.root, name) }
func (h *h5file) attrString(name string) (string, bool, error) { return h5attrString(h.root, name) }
func (h *h5file) attrInts(name string) ([]int, bool, error)    { return h5attrInts(h.root, name) }

func h5attrFloat(g *hdf5.Group, name string) (float64, bool, error) {
	a, class, _, n, _, ok, err := h5attrOpen(g, name)
	if !ok || err != nil {
		return 0, ok, err
	}
	defer a.Close()
	if (class != hdf5.T_FLOAT && class != hdf5.T_INTEGER) || n != 1 {
		return 0, false, fmt.Errorf("attribute %q: expected one number, got %d values of type %s", name, n, h5className(class))
	}
	var v float64
	if err := a.Read(&v, hdf5.T_NATIVE_DOUBLE); err != nil {
		return 0, false, fmt.Errorf("attribute %q: read failed", name)
	}
	return v, true, nil
}

func h5attrString(g *hdf5.Group, name string) (string, bool, error) {
	a, class, size, n, varStr, ok, err := h5attrOpen(g, name)
	if !ok || err != nil {
		return "", ok, err
	}
	defer a.Close()
	if class != hdf5.T_STRING || n != 1 {
		return "", false, fmt.Errorf("attribute %q: expected one string, got %d values of type %s", name, n, h5className(class))
	}
	if varStr {
		var s string
		if err := a.Read(&s, nil); err != nil {
			return "", false, fmt.Errorf("attribute %q: read failed", name)
		}
		return s, true, nil
	}
	// Fixed-length string: read the raw bytes in the attribute's own type; may lack a terminator.
	if size <= 0 || size > 1<<20 {
		return "", false, fmt.Errorf("attribute %q: implausible string length %d", name, size)
	}
	buf := make([]byte, size)
	dt := &hdf5.Datatype{Identifier: a.GetType()}
	defer dt.Close()
	if err := a.Read(&buf[0], dt); err != nil {
		return "", false, fmt.Errorf("attribute %q: read failed", name)
	}
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		buf = buf[:i]
	}
	return strings.TrimRight(string(buf), " "), true, nil
}

func h5attrInts(g *hdf5.Group, name string) ([]int, bool, error) {
	a, class, _, n, _, ok, err := h5attrOpen(g, name)
	if !ok || err != nil {
		return nil, ok, err
	}
	defer a.Close()
	if class != hdf5.T_INTEGER {
		return nil, false, fmt.Errorf("attribute %q: expected integers, got type %s", name, h5className(class))
	}
	v := make([]int64, n)
	if n > 0 {
		if err := a.Read(&v[0], hdf5.T_NATIVE_INT64); err != nil {
			return nil, false, fmt.Errorf("attribute %q: read failed", name)
		}
	}
	out := make([]int, n)
	for i, x := range v {
		out[i] = int(x)
	}
	return out, true, nil
}

// ---- writing helpers ----

func h5createGroup(f *hdf5.File, name string) error {
	g, err := f.CreateGroup(name)
	if err != nil {
		return fmt.Errorf("create group %q: %v", name, err)
	}
	return g.Close()
}

// h5writeArray writes data (row-major, shape dims) as a float32 or float64 dataset.
func h5writeArray[E float32 | float64](f *hdf5.File, name string, dims []int, data []E) error {
	udims := make([]uint, len(dims))
	n := 1
	for i, d := range dims {
		udims[i] = uint(d)
		n *= d
	}
	if n != len(data) {
		return fmt.Errorf("dataset %q: internal error: %d values for shape %s", name, len(data), h5shape(dims))
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
	ds, err := f.CreateDataset(name, typ, sp)
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

func h5writeAttr(g *hdf5.Group, name string, typ *hdf5.Datatype, dims []uint, write func(*hdf5.Attribute) error) error {
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

func h5writeAttrFloat(g *hdf5.Group, name string, v float64) error {
	return h5writeAttr(g, name, hdf5.T_NATIVE_DOUBLE, nil, func(a *hdf5.Attribute) error {
		return a.Write(&v, hdf5.T_NATIVE_DOUBLE)
	})
}

// h5writeAttrString writes a scalar variable-length string (what h5py writes for a str).
func h5writeAttrString(g *hdf5.Group, name, s string) error {
	return h5writeAttr(g, name, hdf5.T_GO_STRING, nil, func(a *hdf5.Attribute) error {
		return a.Write(&s, hdf5.T_GO_STRING)
	})
}

func h5writeAttrInts(g *hdf5.Group, name string, v []int) error {
	if len(v) == 0 {
		return nil
	}
	v64 := make([]int64, len(v))
	for i, x := range v {
		v64[i] = int64(x)
	}
	return h5writeAttr(g, name, hdf5.T_NATIVE_INT64, []uint{uint(len(v))}, func(a *hdf5.Attribute) error {
		return a.Write(&v64[0], hdf5.T_NATIVE_INT64)
	})
}
