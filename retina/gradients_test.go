package retina

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// dotLayout is a DotGeneral axis layout for tests.
type dotLayout struct {
	name                     string
	lhsDims, rhsDims         []int
	lhsContracting, lhsBatch []int
	rhsContracting, rhsBatch []int
}

// randomDotLayout builds a random valid DotGeneral layout: random numbers of batch, contracting
// and cross axes, placed at random positions, paired in random order.
func randomDotLayout(rng *rand.Rand, i int) dotLayout {
	for {
		nb, nc, nlx, nrx := rng.IntN(3), rng.IntN(3), rng.IntN(3), rng.IntN(3)
		lRank, rRank := nb+nc+nlx, nb+nc+nrx
		if lRank == 0 || rRank == 0 {
			continue
		}
		l := dotLayout{name: fmt.Sprintf("random%d", i)}
		lAxes, rAxes := rng.Perm(lRank), rng.Perm(rRank)
		l.lhsDims, l.rhsDims = make([]int, lRank), make([]int, rRank)
		for k := range nb {
			d := 1 + rng.IntN(3)
			l.lhsBatch = append(l.lhsBatch, lAxes[k])
			l.rhsBatch = append(l.rhsBatch, rAxes[k])
			l.lhsDims[lAxes[k]], l.rhsDims[rAxes[k]] = d, d
		}
		for k := range nc {
			d := 1 + rng.IntN(3)
			l.lhsContracting = append(l.lhsContracting, lAxes[nb+k])
			l.rhsContracting = append(l.rhsContracting, rAxes[nb+k])
			l.lhsDims[lAxes[nb+k]], l.rhsDims[rAxes[nb+k]] = d, d
		}
		for _, a := range lAxes[nb+nc:] {
			l.lhsDims[a] = 1 + rng.IntN(3)
		}
		for _, a := range rAxes[nb+nc:] {
			l.rhsDims[a] = 1 + rng.IntN(3)
		}
		return l
	}
}

