package datasets

import (
	"context"
	"math"
	"slices"
	"testing"
)

// A 6-frame 1×2 movie whose pixel values encode the frame number, so each window can be read
// off by hand.
func handMovie() (Movie, Matrix) {
	m := NewMovie(6, 1, 2)
	for t := 0; t < 6; t++ {
		m.Data[2*t] = float32(10 * t)
		m.Data[2*t+1] = float32(10*t + 1)
	}
	r := NewMatrix(6, 1)
	for t := 0; t < 6; t++ {
		r.Data[t] = float32(100 + t)
	}
	return m, r
}

func TestWindowsMatchReferenceDefinition(t *testing.T) {
	m, r := handMovie()
	w, err := NewWindows(m, NormStats{Mean: 0, Std: 1}, r, 3)
	if err != nil {
		t.Fatal(err)
	}
	if w.Len() != 3 {
		t.Fatalf("Len = %d, want T−history = 3", w.Len())
	}
	// X[1] = stim[1:4], y[1] = rate[4].
	x := make([]float32, w.XSize())
	y := make([]float32, 1)
	w.CopyX(x, 1)
	w.CopyY(y, 1)
	wantX := []float32{10, 11, 20, 21, 30, 31}
	if !slices.Equal(x, wantX) {
		t.Errorf("X[1] = %v, want %v", x, wantX)
	}
	if y[0] != 104 {
		t.Errorf("y[1] = %v, want rate[4] = 104", y[0])
	}
}

func TestWindowsApplyNormStats(t *testing.T) {
	m, r := handMovie()
	ns := NormStats{Mean: 10, Std: 2}
	w, _ := NewWindows(m, ns, r, 2)
	x := make([]float32, w.XSize())
	w.CopyX(x, 0) // frames 0,1: values 0,1,10,11
	want := []float32{-5, -4.5, 0, 0.5}
	if !slices.Equal(x, want) {
		t.Errorf("normalised X[0] = %v, want %v", x, want)
	}
}

func TestComputeNormStats(t *testing.T) {
	m := Movie{T: 2, H: 1, W: 2, Data: []float32{1, 3, 1, 3}}
	ns := ComputeNormStats(m)
	if ns.Mean != 2 || math.Abs(ns.Std-(1+1e-7)) > 1e-12 {
		t.Fatalf("NormStats = %+v, want mean 2 std 1+1e-7", ns)
	}
}

func TestNewWindowsErrors(t *testing.T) {
	m, r := handMovie()
	cases := []struct {
		name    string
		history int
		rates   Matrix
		norm    NormStats
	}{
		{"history too long", 6, r, NormStats{Std: 1}},
		{"zero history", 0, r, NormStats{Std: 1}},
		{"rates of another length", 2, NewMatrix(5, 1), NormStats{Std: 1}},
		{"zero std", 2, r, NormStats{}},
	}
	for _, c := range cases {
		if _, err := NewWindows(m, c.norm, c.rates, c.history); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestSplitTrainVal(t *testing.T) {
	for _, n := range []int{100, 1000, 400000} {
		tr, va := SplitTrainVal(n, 7)
		if len(tr)+len(va) != n {
			t.Fatalf("n=%d: %d+%d windows", n, len(tr), len(va))
		}
		want := min(10000, int(math.Round(0.05*float64(n))))
		if len(va) != want {
			t.Errorf("n=%d: %d validation windows, want %d", n, len(va), want)
		}
		all := append(append([]int(nil), tr...), va...)
		slices.Sort(all)
		for i, v := range all {
			if v != i {
				t.Fatalf("n=%d: split is not a permutation", n)
			}
		}
		tr2, _ := SplitTrainVal(n, 7)
		if !slices.Equal(tr, tr2) {
			t.Fatalf("n=%d: same seed gave different splits", n)
		}
	}
}

func TestEpochOrderDeterministic(t *testing.T) {
	train := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	a := EpochOrder(train, 1, 3)
	b := EpochOrder(train, 1, 3)
	c := EpochOrder(train, 1, 4)
	if !slices.Equal(a, b) {
		t.Fatal("same seed and epoch gave different orders")
	}
	if slices.Equal(a, c) {
		t.Fatal("different epochs gave the same order")
	}
}

func TestBatchesStreamAllWindows(t *testing.T) {
	m, r := handMovie()
	w, _ := NewWindows(m, NormStats{Std: 1}, r, 2) // 4 windows
	order := []int{3, 1, 0, 2}
	var got []int
	var ys []float32
	for b := range w.Batches(context.Background(), order, 3, 2, false) {
		got = append(got, b.Idx...)
		ys = append(ys, b.Y[:len(b.Idx)]...)
		if len(b.X) != 3*w.XSize() {
			t.Fatalf("batch X has %d values, want padded %d", len(b.X), 3*w.XSize())
		}
	}
	if !slices.Equal(got, order) {
		t.Fatalf("streamed %v, want %v", got, order)
	}
	if !slices.Equal(ys, []float32{105, 103, 102, 104}) {
		t.Fatalf("targets %v", ys)
	}
	n := 0
	for range w.Batches(context.Background(), order, 3, 1, true) {
		n++
	}
	if n != 1 {
		t.Fatalf("dropLast gave %d batches, want 1", n)
	}
}
