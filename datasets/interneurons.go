package datasets

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/deepretina/deepretina/internal/h5"
)

// Names of the datasets and attributes of interneuron files.
const (
	h5IntStimuli   = "stimuli"
	h5IntPotential = "detrended_membrane_potential"
	h5AttrCellType = "cell_type"
	h5AttrSubtypes = "cell_subtypes" // per-cell subtypes joined by h5SubtypeSep
	h5SubtypeSep   = ";"
	h5IntMaxGroups = 10000
)

// h5KnownCellTypes are the cell types of the lab's interneuron files, recognised in file names
// (bipolars_early_2012.h5, amacrines_late_2012.h5, …) when the file has no cell_type attribute.
var h5KnownCellTypes = []string{"bipolars", "amacrines", "horizontals"}

// LoadInterneuronFile reads an interneuron file in the lab's layout: one root group per stimulus,
// each with
//
//	stimuli                        (T, H, W)
//	detrended_membrane_potential   (n_cells, T)   (a 1-D (T,) dataset is read as one cell)
//
// stored as float32, float64 or integers; Potentials is returned as [T, n_cells]. Groups come
// back in name order (as h5py lists them); datasets at the root are ignored. CellType is the root
// attribute cell_type, else the file name's prefix when it is one of bipolars, amacrines,
// horizontals; Provenance is the provenance attribute (if any) and the absolute path; Types is
// the optional root attribute cell_subtypes, one subtype per cell joined by ";" (h5py:
// f.attrs["cell_subtypes"].split(";")), which the simulated retina writes and the lab's files
// lack (Types nil). Every value must be finite. Errors name the file and the group/dataset at
// fault.
func LoadInterneuronFile(path string) (*InterneuronSet, error) {
	var set *InterneuronSet
	err := h5.Guard("load", path, func() error {
		h, err := openReader(path)
		if err != nil {
			return err
		}
		defer h.Close()
		set, err = loadInterneurons(h, path)
		return err
	})
	if err != nil {
		return nil, err
	}
	return set, nil
}

// WriteInterneuronFile writes set in the layout LoadInterneuronFile reads (float32 datasets,
// potentials transposed to (n_cells, T), root attributes cell_type and provenance, and
// cell_subtypes when set.Types is not nil: then it needs one type per cell). Group names
// must be non-empty, unique and free of '/'. Like WriteFile it validates first and replaces path
// atomically, creating parent directories.
func WriteInterneuronFile(path string, set *InterneuronSet) error {
	if set == nil {
		return fmt.Errorf("write %s: nil interneuron set", path)
	}
	if err := validateInterneurons(set); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return h5.WriteAtomic("write", path, func(w *h5.Writer) error {
		if err := w.WriteAttrString(h5AttrCellType, set.CellType); err != nil {
			return err
		}
		if err := w.WriteAttrString(h5AttrProv, set.Provenance); err != nil {
			return err
		}
		if set.Types != nil {
			if err := w.WriteAttrString(h5AttrSubtypes, strings.Join(set.Types, h5SubtypeSep)); err != nil {
				return err
			}
		}
		for _, g := range set.Groups {
			if err := w.CreateGroup(g.Name); err != nil {
				return err
			}
			m := g.Stimuli
			if err := h5.WriteArray(w, g.Name+"/"+h5IntStimuli, []int{m.T, m.H, m.W}, m.Data); err != nil {
				return err
			}
			p := g.Potentials
			if err := h5.WriteArray(w, g.Name+"/"+h5IntPotential, []int{p.Cols, p.Rows}, transpose(p)); err != nil {
				return err
			}
		}
		return nil
	})
}

func loadInterneurons(h *reader, path string) (*InterneuronSet, error) {
	set := &InterneuronSet{}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	ct, ok, err := h.AttrString(h5AttrCellType)
	if err != nil {
		return nil, err
	}
	if ok && ct != "" {
		set.CellType = ct
	} else {
		base := strings.ToLower(filepath.Base(path))
		for _, known := range h5KnownCellTypes {
			if strings.HasPrefix(base, known) {
				set.CellType = known
			}
		}
	}
	prov, ok, err := h.AttrString(h5AttrProv)
	if err != nil {
		return nil, err
	}
	if ok && prov != "" {
		set.Provenance = prov + "; loaded from " + abs
	} else {
		set.Provenance = abs
	}

	sub, ok, err := h.AttrString(h5AttrSubtypes)
	if err != nil {
		return nil, err
	}
	if ok && sub != "" {
		set.Types = strings.Split(sub, h5SubtypeSep)
	}
	if h.IsGroup("train") && h.IsGroup("test") && h.Exists("train/"+h5Stimulus) {
		return nil, fmt.Errorf("this is a ganglion-cell recording (groups \"train\" and \"test\" with %s and %s: the data a run trains on), not an interneuron file (`deepretina data info` describes either)",
			h5Stimulus, h5Rates)
	}
	n, err := h.NumObjects()
	if err != nil {
		return nil, fmt.Errorf("cannot list the root group (corrupt file?)")
	}
	if n > h5IntMaxGroups {
		return nil, fmt.Errorf("root group: implausible number of entries %d (corrupt file?)", n)
	}
	for i := range n {
		name, err := h.ObjectName(i)
		if err != nil {
			return nil, fmt.Errorf("root group: cannot read the name of entry %d (corrupt file?)", i)
		}
		if !h.IsGroup(name) {
			continue
		}
		g, err := loadInterneuronGroup(h, name)
		if err != nil {
			return nil, err
		}
		set.Groups = append(set.Groups, g)
	}
	if len(set.Groups) == 0 {
		return nil, fmt.Errorf("no stimulus groups (expected groups such as \"boxes\" with %q and %q)", h5IntStimuli, h5IntPotential)
	}
	if err := validateInterneurons(set); err != nil {
		return nil, err
	}
	return set, nil
}

