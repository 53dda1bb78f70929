package h5

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"gonum.org/v1/hdf5"
)

// chunkBytes bounds the conversion buffer used for datasets whose on-disk type is not the
// destination's native type (float64, integers, big-endian data).
const chunkBytes = 1 << 20

// slabBytes is the size of the slabs a native read is cut into, so that the caller's visit of
// one slab (such as hashing it on another goroutine) overlaps with the reading of the next.
const slabBytes = 32 << 20

// elemType is an on-disk element type that converts to float.
type elemType struct {
	name   string
	typ    *hdf5.Datatype
	size   int
	decode func([]byte) float64
}

var (
	le = binary.LittleEndian
	be = binary.BigEndian
)

var elemTypes = []elemType{
	{"float32", hdf5.T_IEEE_F32LE, 4, func(b []byte) float64 { return float64(math.Float32frombits(le.Uint32(b))) }},
	{"float64", hdf5.T_IEEE_F64LE, 8, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) }},
	{"float32 big-endian", hdf5.T_IEEE_F32BE, 4, func(b []byte) float64 { return float64(math.Float32frombits(be.Uint32(b))) }},
	{"float64 big-endian", hdf5.T_IEEE_F64BE, 8, func(b []byte) float64 { return math.Float64frombits(be.Uint64(b)) }},
	{"int8", hdf5.T_STD_I8LE, 1, func(b []byte) float64 { return float64(int8(b[0])) }},
	{"uint8", hdf5.T_STD_U8LE, 1, func(b []byte) float64 { return float64(b[0]) }},
	{"int16", hdf5.T_STD_I16LE, 2, func(b []byte) float64 { return float64(int16(le.Uint16(b))) }},
	{"uint16", hdf5.T_STD_U16LE, 2, func(b []byte) float64 { return float64(le.Uint16(b)) }},
	{"int32", hdf5.T_STD_I32LE, 4, func(b []byte) float64 { return float64(int32(le.Uint32(b))) }},
	{"uint32", hdf5.T_STD_U32LE, 4, func(b []byte) float64 { return float64(le.Uint32(b)) }},
	{"int64", hdf5.T_STD_I64LE, 8, func(b []byte) float64 { return float64(int64(le.Uint64(b))) }},
	{"uint64", hdf5.T_STD_U64LE, 8, func(b []byte) float64 { return float64(le.Uint64(b)) }},
	{"int8 big-endian", hdf5.T_STD_I8BE, 1, func(b []byte) float64 { return float64(int8(b[0])) }},
	{"uint8 big-endian", hdf5.T_STD_U8BE, 1, func(b []byte) float64 { return float64(b[0]) }},
	{"int16 big-endian", hdf5.T_STD_I16BE, 2, func(b []byte) float64 { return float64(int16(be.Uint16(b))) }},
	{"uint16 big-endian", hdf5.T_STD_U16BE, 2, func(b []byte) float64 { return float64(be.Uint16(b)) }},
	{"int32 big-endian", hdf5.T_STD_I32BE, 4, func(b []byte) float64 { return float64(int32(be.Uint32(b))) }},
	{"uint32 big-endian", hdf5.T_STD_U32BE, 4, func(b []byte) float64 { return float64(be.Uint32(b)) }},
	{"int64 big-endian", hdf5.T_STD_I64BE, 8, func(b []byte) float64 { return float64(int64(be.Uint64(b))) }},
	{"uint64 big-endian", hdf5.T_STD_U64BE, 8, func(b []byte) float64 { return float64(be.Uint64(b)) }},
}

var classNames = map[hdf5.TypeClass]string{
	hdf5.T_INTEGER: "integer", hdf5.T_FLOAT: "float", hdf5.T_TIME: "time", hdf5.T_STRING: "string",
	hdf5.T_BITFIELD: "bitfield", hdf5.T_OPAQUE: "opaque", hdf5.T_COMPOUND: "compound",
	hdf5.T_REFERENCE: "reference", hdf5.T_ENUM: "enum", hdf5.T_VLEN: "variable-length",
	hdf5.T_ARRAY: "array",
}

