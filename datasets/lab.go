package datasets

// The lab's recording files: their layout (groups, dataset names, shapes, attributes), reading
// and writing. The HDF5 plumbing (libhdf5, type conversion, atomic files) is internal/h5;
// reader.go checks and hashes the values as they are read.

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/deepretina/deepretina/internal/h5"
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
	err := h5.Guard("load", path, func() error {
		h, err := openReader(path)
		if err != nil {
			return err
		}
		defer h.Close()
		h.hash = newStreamHash()
		defer func() {
			if h.hash != nil { // an error stopped the load: stop the hashing goroutine
				h.hash.sum()
			}
		}()
		if rec, err = loadRecording(h, path, stim, cells); err != nil {
			return err
		}
		h.hash.header(fmt.Sprintf("attributes frame_rate=%v pixel=%v cells=%v count_trials=%d sim=%s/%d",
			rec.FrameRate, rec.PixelSizeUM, rec.CellIDs, rec.Test.CountTrials, rec.Source.SimPreset, rec.Source.SimSeed))
		rec.Source.Size = h.Size()
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
	return h5.WriteAtomic("write", path, func(w *h5.Writer) error { return writeRecording(w, rec) })
}

// ---------------------------------------------------------------------------------------------
// Recording: reading

func loadRecording(h *reader, path, stim string, cells []int) (*Recording, error) {
	for _, g := range []string{"train", "test"} {
		if !h.IsGroup(g) {
			return nil, fmt.Errorf("group %q: not found%s", g, h.interneuronHint())
		}
	}
	// The cell axis is defined by train/response/firing_rate_10ms.
	ratesName := "train/" + h5Rates
	ra, err := h.openDataset(ratesName)
	if err != nil {
		return nil, err
	}
	dims := ra.Dims
	ra.Close()
	if len(dims) != 2 {
		return nil, fmt.Errorf("dataset %q: expected rank 2 (n_cells, T), got shape %s", ratesName, h5.Shape(dims))
	}
	nTotal := dims[0]
	if nTotal == 0 {
		return nil, fmt.Errorf("dataset %q: has no cells (shape %s)", ratesName, h5.Shape(dims))
	}
	sel, err := selectCells(cells, nTotal, ratesName)
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
	if preset, ok, err := h.AttrString(h5AttrSimPreset); err != nil {
		return nil, err
	} else if ok {
		rec.Source.SimPreset = preset
	}
	if seed, ok, err := h.AttrInts(h5AttrSimSeed); err != nil {
		return nil, err
	} else if ok && len(seed) == 1 {
		rec.Source.SimSeed = uint64(seed[0])
	}

	// Root attributes.
	if err := readRootAttrs(h, rec, sel, nTotal, ratesName, abs); err != nil {
		return nil, err
	}

	if rec.Train, err = loadSplit(h, "train", sel, nTotal, ""); err != nil {
		return nil, err
	}
	if rec.Test, err = loadSplit(h, "test", sel, nTotal, ratesName); err != nil {
		return nil, err
	}

	// Frame rate and the test counts' trials, which may be inferred from the splits.
	if err := readTiming(h, rec); err != nil {
		return nil, err
	}

	if err := rec.Validate(); err != nil {
		return nil, err
	}
	return rec, nil
}

// readRootAttrs reads the file's root attributes: the ids of the selected cells sel (of nTotal
// in ratesName), the provenance and the pixel size.
func readRootAttrs(h *reader, rec *Recording, sel []int, nTotal int, ratesName, abs string) error {
	ids, ok, err := h.AttrInts(h5AttrCellIDs)
	if err != nil {
		return err
	}
	rec.CellIDs = make([]int, len(sel))
	if ok {
		if len(ids) != nTotal {
			return fmt.Errorf("attribute %q: expected %d ids (one per cell of %s), got %d",
				h5AttrCellIDs, nTotal, ratesName, len(ids))
		}
		for j, c := range sel {
			rec.CellIDs[j] = ids[c]
		}
	} else {
		copy(rec.CellIDs, sel)
	}
	prov, ok, err := h.AttrString(h5AttrProv)
	if err != nil {
		return err
	}
	if ok && prov != "" {
		rec.Provenance = prov + "; loaded from " + abs
	} else {
		rec.Provenance = abs
	}
	if v, ok, err := h.AttrFloat(h5AttrPixel); err != nil {
		return err
	} else if ok {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("attribute %q: expected a positive number of µm, got %v", h5AttrPixel, v)
		}
		rec.PixelSizeUM = v
	}
	return nil
}

