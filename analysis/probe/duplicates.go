package probe

import (
	"math"
	"slices"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/metrics"
)

// DuplicateThreshold is the |r| above which two recorded cells of one file are one signal
// counted twice (e.g. the simulator's ON and OFF bipolars of one location, which are exact
// sign-flipped copies): r = ±1 up to float32 rounding, far above any two distinct cells.
const DuplicateThreshold = 0.999

// MergedCell is a cell left out because it duplicates another of the same file.
type MergedCell struct {
	Source  string  `json:"file"`
	Kept    int     `json:"kept"`    // the cell kept (index in the file)
	Dropped int     `json:"dropped"` // the duplicate left out
	R       float64 `json:"r"`       // their correlation, signed, on the group where |r| is smallest
}

// MergeDuplicateCells counts every signal once: within each file (Source), a cell whose
// potential correlates with an earlier cell's at |r| > DuplicateThreshold on every stimulus
// group of the file is left out of every group (a sign-flipped copy adds no evidence, only
// weight, to a type's mean). It returns the data without the duplicates (CellIndex keeps the
// file's indices; a kept cell's subtype names both, e.g. "ON-fast/OFF-fast") and the cells it
// merged.
//
//	data: the groups of one or more files as PrepareInterneurons returns them
func MergeDuplicateCells(data []InterneuronData) ([]InterneuronData, []MergedCell) {
	var sources []string
	for _, d := range data {
		if !slices.Contains(sources, d.Source) {
			sources = append(sources, d.Source)
		}
	}
	drop := map[string]map[int]bool{}
	merge := map[string][][2]int{} // kept, dropped: the kept cell's subtype names both
	var merged []MergedCell
	for _, src := range sources {
		var groups []InterneuronData
		for _, d := range data {
			if d.Source == src {
				groups = append(groups, d)
			}
		}
		n := groups[0].Potentials.Cols
		same := true
		for _, g := range groups {
			same = same && g.Potentials.Cols == n && slices.Equal(g.CellIndex, groups[0].CellIndex)
		}
		if !same {
			continue // groups that hold different cells cannot be matched cell by cell
		}
		cols := make([][][]float64, len(groups)) // [group][cell] the centred potential
		for gi, g := range groups {
			cols[gi] = make([][]float64, n)
			for c := 0; c < n; c++ {
				cols[gi][c] = analysis.Float64s(g.Potentials.Column(c))
			}
		}
		drop[src] = map[int]bool{}
		for j := 1; j < n; j++ {
			for i := 0; i < j; i++ {
				if drop[src][i] {
					continue
				}
				worst := math.Inf(1)
				signed := 0.0
				for gi := range groups {
					r := metrics.PearsonFloat64(cols[gi][i], cols[gi][j])
					if math.Abs(r) < worst {
						worst, signed = math.Abs(r), r
					}
				}
				if worst > DuplicateThreshold {
					drop[src][j] = true
					if groups[0].Subtypes != nil {
						merge[src] = append(merge[src], [2]int{i, j})
					}
					merged = append(merged, MergedCell{Source: src, Kept: fileIndex(groups[0], i), Dropped: fileIndex(groups[0], j), R: signed})
					break
				}
			}
		}
	}
	if len(merged) == 0 {
		return data, nil
	}
	out := make([]InterneuronData, len(data))
	for k, d := range data {
		out[k] = d
		dr := drop[d.Source]
		if len(dr) == 0 {
			continue
		}
		out[k] = withoutCells(d, dr, merge[d.Source])
	}
	return out, merged
}

// withoutCells returns d without the cells in drop; merge pairs (kept, dropped) name both
// subtypes on the kept cell.
func withoutCells(d InterneuronData, drop map[int]bool, merge [][2]int) InterneuronData {
	var keep []int
	for c := 0; c < d.Potentials.Cols; c++ {
		if !drop[c] {
			keep = append(keep, c)
		}
	}
	p := d.Potentials
	nd := d
	nd.Potentials.Rows, nd.Potentials.Cols = p.Rows, len(keep)
	nd.Potentials.Data = make([]float32, p.Rows*len(keep))
	for t := 0; t < p.Rows; t++ {
		for k2, c := range keep {
			nd.Potentials.Data[t*len(keep)+k2] = p.Data[t*p.Cols+c]
		}
	}
	nd.CellIndex, nd.Subtypes = nil, nil
	label := map[int]string{}
	if d.Subtypes != nil {
		for c, st := range d.Subtypes {
			label[c] = st
		}
		for _, kd := range merge {
			label[kd[0]] += "/" + d.Subtypes[kd[1]]
		}
	}
	for _, c := range keep {
		nd.CellIndex = append(nd.CellIndex, fileIndex(d, c))
		if d.Subtypes != nil {
			nd.Subtypes = append(nd.Subtypes, label[c])
		}
	}
	return nd
}

func fileIndex(d InterneuronData, c int) int {
	if d.CellIndex != nil {
		return d.CellIndex[c]
	}
	return c
}
