package datasets

import "fmt"

// SelectCells returns a copy of rec restricted to the given cell ids (ids as in rec.CellIDs),
// in the given order. An id the recording does not hold is an error naming it.
func SelectCells(rec *Recording, ids []int) (*Recording, error) {
	if len(ids) == 0 {
		return rec, nil
	}
	cols := make([]int, len(ids))
	for i, id := range ids {
		cols[i] = -1
		for c, have := range rec.CellIDs {
			if have == id {
				cols[i] = c
			}
		}
		if cols[i] < 0 {
			return nil, fmt.Errorf("cells: recording %s/%s has no cell %d (it has %v)", rec.Expt, rec.Stim, id, rec.CellIDs)
		}
	}
	out := *rec
	out.CellIDs = append([]int(nil), ids...)
	out.Train = selectSplit(rec.Train, cols)
	out.Test = selectSplit(rec.Test, cols)
	return &out, nil
}

func selectSplit(s Split, cols []int) Split {
	out := s
	out.Rates = selectColumns(s.Rates, cols)
	out.Counts = selectColumns(s.Counts, cols)
	if s.Repeats != nil {
		out.Repeats = make([][][]float32, len(cols))
		for i, c := range cols {
			out.Repeats[i] = s.Repeats[c]
		}
	}
	return out
}

func selectColumns(m Matrix, cols []int) Matrix {
	if m.Data == nil {
		return m
	}
	out := NewMatrix(m.Rows, len(cols))
	for r := 0; r < m.Rows; r++ {
		for i, c := range cols {
			out.Data[r*len(cols)+i] = m.Data[r*m.Cols+c]
		}
	}
	return out
}