// readTiming reads the frame rate (the attribute, else the splits' time axes) and the number of
// trials the test counts sum (the attribute, else inferred).
func readTiming(h *reader, rec *Recording) error {
	if v, ok, err := h.AttrFloat(h5AttrFrame); err != nil {
		return err
	} else if ok {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("attribute %q: expected a positive number of Hz, got %v", h5AttrFrame, v)
		}
		rec.FrameRate = v
	} else if fr, ok := frameRateFromTime(rec.Train.Time); ok {
		rec.FrameRate = fr
	} else if fr, ok := frameRateFromTime(rec.Test.Time); ok {
		rec.FrameRate = fr
	}

	if rec.Train.Counts.Data != nil {
		rec.Train.CountTrials = 1
	}
	if v, ok, err := h.AttrInts(h5AttrCountTrials); err != nil {
		return err
	} else if ok {
		if len(v) != 1 || v[0] < 0 {
			return fmt.Errorf("attribute %q: expected one integer ≥ 0 (0 = unknown), got %v", h5AttrCountTrials, v)
		}
		rec.Test.CountTrials = v[0]
	} else {
		rec.Test.CountTrials = inferCountTrials(&rec.Test, rec.FrameRate)
	}
	return nil
}

// interneuronHint explains a missing recording group when the file is an interneuron file.
func (h *reader) interneuronHint() string {
	n, err := h.NumObjects()
	if err != nil || n > h5IntMaxGroups {
		return ""
	}
	var groups []string
	for i := range n {
		name, err := h.ObjectName(i)
		if err == nil && h.IsGroup(name) && h.Exists(name+"/"+h5IntStimuli) && h.Exists(name+"/"+h5IntPotential) {
			groups = append(groups, fmt.Sprintf("%q", name))
		}
	}
	if len(groups) == 0 {
		return ""
	}
	return fmt.Sprintf("; this is an interneuron file (stimulus groups %s with %s and %s), not a recording: read it with LoadInterneuronFile",
		strings.Join(groups, ", "), h5IntStimuli, h5IntPotential)
}