func className(c hdf5.TypeClass) string {
	if s, ok := classNames[c]; ok {
		return s
	}
	return fmt.Sprintf("class %d", int(c))
}

// Array is an open numeric dataset: float32, float64 or integers of either byte order.
type Array struct {
	Name string // the dataset's path in the file, as errors name it
	Dims []int  // its shape; empty for a scalar

	ds        *hdf5.Dataset
	elem      *elemType
	nativeF32 bool // on-disk type is the host's float32: read straight into []float32
	nativeF64 bool // likewise for float64
}

// OpenArray opens the numeric dataset name; errors say what is wrong with it (not found, a
// group, no data, an element type that is not a number, a shape the file cannot hold).
func (h *File) OpenArray(name string) (*Array, error) {
	if !h.Exists(name) {
		return nil, fmt.Errorf("dataset %q: not found", name)
	}
	ds, err := h.f.OpenDataset(name)
	if err != nil {
		return nil, fmt.Errorf("dataset %q: cannot open it as a dataset (is it a group?)", name)
	}
	a := &Array{ds: ds, Name: name}
	if err := a.init(h.size); err != nil {
		ds.Close()
		return nil, err
	}
	return a, nil
}

// Close closes the dataset.
func (a *Array) Close() { a.ds.Close() }

// Len is the number of values, the product of Dims.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Dims {
		n *= d
	}
	return n
}

func (a *Array) init(fileSize int64) error {
	sp := a.ds.Space()
	if sp == nil {
		return fmt.Errorf("dataset %q: cannot read its dataspace (corrupt file?)", a.Name)
	}
	defer sp.Close()
	switch sp.SimpleExtentType() {
	case hdf5.S_SIMPLE:
		nd := sp.SimpleExtentNDims()
		if nd < 1 || nd > 32 {
			return fmt.Errorf("dataset %q: cannot read its rank (got %d)", a.Name, nd)
		}
		dims, _, err := sp.SimpleExtentDims()
		if err != nil {
			return fmt.Errorf("dataset %q: cannot read its shape", a.Name)
		}
		a.Dims = make([]int, nd)
		for i, d := range dims {
			if d > math.MaxInt32 {
				return fmt.Errorf("dataset %q: implausible size %d along axis %d (corrupt file?)", a.Name, d, i)
			}
			a.Dims[i] = int(d)
		}
	case hdf5.S_SCALAR:
		a.Dims = []int{} // rank 0
	default:
		return fmt.Errorf("dataset %q: has no data (null dataspace)", a.Name)
	}
	dt, err := a.ds.Datatype()
	if err != nil {
		return fmt.Errorf("dataset %q: cannot read its element type", a.Name)
	}
	defer dt.Close()
	for i := range elemTypes {
		if dt.Equal(elemTypes[i].typ) {
			a.elem = &elemTypes[i]
			break
		}
	}
	if a.elem == nil {
		return fmt.Errorf("dataset %q: unsupported element type (%s, %d bytes); expected float32, float64 or integers",
			a.Name, className(dt.Class()), dt.Size())
	}
	a.nativeF32 = dt.Equal(hdf5.T_NATIVE_FLOAT)
	a.nativeF64 = dt.Equal(hdf5.T_NATIVE_DOUBLE)
	// Refuse shapes the file cannot hold (even deflate-compressed: ≤ ~1032:1), rather than letting
	// a corrupt header make us allocate terabytes.
	n := 1.0
	for _, d := range a.Dims {
		n *= float64(d)
	}
	if nbytes := n * float64(a.elem.size); nbytes > 2048*float64(fileSize)+(1<<20) {
		return fmt.Errorf("dataset %q: shape %s (%.0f bytes) is implausible for a file of %d bytes (corrupt file?)",
			a.Name, Shape(a.Dims), nbytes, fileSize)
	}
	return nil
}

// ExpectShape fails with a message naming the dataset, the expected and the actual shape, and
// why that shape is expected ("= (T,) with T=100 from …").
func (a *Array) ExpectShape(want []int, why string) error {
	if !slices.Equal(a.Dims, want) {
		return fmt.Errorf("dataset %q: expected shape %s %s, got %s", a.Name, Shape(want), why, Shape(a.Dims))
	}
	return nil
}