func loadInterneuronGroup(h *reader, name string) (InterneuronGroup, error) {
	g := InterneuronGroup{Name: name}
	stimName := name + "/" + h5IntStimuli
	sa, err := h.openDataset(stimName)
	if err != nil {
		return g, err
	}
	defer sa.Close()
	if len(sa.Dims) != 3 || sa.Dims[0] == 0 || sa.Dims[1] == 0 || sa.Dims[2] == 0 {
		return g, fmt.Errorf("dataset %q: expected shape (T, H, W) with all sizes > 0, got %s", stimName, h5.Shape(sa.Dims))
	}
	t := sa.Dims[0]
	sa.axes = axesMovie
	potName := name + "/" + h5IntPotential
	pa, err := h.openDataset(potName)
	if err != nil {
		return g, err
	}
	defer pa.Close()
	pa.axes = axesResponses
	var nCells int
	switch {
	case len(pa.Dims) == 2 && pa.Dims[1] == t && pa.Dims[0] > 0:
		nCells = pa.Dims[0]
	case len(pa.Dims) == 1 && pa.Dims[0] == t:
		nCells = 1
	default:
		return g, fmt.Errorf("dataset %q: expected shape (n_cells, %d) = (n_cells, T) with n_cells > 0 and T=%d from %q, got %s",
			potName, t, t, stimName, h5.Shape(pa.Dims))
	}
	g.Stimuli = NewMovie(t, sa.Dims[1], sa.Dims[2])
	if err := readValues(sa, g.Stimuli.Data, []int{0, 0, 0}, sa.Dims); err != nil {
		return g, err
	}
	if len(pa.Dims) == 1 {
		pa.axes = []string{"frame"}
		g.Potentials = NewMatrix(t, 1)
		err = readValues(pa, g.Potentials.Data, []int{0}, pa.Dims)
	} else {
		sel := make([]int, nCells)
		for i := range sel {
			sel[i] = i
		}
		g.Potentials, err = readCells(pa, sel, t)
	}
	if err != nil {
		return g, err
	}
	return g, nil
}

// validateInterneurons checks names, shapes and finiteness; errors name the group and dataset.
func validateInterneurons(set *InterneuronSet) error {
	if len(set.Groups) == 0 {
		return fmt.Errorf("interneuron set has no stimulus groups")
	}
	for i, typ := range set.Types {
		if typ == "" || strings.Contains(typ, h5SubtypeSep) {
			return fmt.Errorf("attribute %s: cell %d has type %q, expected a non-empty name without %q", h5AttrSubtypes, i, typ, h5SubtypeSep)
		}
	}
	seen := make(map[string]bool, len(set.Groups))
	for _, g := range set.Groups {
		if g.Name == "" || g.Name == "." || strings.Contains(g.Name, "/") {
			return fmt.Errorf("group %q: invalid name (must be non-empty and contain no '/')", g.Name)
		}
		if seen[g.Name] {
			return fmt.Errorf("group %q: appears twice", g.Name)
		}
		seen[g.Name] = true
		m := g.Stimuli
		if m.T <= 0 || m.H <= 0 || m.W <= 0 || len(m.Data) != m.T*m.H*m.W {
			return fmt.Errorf("group %q: %s: expected [T,H,W] with all sizes > 0 and T·H·W values, got [%d,%d,%d] with %d values",
				g.Name, h5IntStimuli, m.T, m.H, m.W, len(m.Data))
		}
		p := g.Potentials
		if set.Types != nil && len(set.Types) != p.Cols {
			return fmt.Errorf("group %q: %s has %d cells but attribute %s names %d types", g.Name, h5IntPotential, p.Cols, h5AttrSubtypes, len(set.Types))
		}
		if p.Rows != m.T || p.Cols <= 0 || len(p.Data) != p.Rows*p.Cols {
			return fmt.Errorf("group %q: %s: expected [T=%d, N>0] with T·N values, got [%d, %d] with %d values",
				g.Name, h5IntPotential, m.T, p.Rows, p.Cols, len(p.Data))
		}
		if err := checkFlat(g.Name+"/"+h5IntStimuli, m.Data, []int{m.T, m.H, m.W}, axesMovie, anyFinite); err != nil {
			return err
		}
		if err := checkResponses(g.Name+"/"+h5IntPotential, p, anyFinite); err != nil {
			return err
		}
	}
	return nil
}
