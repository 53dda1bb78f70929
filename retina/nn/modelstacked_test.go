package nn

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/deepretina/deepretina/internal/testutil"
)

// TestCollapseStack checks collapse(stack)(x) == stack(x): the stack applied as successive
// Conv2D in a graph, the collapsed kernel by the naive loop.
func TestCollapseStack(t *testing.T) {
	backend := testBackend()
	type layer struct {
		kh, kw, cout int
		bias         bool
	}
	cases := []struct {
		name   string
		cin    int
		layers []layer
	}{
		{"single", 2, []layer{{3, 3, 3, true}}},
		{"three-3x3-last-bias", 2, []layer{{3, 3, 3, false}, {3, 3, 3, false}, {3, 3, 4, true}}},
		{"seven-3x3-gives-15x15", 3, []layer{{3, 3, 2, false}, {3, 3, 2, false}, {3, 3, 2, false}, {3, 3, 2, false},
			{3, 3, 2, false}, {3, 3, 2, false}, {3, 3, 2, true}}},
		{"mixed-sizes-all-biases", 2, []layer{{2, 3, 3, true}, {4, 1, 2, true}, {3, 3, 3, true}}},
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kernels := make([]*tensors.Tensor, len(c.layers))
			biases := make([]*tensors.Tensor, len(c.layers))
			cin, kh, kw := c.cin, 1, 1
			for i, l := range c.layers {
				kernels[i] = testutil.RandomTensor64(rng, l.kh, l.kw, cin, l.cout)
				if l.bias {
					biases[i] = testutil.RandomTensor64(rng, l.cout)
				}
				cin = l.cout
				kh, kw = kh+l.kh-1, kw+l.kw-1
			}
			kernel, bias, err := CollapseStack(kernels, biases)
			if err != nil {
				t.Fatal(err)
			}
			cout := c.layers[len(c.layers)-1].cout
			if want := []int{kh, kw, c.cin, cout}; !slices.Equal(kernel.Shape().Dimensions, want) {
				t.Fatalf("collapsed kernel shape %v, want %v", kernel.Shape().Dimensions, want)
			}
			const b, h, w = 2, 17, 16
			x := randomSlice(rng, b*h*w*c.cin)
			want := naiveConv2D(x, b, h, w, c.cin, testutil.Float64s(t, kernel), kh, kw, cout, testutil.Float64s(t, bias))
			args := []any{testutil.ToTensor(x, dtypes.Float64, b, h, w, c.cin)}
			for i := range c.layers {
				args = append(args, kernels[i])
				if biases[i] != nil {
					args = append(args, biases[i])
				}
			}
			got, err := graph.CallOnce(backend, func(xs []*graph.Node) *graph.Node {
				h, rest := xs[0], xs[1:]
				for _, l := range c.layers {
					k := rest[0]
					rest = rest[1:]
					var bn *graph.Node
					if l.bias {
						bn, rest = rest[0], rest[1:]
					}
					h = Conv2D(h, k, bn)
				}
				return h
			}, args...)
			if err != nil {
				t.Fatal(err)
			}
			if e := testutil.MaxRelErr(testutil.Float64s(t, got), want, 1); e > 1e-12 {
				t.Errorf("stack(x) vs collapse(stack)(x): rel err %g", e)
			}
		})
	}
	if _, _, err := CollapseStack([]*tensors.Tensor{testutil.RandomTensor64(rng, 3, 3, 2, 4), testutil.RandomTensor64(rng, 3, 3, 3, 4)}, nil); err == nil ||
		!strings.Contains(err.Error(), "input channels") {
		t.Errorf("incompatible stack: got %v", err)
	}
}