// OverflowError is a finite value that float32 cannot hold, met while reading into float32.
type OverflowError struct {
	Index int     // flat row-major index of the value in the read (0 = the first value read)
	Value float64 // the value in the file
}

func (e *OverflowError) Error() string {
	return fmt.Sprintf("value %v at index %d overflows float32", e.Value, e.Index)
}

// Read reads the hyperslab [start, start+count) of a (rank ≥ 1) into dst, row-major, converting
// to E. Data already in E's native layout is read straight into dst, in slabs of about 32 MiB
// along axis 0; anything else goes through a buffer of at most ~1 MiB (or one slice along axis 0,
// if larger). A float64 value that overflows float32 stops the read with an *OverflowError
// rather than becoming an infinity. After each slab is read, visit (may be nil) is given it, as
// part, a view of dst whose first value has flat index first in the read; an error from visit
// stops the read. Peak memory beyond dst is the conversion buffer.
func Read[E float32 | float64](a *Array, dst []E, start, count []int, visit func(first int, part []E) error) error {
	if len(count) == 0 || len(count) != len(a.Dims) || len(start) != len(count) {
		return fmt.Errorf("dataset %q: internal error: read of rank %d from shape %s", a.Name, len(count), Shape(a.Dims))
	}
	n := 1
	for _, c := range count {
		n *= c
	}
	if len(dst) != n {
		return fmt.Errorf("dataset %q: internal error: %d values into a buffer of %d", a.Name, n, len(dst))
	}
	if n == 0 {
		return nil
	}
	fileSpace := a.ds.Space()
	if fileSpace == nil {
		return fmt.Errorf("dataset %q: cannot read its dataspace (corrupt file?)", a.Name)
	}
	defer fileSpace.Close()

	var zero E
	_, isF32 := any(zero).(float32)
	direct := (isF32 && a.nativeF32) || (!isF32 && a.nativeF64)
	rows := count[0]
	rowElems := n / rows
	var step int
	var buf []byte
	if direct {
		step = min(rows, max(1, slabBytes/(rowElems*int(unsafe.Sizeof(zero)))))
	} else {
		step = min(rows, max(1, chunkBytes/(rowElems*a.elem.size)))
		buf = make([]byte, step*rowElems*a.elem.size)
	}
	off := make([]uint, len(start))
	cnt := make([]uint, len(count))
	for i := range start {
		off[i], cnt[i] = uint(start[i]), uint(count[i])
	}
	for r := 0; r < rows; r += step {
		k := min(step, rows-r)
		off[0], cnt[0] = uint(start[0]+r), uint(k)
		if err := fileSpace.SelectHyperslab(off, nil, cnt, nil); err != nil {
			return fmt.Errorf("dataset %q: cannot select rows %d..%d: %v", a.Name, start[0]+r, start[0]+r+k, err)
		}
		memSpace, err := hdf5.CreateSimpleDataspace(cnt, nil)
		if err != nil {
			return fmt.Errorf("dataset %q: %v", a.Name, err)
		}
		first := r * rowElems
		part := dst[first : (r+k)*rowElems]
		if direct {
			err = a.ds.ReadSubset(&part, memSpace, fileSpace)
		} else {
			b := buf[:k*rowElems*a.elem.size]
			err = a.ds.ReadSubset(&b, memSpace, fileSpace)
			if err == nil {
				sz := a.elem.size
				for i := range part {
					v := a.elem.decode(b[i*sz : (i+1)*sz])
					part[i] = E(v)
					if isF32 && math.IsInf(float64(part[i]), 0) && !math.IsInf(v, 0) {
						memSpace.Close()
						return &OverflowError{Index: first + i, Value: v}
					}
				}
			}
		}
		memSpace.Close()
		if err != nil {
			return fmt.Errorf("dataset %q: read failed (truncated or corrupt file?)", a.Name)
		}
		if visit != nil {
			if err := visit(first, part); err != nil {
				return err
			}
		}
	}
	return nil
}
