package retina

import (
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// This file replaces, process-wide, GoMLX v0.26.0's gradient rule for DotGeneral.
//
// The stock rule (dotGeneralVJP in pkg/core/graph) materialises the broadcast product
// batch × lhsCross × rhsCross × contracted and then reduce-sums it: for the convolution-sized
// products of this package that is gigabytes of memory and seconds per step on the pure-Go
// backend. The replacement computes the gradient of each operand as a single DotGeneral
// (contracting the incoming gradient with the other operand over that operand's free axes,
// keeping the batch axes) followed, where needed, by one transpose back to the operand's axis
// order. It is exact for any DotGeneral layout.

var (
	registerGradientsOnce sync.Once
	// originalDotGeneralVJP is GoMLX's rule, kept so that nodes whose parameters cannot be
	// read are delegated to it, and so that tests can compare against it.
	originalDotGeneralVJP graph.VJP
)

// RegisterGradients installs this package's gradient rules into graph.VJPRegistration.
// It is idempotent and safe to call from several goroutines; model construction (Forward,
// Conv2D) calls it automatically. It must not race with a gradient being built in another
// goroutine the first time it runs, which is why Forward calls it before building anything.
func RegisterGradients() {
	registerGradientsOnce.Do(func() {
		originalDotGeneralVJP = graph.VJPRegistration[graph.NodeTypeDotGeneral]
		graph.VJPRegistration[graph.NodeTypeDotGeneral] = dotGeneralVJP
	})
}

// dotGeneralAxes are the parameters of a DotGeneral node.
type dotGeneralAxes struct {
	lhsContracting, lhsBatch []int
	rhsContracting, rhsBatch []int
}

// readDotGeneralAxes extracts the contracting/batch axes of a DotGeneral node. GoMLX stores
// them in an unexported struct (nodeInputsDotGeneral) held in the node's unexported field
// "inputs"; they are read (never written) through reflection.
func readDotGeneralAxes(node *graph.Node) (axes dotGeneralAxes, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading DotGeneral parameters: %v", r)
		}
	}()
	if node.Type() != graph.NodeTypeDotGeneral {
		return axes, fmt.Errorf("node type is %s, not DotGeneral", node.Type())
	}
	v := reflect.ValueOf(node).Elem().FieldByName("inputs")
	if !v.IsValid() {
		return axes, fmt.Errorf("graph.Node has no field \"inputs\"")
	}
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return axes, fmt.Errorf("node inputs are nil")
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return axes, fmt.Errorf("node inputs are a %s, not a struct", v.Kind())
	}
	readInts := func(name string) ([]int, error) {
		f := v.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Slice {
			return nil, fmt.Errorf("DotGeneral inputs have no []int field %q", name)
		}
		out := make([]int, f.Len())
		for i := range out {
			out[i] = int(f.Index(i).Int())
		}
		return out, nil
	}
	if axes.lhsContracting, err = readInts("lhsContractingAxes"); err != nil {
		return
	}
	if axes.lhsBatch, err = readInts("lhsBatchAxes"); err != nil {
		return
	}
	if axes.rhsContracting, err = readInts("rhsContractingAxes"); err != nil {
		return
	}
	if axes.rhsBatch, err = readInts("rhsBatchAxes"); err != nil {
		return
	}
	// Sanity checks, so that a change of layout in GoMLX cannot silently give wrong gradients.
	inputs := node.Inputs()
	if len(inputs) != 2 {
		return axes, fmt.Errorf("DotGeneral has %d inputs, expected 2", len(inputs))
	}
	lhs, rhs := inputs[0], inputs[1]
	if len(axes.lhsContracting) != len(axes.rhsContracting) || len(axes.lhsBatch) != len(axes.rhsBatch) {
		return axes, fmt.Errorf("inconsistent DotGeneral axes %+v", axes)
	}
	check := func(rank int, lists ...[]int) error {
		seen := make([]bool, rank)
		for _, list := range lists {
			for _, a := range list {
				if a < 0 || a >= rank || seen[a] {
					return fmt.Errorf("invalid DotGeneral axes %+v for rank %d", axes, rank)
				}
				seen[a] = true
			}
		}
		return nil
	}
	if err = check(lhs.Rank(), axes.lhsContracting, axes.lhsBatch); err != nil {
		return
	}
	if err = check(rhs.Rank(), axes.rhsContracting, axes.rhsBatch); err != nil {
		return
	}
	nCross := lhs.Rank() - len(axes.lhsContracting) - len(axes.lhsBatch) +
		rhs.Rank() - len(axes.rhsContracting) - len(axes.rhsBatch)
	if node.Rank() != len(axes.lhsBatch)+nCross {
		return axes, fmt.Errorf("DotGeneral output rank %d inconsistent with axes %+v", node.Rank(), axes)
	}
	return axes, nil
}