func dotLayouts() []dotLayout {
	layouts := []dotLayout{
		{name: "matmul", lhsDims: []int{3, 4}, rhsDims: []int{4, 5}, lhsContracting: []int{1}, rhsContracting: []int{0}},
		{name: "matmul-transposed", lhsDims: []int{4, 3}, rhsDims: []int{5, 4}, lhsContracting: []int{0}, rhsContracting: []int{1}},
		{name: "conv-like", lhsDims: []int{2, 6, 5}, rhsDims: []int{2, 5, 3},
			lhsContracting: []int{2}, lhsBatch: []int{0}, rhsContracting: []int{1}, rhsBatch: []int{0}},
		{name: "batch-not-leading", lhsDims: []int{3, 2, 4}, rhsDims: []int{4, 5, 2},
			lhsContracting: []int{2}, lhsBatch: []int{1}, rhsContracting: []int{0}, rhsBatch: []int{2}},
		{name: "two-contracting-crossed-pairing", lhsDims: []int{2, 3, 4, 5}, rhsDims: []int{5, 6, 3},
			lhsContracting: []int{3, 1}, rhsContracting: []int{0, 2}},
		{name: "two-batch-permuted", lhsDims: []int{2, 3, 4}, rhsDims: []int{4, 5, 2},
			lhsContracting: nil, lhsBatch: []int{2, 0}, rhsContracting: nil, rhsBatch: []int{0, 2}},
		{name: "outer-product", lhsDims: []int{3}, rhsDims: []int{4, 2}},
		{name: "full-contraction-to-scalar", lhsDims: []int{3, 4}, rhsDims: []int{4, 3},
			lhsContracting: []int{0, 1}, rhsContracting: []int{1, 0}},
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 12 {
		layouts = append(layouts, randomDotLayout(rng, i))
	}
	return layouts
}

func randomTensor64(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

func mustFloat64s(t *testing.T, x *tensors.Tensor) []float64 {
	t.Helper()
	v, err := tensorFloat64s(x)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// maxRelErr returns max|got−want| / max(max|want|, floor).
func maxRelErr(got, want []float64, floor float64) float64 {
	var maxDiff, maxWant float64
	for i := range want {
		maxDiff = math.Max(maxDiff, math.Abs(got[i]-want[i]))
		maxWant = math.Max(maxWant, math.Abs(want[i]))
	}
	return maxDiff / math.Max(maxWant, floor)
}

func TestDotGeneralGradientRule(t *testing.T) {
	RegisterGradients()
	if originalDotGeneralVJP == nil {
		t.Fatal("RegisterGradients did not keep the original rule")
	}
	backend := testBackend()
	rng := rand.New(rand.NewPCG(3, 5))
	for _, l := range dotLayouts() {
		t.Run(l.name, func(t *testing.T) {
			lhsT, rhsT := randomTensor64(rng, l.lhsDims...), randomTensor64(rng, l.rhsDims...)
			var outDims []int
			// Output: batch, lhs cross, rhs cross.
			for _, a := range l.lhsBatch {
				outDims = append(outDims, l.lhsDims[a])
			}
			for _, a := range freeAxes(len(l.lhsDims), l.lhsContracting, l.lhsBatch) {
				outDims = append(outDims, l.lhsDims[a])
			}
			for _, a := range freeAxes(len(l.rhsDims), l.rhsContracting, l.rhsBatch) {
				outDims = append(outDims, l.rhsDims[a])
			}
			var rT *tensors.Tensor
			if len(outDims) == 0 {
				rT = tensors.FromValue(rng.NormFloat64())
			} else {
				rT = randomTensor64(rng, outDims...)
			}
			results, err := graph.NewExec(backend, func(lhs, rhs, r *graph.Node) []*graph.Node {
				out := graph.DotGeneral(lhs, l.lhsContracting, l.lhsBatch, rhs, l.rhsContracting, l.rhsBatch)
				axes, err := readDotGeneralAxes(out)
				if err != nil {
					panic(err)
				}
				if !slices.Equal(axes.lhsContracting, l.lhsContracting) || !slices.Equal(axes.rhsBatch, l.rhsBatch) ||
					!slices.Equal(axes.lhsBatch, l.lhsBatch) || !slices.Equal(axes.rhsContracting, l.rhsContracting) {
					panic(fmt.Errorf("read axes %+v differ from the layout %+v", axes, l))
				}
				loss := graph.ReduceAllSum(graph.Mul(out, r))
				grads := graph.Gradient(loss, lhs, rhs) // uses the registered (replacement) rule
				orig := originalDotGeneralVJP(out, []*graph.Node{r}, shapes.Shape{})
				return []*graph.Node{grads[0], grads[1], orig[0], orig[1]}
			})
			if err != nil {
				t.Fatal(err)
			}
			outs, err := results.Exec(lhsT, rhsT, rT)
			if err != nil {
				t.Fatal(err)
			}
			for i, name := range []string{"lhs", "rhs"} {
				got, orig := mustFloat64s(t, outs[i]), mustFloat64s(t, outs[2+i])
				if e := maxRelErr(got, orig, 1e-12); e > 1e-12 {
					t.Errorf("gradient wrt %s differs from GoMLX's original rule: rel err %g", name, e)
				}
			}

			// Central finite differences of the loss, on up to 10 elements of each operand.
			lossExec, err := graph.NewExec(backend, func(lhs, rhs, r *graph.Node) *graph.Node {
				return graph.ReduceAllSum(graph.Mul(graph.DotGeneral(lhs, l.lhsContracting, l.lhsBatch, rhs, l.rhsContracting, l.rhsBatch), r))
			})
			if err != nil {
				t.Fatal(err)
			}
			lossAt := func(lhs, rhs []float64) float64 {
				o, err := lossExec.Exec(tensors.FromFlatDataAndDimensions(lhs, l.lhsDims...),
					tensors.FromFlatDataAndDimensions(rhs, l.rhsDims...), rT)
				if err != nil {
					t.Fatal(err)
				}
				return mustFloat64s(t, o[0])[0]
			}
			base := [][]float64{mustFloat64s(t, lhsT), mustFloat64s(t, rhsT)}
			const h = 1e-4
			for op := range 2 {
				grad := mustFloat64s(t, outs[op])
				for _, i := range sampleIndices(rng, len(base[op]), 10) {
					plus := [][]float64{slices.Clone(base[0]), slices.Clone(base[1])}
					minus := [][]float64{slices.Clone(base[0]), slices.Clone(base[1])}
					plus[op][i] += h
					minus[op][i] -= h
					fd := (lossAt(plus[0], plus[1]) - lossAt(minus[0], minus[1])) / (2 * h)
					if math.Abs(fd-grad[i]) > 1e-8*math.Max(1, math.Abs(fd)) {
						t.Errorf("operand %d element %d: gradient %g, finite differences %g", op, i, grad[i], fd)
					}
				}
			}
		})
	}
}

// sampleIndices returns up to k distinct indices in [0, n).
func sampleIndices(rng *rand.Rand, n, k int) []int {
	if n <= k {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return rng.Perm(n)[:k]
}

func TestRegisterGradientsIdempotent(t *testing.T) {
	RegisterGradients()
	RegisterGradients()
	if originalDotGeneralVJP == nil {
		t.Fatal("original rule not kept")
	}
	// The registry must hold the replacement, and the kept original must not be the replacement
	// (a second registration must not overwrite it with ourselves).
	if fmt.Sprintf("%p", graph.VJPRegistration[graph.NodeTypeDotGeneral]) != fmt.Sprintf("%p", graph.VJP(dotGeneralVJP)) {
		t.Error("VJPRegistration[DotGeneral] is not this package's rule")
	}
	if fmt.Sprintf("%p", originalDotGeneralVJP) == fmt.Sprintf("%p", graph.VJP(dotGeneralVJP)) {
		t.Error("the kept original rule is this package's rule")
	}
}