// selectCells checks a cell selection against the file's n cells (nil/empty = all).
func selectCells(cells []int, n int, axis string) ([]int, error) {
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

// loadSplit reads one split. All shapes are checked before any large read. cellAxis names the
// dataset that fixed n_cells (empty when this split's rates define it).
func loadSplit(h *reader, split string, sel []int, nTotal int, cellAxis string) (Split, error) {
	var sp Split
	var open []*dataset
	defer func() {
		for _, a := range open {
			a.Close()
		}
	}()
	get := func(name string) (*dataset, error) {
		a, err := h.openDataset(name)
		if err == nil {
			open = append(open, a)
		}
		return a, err
	}

	d, err := openSplit(h, get, split, sel, nTotal, cellAxis)
	if err != nil {
		return sp, err
	}
	// Shapes agree: read.
	return d.read(sel)
}

// splitDatasets are the datasets of one split, their shapes checked: stimulus [T, H, W], time
// (optional), rates and binned counts (optional) [n_cells, T], repeats per selected cell.
type splitDatasets struct {
	stim, time, rates, binned *dataset
	repeats                   []*dataset
	t                         int
}

// openSplit opens the datasets of one split through get and checks their shapes (see loadSplit).
func openSplit(h *reader, get func(string) (*dataset, error), split string, sel []int, nTotal int, cellAxis string) (splitDatasets, error) {
	var d splitDatasets
	stimName := split + "/" + h5Stimulus
	sa, err := get(stimName)
	if err != nil {
		return d, err
	}
	if len(sa.Dims) != 3 || sa.Dims[0] == 0 || sa.Dims[1] == 0 || sa.Dims[2] == 0 {
		return d, fmt.Errorf("dataset %q: expected shape (T, H, W) with all sizes > 0, got %s", stimName, h5.Shape(sa.Dims))
	}
	t := sa.Dims[0]
	tWhy := fmt.Sprintf("T=%d from %q", t, stimName)
	sa.axes = axesMovie

	if name := split + "/" + h5Time; h.Exists(name) {
		if d.time, err = get(name); err != nil {
			return d, err
		}
		if err := d.time.ExpectShape([]int{t}, "= (T,) with "+tWhy); err != nil {
			return d, err
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
		return d, err
	}
	if err := ra.ExpectShape([]int{nTotal, t}, respWhy()); err != nil {
		return d, err
	}
	ra.kind, ra.axes = nonNegative, axesResponses
	if name := split + "/" + h5Binned; h.Exists(name) {
		if d.binned, err = get(name); err != nil {
			return d, err
		}
		if err := d.binned.ExpectShape([]int{nTotal, t}, respWhy()); err != nil {
			return d, err
		}
		d.binned.kind, d.binned.axes = nonNegative, axesResponses
	}
	if h.IsGroup(split + "/" + h5Repeats) {
		d.repeats = make([]*dataset, len(sel))
		for j, c := range sel {
			name := fmt.Sprintf("%s/%s/cell%02d", split, h5Repeats, c+1)
			a, err := get(name)
			if err != nil {
				return d, fmt.Errorf("%w (the file has a %s/%s group, so every cell needs its repeats)", err, split, h5Repeats)
			}
			if len(a.Dims) != 2 || a.Dims[1] != t {
				return d, fmt.Errorf("dataset %q: expected shape (n_repeats, %d) = (n_repeats, T) with %s, got %s", name, t, tWhy, h5.Shape(a.Dims))
			}
			a.kind, a.axes = nonNegative, axesRepeats
			d.repeats[j] = a
		}
	}

	d.stim, d.rates, d.t = sa, ra, t
	return d, nil
}

// read reads the checked datasets of a split; sel are the cells to keep.
func (d splitDatasets) read(sel []int) (Split, error) {
	var sp Split
	var err error
	t := d.t
	sp.Stimulus = NewMovie(t, d.stim.Dims[1], d.stim.Dims[2])
	if err := readValues(d.stim, sp.Stimulus.Data, []int{0, 0, 0}, d.stim.Dims); err != nil {
		return sp, err
	}
	if d.time != nil {
		sp.Time = make([]float64, t)
		if err := readValues(d.time, sp.Time, []int{0}, d.time.Dims); err != nil {
			return sp, err
		}
	}
	if sp.Rates, err = readCells(d.rates, sel, t); err != nil {
		return sp, err
	}
	if d.binned != nil {
		if sp.Counts, err = readCells(d.binned, sel, t); err != nil {
			return sp, err
		}
	}
	if d.repeats != nil {
		sp.Repeats = make([][][]float32, len(sel))
		for j, a := range d.repeats {
			r := a.Dims[0]
			data := make([]float32, r*t)
			if err := readValues(a, data, []int{0, 0}, a.Dims); err != nil {
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

// readCells reads rows sel of an (n_cells, T) dataset into a [T, len(sel)] matrix.
func readCells(a *dataset, sel []int, t int) (Matrix, error) {
	n := len(sel)
	m := NewMatrix(t, n)
	for j, c := range sel {
		row := make([]float32, t) // not reused: it may still be being hashed
		if err := readValues(a, row, []int{c, 0}, []int{1, t}); err != nil {
			return Matrix{}, err
		}
		for i, v := range row {
			m.Data[i*n+j] = v
		}
	}
	return m, nil
}

// frameRateFromTime is 1 / median(diff(time)), rounded to 1e-6 Hz.
func frameRateFromTime(time []float64) (float64, bool) {
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

func writeRecording(w *h5.Writer, rec *Recording) error {
	if err := w.WriteAttrFloat(h5AttrFrame, rec.FrameRate); err != nil {
		return err
	}
	if err := w.WriteAttrFloat(h5AttrPixel, rec.PixelSizeUM); err != nil {
		return err
	}
	if err := w.WriteAttrString(h5AttrProv, rec.Provenance); err != nil {
		return err
	}
	if err := w.WriteAttrInts(h5AttrCellIDs, rec.CellIDs); err != nil {
		return err
	}
	if rec.Test.Counts.Data != nil && rec.Test.CountTrials > 0 {
		if err := w.WriteAttrInts(h5AttrCountTrials, []int{rec.Test.CountTrials}); err != nil {
			return err
		}
	}
	if src := rec.Source; src.SimPreset != "" {
		if err := w.WriteAttrString(h5AttrSimPreset, src.SimPreset); err != nil {
			return err
		}
		if err := w.WriteAttrInts(h5AttrSimSeed, []int{int(src.SimSeed)}); err != nil {
			return err
		}
	}
	for _, s := range []struct {
		name  string
		split *Split
	}{{"train", &rec.Train}, {"test", &rec.Test}} {
		if err := writeSplit(w, s.name, s.split); err != nil {
			return err
		}
	}
	return nil
}

func writeSplit(w *h5.Writer, name string, sp *Split) error {
	groups := []string{name, name + "/response"}
	if sp.Repeats != nil {
		groups = append(groups, name+"/"+h5Repeats)
	}
	for _, g := range groups {
		if err := w.CreateGroup(g); err != nil {
			return err
		}
	}
	m := sp.Stimulus
	t := m.T
	if sp.Time != nil {
		if err := h5.WriteArray(w, name+"/"+h5Time, []int{t}, sp.Time); err != nil {
			return err
		}
	}
	if err := h5.WriteArray(w, name+"/"+h5Stimulus, []int{t, m.H, m.W}, m.Data); err != nil {
		return err
	}
	if err := h5.WriteArray(w, name+"/"+h5Rates, []int{sp.Rates.Cols, t}, transpose(sp.Rates)); err != nil {
		return err
	}
	if sp.Counts.Data != nil {
		if err := h5.WriteArray(w, name+"/"+h5Binned, []int{sp.Counts.Cols, t}, transpose(sp.Counts)); err != nil {
			return err
		}
	}
	for c, reps := range sp.Repeats {
		data := make([]float32, 0, len(reps)*t)
		for _, r := range reps {
			data = append(data, r...)
		}
		if err := h5.WriteArray(w, fmt.Sprintf("%s/%s/cell%02d", name, h5Repeats, c+1), []int{len(reps), t}, data); err != nil {
			return err
		}
	}
	return nil
}

// transpose returns the (Cols, Rows) row-major transpose of m.
func transpose(m Matrix) []float32 {
	out := make([]float32, len(m.Data))
	for r := range m.Rows {
		for c := range m.Cols {
			out[c*m.Rows+r] = m.Data[r*m.Cols+c]
		}
	}
	return out
}
