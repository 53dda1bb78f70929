package h5

import (
	"bytes"
	"fmt"
	"strings"

	"gonum.org/v1/hdf5"
)

// Attributes of the root group. Readers report an absent attribute with ok = false and no error,
// and a present one of the wrong kind with an error naming it.

// AttrFloat reads a numeric attribute holding one number.
func (h *File) AttrFloat(name string) (float64, bool, error) {
	a, class, _, n, _, ok, err := attrOpen(h.root, name)
	if !ok || err != nil {
		return 0, ok, err
	}
	defer a.Close()
	if (class != hdf5.T_FLOAT && class != hdf5.T_INTEGER) || n != 1 {
		return 0, false, fmt.Errorf("attribute %q: expected one number, got %d values of type %s", name, n, className(class))
	}
	var v float64
	if err := a.Read(&v, hdf5.T_NATIVE_DOUBLE); err != nil {
		return 0, false, fmt.Errorf("attribute %q: read failed", name)
	}
	return v, true, nil
}

// AttrString reads a string attribute, variable-length (as h5py writes a str) or fixed-length
// (NUL-terminated or space-padded).
func (h *File) AttrString(name string) (string, bool, error) {
	a, class, size, n, varStr, ok, err := attrOpen(h.root, name)
	if !ok || err != nil {
		return "", ok, err
	}
	defer a.Close()
	if class != hdf5.T_STRING || n != 1 {
		return "", false, fmt.Errorf("attribute %q: expected one string, got %d values of type %s", name, n, className(class))
	}
	if varStr {
		var s string
		if err := a.Read(&s, nil); err != nil {
			return "", false, fmt.Errorf("attribute %q: read failed", name)
		}
		return s, true, nil
	}
	// Fixed-length string: read the raw bytes in the attribute's own type; may lack a terminator.
	if size <= 0 || size > 1<<20 {
		return "", false, fmt.Errorf("attribute %q: implausible string length %d", name, size)
	}
	buf := make([]byte, size)
	dt := &hdf5.Datatype{Identifier: a.GetType()}
	defer dt.Close()
	if err := a.Read(&buf[0], dt); err != nil {
		return "", false, fmt.Errorf("attribute %q: read failed", name)
	}
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		buf = buf[:i]
	}
	return strings.TrimRight(string(buf), " "), true, nil
}

// AttrInts reads an integer attribute: a scalar or a 1-D array.
func (h *File) AttrInts(name string) ([]int, bool, error) {
	a, class, _, n, _, ok, err := attrOpen(h.root, name)
	if !ok || err != nil {
		return nil, ok, err
	}
	defer a.Close()
	if class != hdf5.T_INTEGER {
		return nil, false, fmt.Errorf("attribute %q: expected integers, got type %s", name, className(class))
	}
	v := make([]int64, n)
	if n > 0 {
		if err := a.Read(&v[0], hdf5.T_NATIVE_INT64); err != nil {
			return nil, false, fmt.Errorf("attribute %q: read failed", name)
		}
	}
	out := make([]int, n)
	for i, x := range v {
		out[i] = int(x)
	}
	return out, true, nil
}

// attrOpen opens attribute name of g and reports its type class, element size, number of values
// and whether it is a variable-length string; ok is false (and err nil) when g has no such attribute.
func attrOpen(g *hdf5.Group, name string) (a *hdf5.Attribute, class hdf5.TypeClass, size, npoints int, varStr, ok bool, err error) {
	a, oerr := g.OpenAttribute(name)
	if oerr != nil {
		return nil, 0, 0, 0, false, false, nil // absent
	}
	fail := func(format string, args ...any) (*hdf5.Attribute, hdf5.TypeClass, int, int, bool, bool, error) {
		a.Close()
		return nil, 0, 0, 0, false, false, fmt.Errorf("attribute %q: "+format, append([]any{name}, args...)...)
	}
	sp := a.Space()
	if sp == nil {
		return fail("cannot read its dataspace")
	}
	switch sp.SimpleExtentType() {
	case hdf5.S_SCALAR:
		npoints = 1
	case hdf5.S_SIMPLE:
		if sp.SimpleExtentNDims() != 1 {
			sp.Close()
			return fail("expected a scalar or a 1-D array, got rank %d", sp.SimpleExtentNDims())
		}
		npoints = sp.SimpleExtentNPoints()
	default:
		npoints = 0
	}
	sp.Close()
	dt := &hdf5.Datatype{Identifier: a.GetType()}
	defer dt.Close()
	if dt.ID() < 0 {
		return fail("cannot read its type")
	}
	class = dt.Class()
	size = int(dt.Size())
	if class == hdf5.T_STRING {
		vt := hdf5.VarLenType{Datatype: *dt}
		varStr = vt.IsVariableStr()
	}
	return a, class, size, npoints, varStr, true, nil
}
