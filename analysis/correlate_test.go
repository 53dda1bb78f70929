package analysis

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestCorrelateRowsMatchesPearson(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const T, U = 300, 5
	data := make([]float32, T*U)
	for i := range data {
		data[i] = float32(rng.NormFloat64()) + 1000 // a large mean must not spoil the variance
	}
	target := make([]float32, T)
	for t := range target {
		target[t] = data[t*U+2] + float32(rng.NormFloat64())
	}
	z, _ := Standardize(target)
	got := correlateRows(data, T, U, [][]float64{z, nil})
	for u := 0; u < U; u++ {
		col := make([]float64, T)
		for t := range col {
			col[t] = float64(data[t*U+u])
		}
		want := pearson64(col, Float64s(target))
		if math.Abs(got[u*2]-want) > 1e-6 {
			t.Errorf("unit %d: r %v, want %v", u, got[u*2], want)
		}
		if got[u*2+1] != 0 {
			t.Errorf("unit %d with a constant target: r %v, want 0", u, got[u*2+1])
		}
	}
}

func pearson64(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb)
}