// freeAxes returns the axes of an operand of the given rank that are neither contracting nor batch,
// in increasing order: DotGeneral's "cross" axes.
func freeAxes(rank int, contracting, batch []int) []int {
	used := make([]bool, rank)
	for _, a := range contracting {
		used[a] = true
	}
	for _, a := range batch {
		used[a] = true
	}
	var out []int
	for a := range rank {
		if !used[a] {
			out = append(out, a)
		}
	}
	return out
}

// dotGeneralVJP is the replacement gradient rule for DotGeneral.
func dotGeneralVJP(node *graph.Node, vjpOutputs []*graph.Node, outputShape shapes.Shape) []*graph.Node {
	axes, err := readDotGeneralAxes(node)
	if err != nil {
		// Cannot happen with GoMLX v0.26.0; if it does, stay correct (if slow).
		return originalDotGeneralVJP(node, vjpOutputs, outputShape)
	}
	v := vjpOutputs[0]
	lhs, rhs := node.Inputs()[0], node.Inputs()[1]
	return []*graph.Node{
		dotGeneralOperandGrad(v, lhs, axes.lhsContracting, axes.lhsBatch, rhs, axes.rhsContracting, axes.rhsBatch, true),
		dotGeneralOperandGrad(v, rhs, axes.rhsContracting, axes.rhsBatch, lhs, axes.lhsContracting, axes.lhsBatch, false),
	}
}

// dotGeneralOperandGrad returns the gradient wrt "this" operand of out = DotGeneral(lhs, rhs), given
// v = dLoss/dOut with layout [batch..., lhsCross..., rhsCross...]. thisIsLhs tells which operand
// "this" is.
//
// d this[b, tc, k] = Σ_{oc} v[b, tc, oc] · other[b, oc, k] — one DotGeneral of v with "other":
// batch axes paired as in the forward op, v's "other-cross" axes contracted with other's cross
// axes. Its output holds "this"'s batch, cross and contracting axes in some order; a transpose puts
// them back in "this"'s axis order.
func dotGeneralOperandGrad(v, this *graph.Node, thisContracting, thisBatch []int,
	other *graph.Node, otherContracting, otherBatch []int, thisIsLhs bool) *graph.Node {
	nBatch := len(thisBatch)
	thisCross := freeAxes(this.Rank(), thisContracting, thisBatch)
	otherCross := freeAxes(other.Rank(), otherContracting, otherBatch)

	// Positions of the axes in v.
	vBatch := make([]int, nBatch)
	for i := range vBatch {
		vBatch[i] = i
	}
	vThisCross := make([]int, len(thisCross))
	vOtherCross := make([]int, len(otherCross))
	if thisIsLhs {
		for i := range vThisCross {
			vThisCross[i] = nBatch + i
		}
		for i := range vOtherCross {
			vOtherCross[i] = nBatch + len(thisCross) + i
		}
	} else {
		for i := range vOtherCross {
			vOtherCross[i] = nBatch + i
		}
		for i := range vThisCross {
			vThisCross[i] = nBatch + len(otherCross) + i
		}
	}

	// Free axes of "other" in the gradient DotGeneral: its forward contracting axes, in increasing
	// order; each maps to the paired contracting axis of "this".
	otherFree := slices.Clone(otherContracting)
	slices.Sort(otherFree)
	otherFreeToThis := make([]int, len(otherFree))
	for i, a := range otherFree {
		k := slices.Index(otherContracting, a)
		otherFreeToThis[i] = thisContracting[k]
	}

	// srcAxes[p] = the axis of "this" that position p of the DotGeneral result corresponds to.
	// Two possible operand orders: pick the one that needs no transpose, if any.
	vFirst := make([]int, 0, this.Rank())
	vFirst = append(vFirst, thisBatch...)
	vFirst = append(vFirst, thisCross...)
	vFirst = append(vFirst, otherFreeToThis...)
	otherFirst := make([]int, 0, this.Rank())
	otherFirst = append(otherFirst, thisBatch...)
	otherFirst = append(otherFirst, otherFreeToThis...)
	otherFirst = append(otherFirst, thisCross...)

	var grad *graph.Node
	var srcAxes []int
	if !isIdentityPerm(vFirst) && isIdentityPerm(otherFirst) {
		grad = graph.DotGeneral(other, otherCross, otherBatch, v, vOtherCross, vBatch)
		srcAxes = otherFirst
	} else {
		grad = graph.DotGeneral(v, vOtherCross, vBatch, other, otherCross, otherBatch)
		srcAxes = vFirst
	}
	if !isIdentityPerm(srcAxes) {
		perm := make([]int, len(srcAxes))
		for p, axis := range srcAxes {
			perm[axis] = p
		}
		grad = graph.TransposeAllAxes(grad, perm...)
	}
	if grad.DType() != this.DType() {
		grad = graph.ConvertDType(grad, this.DType())
	}
	return grad
}

func isIdentityPerm(p []int) bool {
	for i, a := range p {
		if i != a {
			return false
		}
	}
	return true
}
