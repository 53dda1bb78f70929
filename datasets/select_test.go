package datasets

import (
	"slices"
	"testing"
)

func TestSelectCells(t *testing.T) {
	rec := &Recording{Expt: "e", Stim: WhiteNoise, CellIDs: []int{4, 7, 9}, FrameRate: 100}
	rates := Matrix{Rows: 2, Cols: 3, Data: []float32{1, 2, 3, 4, 5, 6}}
	rec.Train = Split{Rates: rates}
	rec.Test = Split{Rates: rates, Repeats: [][][]float32{{{1}}, {{2}}, {{3}}}}
	got, err := SelectCells(rec, []int{9, 4})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.CellIDs, []int{9, 4}) || !slices.Equal(got.Train.Rates.Data, []float32{3, 1, 6, 4}) {
		t.Fatalf("got ids %v rates %v", got.CellIDs, got.Train.Rates.Data)
	}
	if got.Test.Repeats[0][0][0] != 3 || got.Test.Repeats[1][0][0] != 1 {
		t.Fatalf("repeats not reordered: %v", got.Test.Repeats)
	}
	if _, err := SelectCells(rec, []int{5}); err == nil {
		t.Fatal("selecting a missing cell gave no error")
	}
}
