// Package torchpickle decodes the files torch.save writes (PyTorch's zip format, torch ≥ 1.6,
// and the legacy format) into gopickle values, with tensors materialised as *Tensor, and reads
// the Python values they hold (dicts, numbers, JSON-like hyper-parameters). The bytes are
// untrusted: every length is checked against the data before anything is allocated.
package torchpickle

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// This file decodes the files torch.save writes — PyTorch's zip format (torch ≥ 1.6) and the
// legacy format (_use_new_zipfile_serialization=False) — into gopickle values, with tensors
// materialised as *Tensor. The bytes are untrusted: every length is checked against the
// data before anything is allocated, and the pickle stream is scanned opcode by opcode before
// gopickle runs on it (gopickle allocates whatever length a corrupt stream announces).

// Formats of torch.save files, as Decode reports them.
const (
	FormatZip    = "zip"
	FormatLegacy = "legacy"
)

// Tensor is a tensor read from a torch.save file, contiguous in row-major order.
type Tensor struct {
	dtype string    // "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"
	shape []int     // PyTorch's size
	f     []float64 // values of a float tensor
	i     []int64   // values of an integer or bool tensor

	// Before materialisation: where the values live.
	storage *torchStorage
	offset  int
	stride  []int
}

// DType is the tensor's element type: "float32", "float64", "float16", "bfloat16", "int64",
// "int32", "int16", "int8", "uint8" or "bool".
func (t *Tensor) DType() string { return t.dtype }

// Shape is the tensor's size in PyTorch's order.
func (t *Tensor) Shape() []int { return t.shape }

// Floats are the values of a float tensor in row-major order (nil for integer and bool tensors).
func (t *Tensor) Floats() []float64 { return t.f }

// Ints are the values of an integer or bool tensor in row-major order (nil for float tensors).
func (t *Tensor) Ints() []int64 { return t.i }

func (t *Tensor) isFloat() bool {
	return t.f != nil || strings.HasPrefix(t.dtype, "float") || t.dtype == "bfloat16"
}

func (t *Tensor) numel() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// scalar is the value of a one-element tensor.
func (t *Tensor) scalar() (float64, bool) {
	switch {
	case len(t.f) == 1:
		return t.f[0], true
	case len(t.i) == 1:
		return float64(t.i[0]), true
	}
	return 0, false
}

// torchStorageClass is one of torch.FloatStorage, torch.LongStorage, ….
type torchStorageClass struct {
	name  string // "FloatStorage"
	dtype string
	size  int // bytes per element
}

var torchStorageClasses = map[string]torchStorageClass{
	"FloatStorage":    {"FloatStorage", "float32", 4},
	"DoubleStorage":   {"DoubleStorage", "float64", 8},
	"HalfStorage":     {"HalfStorage", "float16", 2},
	"BFloat16Storage": {"BFloat16Storage", "bfloat16", 2},
	"LongStorage":     {"LongStorage", "int64", 8},
	"IntStorage":      {"IntStorage", "int32", 4},
	"ShortStorage":    {"ShortStorage", "int16", 2},
	"CharStorage":     {"CharStorage", "int8", 1},
	"ByteStorage":     {"ByteStorage", "uint8", 1},
	"BoolStorage":     {"BoolStorage", "bool", 1},
}

// torchStorage is one storage of the file: numel elements of its class, raw little-endian bytes.
type torchStorage struct {
	class torchStorageClass
	key   string
	numel int
	data  []byte // nil until read
}

// torchDecoder holds the state of one file's decoding.
type torchDecoder struct {
	size     int // bytes in the file: no storage or tensor may claim more
	storages map[string]*torchStorage
	tensors  []*Tensor
}

// Decode decodes a torch.save file held in data. It returns the unpickled object and
// the format ("zip" or "legacy").
func Decode(data []byte) (obj any, format string, err error) {
	defer func() {
		// gopickle panics on some malformed streams (e.g. an odd number of items in a DICT).
		if r := recover(); r != nil {
			obj, err = nil, fmt.Errorf("malformed pickle data (%v)", r)
		}
	}()
	d := &torchDecoder{size: len(data), storages: map[string]*torchStorage{}}
	switch {
	case len(data) == 0:
		return nil, "", errors.New("empty file")
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		obj, err = d.decodeZip(data)
		format = FormatZip
	case data[0] == 0x80: // a pickle with a PROTO opcode: the legacy format starts with one
		obj, err = d.decodeLegacy(data)
		format = FormatLegacy
	default:
		return nil, "", fmt.Errorf("not a PyTorch file: neither a zip archive (torch ≥ 1.6) nor a pickle stream (legacy format); starts with %q",
			data[:min(8, len(data))])
	}
	if err != nil {
		return nil, format, err
	}
	for _, t := range d.tensors {
		if err := t.materialize(); err != nil {
			return nil, format, err
		}
	}
	return obj, format, nil
}

func (d *torchDecoder) decodeZip(data []byte) (any, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("PyTorch zip format: %w", err)
	}
	var pkl *zip.File
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		entries[f.Name] = f
		if strings.HasSuffix(f.Name, "/constants.pkl") {
			return nil, errors.New("a TorchScript archive (torch.jit.save), not a checkpoint written by torch.save")
		}
		if pkl == nil && (f.Name == "data.pkl" || strings.HasSuffix(f.Name, "/data.pkl")) {
			pkl = f
		}
	}
	if pkl == nil {
		return nil, errors.New("PyTorch zip format: the archive has no data.pkl")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	body, err := readZipEntry(pkl, uint64(len(data)))
	if err != nil {
		return nil, err
	}
	if _, err := scanPickle(body); err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	u := pickle.NewUnpickler(bytes.NewReader(body))
	u.FindClass = d.findClass
	u.PersistentLoad = func(id any) (any, error) {
		tup, ok := id.(*types.Tuple)
		if !ok || tup.Len() < 5 {
			return nil, fmt.Errorf("%s: persistent id %v: expected ('storage', type, key, location, numel)", pkl.Name, id)
		}
		s, err := d.storage(tup)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pkl.Name, err)
		}
		if s.data == nil {
			name := prefix + "data/" + s.key
			f, ok := entries[name]
			if !ok {
				return nil, fmt.Errorf("PyTorch zip format: storage %s is missing (no %s in the archive)", s.key, name)
			}
			want := uint64(s.numel) * uint64(s.class.size)
			if f.UncompressedSize64 < want {
				return nil, fmt.Errorf("PyTorch zip format: %s holds %d bytes, but its %s of %d elements needs %d",
					name, f.UncompressedSize64, s.class.name, s.numel, want)
			}
			if s.data, err = readZipEntry(f, uint64(len(data))); err != nil {
				return nil, err
			}
			if uint64(len(s.data)) < want {
				return nil, fmt.Errorf("PyTorch zip format: %s is truncated (%d of %d bytes)", name, len(s.data), want)
			}
			s.data = s.data[:want]
		}
		return s, nil
	}
	obj, err := u.Load()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	return obj, nil
}

// readZipEntry reads a whole zip entry, checking its CRC. PyTorch stores entries uncompressed,
// so an entry may not hold more than the file's size (a compressed one is allowed 64 times that).
func readZipEntry(f *zip.File, fileSize uint64) ([]byte, error) {
	limit := fileSize
	if f.Method != zip.Store {
		limit *= 64
	}
	if f.UncompressedSize64 > limit {
		return nil, fmt.Errorf("PyTorch zip format: %s announces %d bytes, more than the file can hold", f.Name, f.UncompressedSize64)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("PyTorch zip format: %s: %w", f.Name, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(rc, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("PyTorch zip format: %s: %w", f.Name, err)
	}
	if uint64(n) > limit {
		return nil, fmt.Errorf("PyTorch zip format: %s holds more than %d bytes", f.Name, limit)
	}
	return buf.Bytes(), nil
}

// legacyMagic is the number the legacy format starts with.
const legacyMagic = "1950a86a20f9469cfc6c"

func (d *torchDecoder) decodeLegacy(data []byte) (any, error) {
	pos := 0
	next := func(what string) (any, error) {
		n, err := scanPickle(data[pos:])
		if err != nil {
			return nil, fmt.Errorf("legacy format, %s (byte %d): %w", what, pos, err)
		}
		u := pickle.NewUnpickler(bytes.NewReader(data[pos : pos+n]))
		obj, err := u.Load()
		if err != nil {
			return nil, fmt.Errorf("legacy format, %s (byte %d): %w", what, pos, err)
		}
		pos += n
		return obj, nil
	}
	magic, err := next("magic number")
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(*big.Int); !ok || m.Text(16) != legacyMagic {
		return nil, fmt.Errorf("not a PyTorch file: a pickle of %s where the legacy format's magic number 0x%s belongs",
			Describe(magic), legacyMagic)
	}
	if v, err := next("protocol version"); err != nil {
		return nil, err
	} else if v != 1001 {
		return nil, fmt.Errorf("legacy format: protocol version %v, expected 1001", v)
	}
	if _, err := next("system info"); err != nil {
		return nil, err
	}

	n, err := scanPickle(data[pos:])
	if err != nil {
		return nil, fmt.Errorf("legacy format, object (byte %d): %w", pos, err)
	}
	u := pickle.NewUnpickler(bytes.NewReader(data[pos : pos+n]))
	u.FindClass = d.findClass
	u.PersistentLoad = func(id any) (any, error) {
		tup, ok := id.(*types.Tuple)
		if !ok || tup.Len() < 6 {
			return nil, fmt.Errorf("legacy format: persistent id %v: expected ('storage', type, key, location, numel, view)", id)
		}
		if tup.Get(5) != nil {
			return nil, errors.New("legacy format: storage views are not supported")
		}
		return d.storage(tup)
	}
	obj, err := u.Load()
	if err != nil {
		return nil, fmt.Errorf("legacy format, object (byte %d): %w", pos, err)
	}
	pos += n

	rawKeys, err := next("storage keys")
	if err != nil {
		return nil, err
	}
	keys, ok := rawKeys.(*types.List)
	if !ok {
		return nil, fmt.Errorf("legacy format: storage keys: expected a list, got %s", Describe(rawKeys))
	}
	if err := d.readLegacyStorages(data, pos, *keys); err != nil {
		return nil, err
	}
	return obj, nil
}

// readLegacyStorages reads the storages of a legacy file, which follow its pickles from byte
// pos on in the order keys lists them: for each, its element count (8 bytes, little-endian),
// then its bytes. Every storage a tensor uses must be there, with the size its tensors announced.
func (d *torchDecoder) readLegacyStorages(data []byte, pos int, keys types.List) error {
	for _, k := range keys {
		key, ok := k.(string)
		if !ok {
			return fmt.Errorf("legacy format: storage key %s is not a string", Describe(k))
		}
		s, ok := d.storages[key]
		if !ok {
			return fmt.Errorf("legacy format: storage %q is listed but no tensor uses it", key)
		}
		if len(data)-pos < 8 {
			return fmt.Errorf("legacy format: file ends before storage %q (truncated?)", key)
		}
		numel := binary.LittleEndian.Uint64(data[pos:])
		pos += 8
		if numel != uint64(s.numel) {
			return fmt.Errorf("legacy format: storage %q has %d elements, its tensors announced %d", key, numel, s.numel)
		}
		nb := s.numel * s.class.size
		if len(data)-pos < nb {
			return fmt.Errorf("legacy format: storage %q is truncated (%d of %d bytes; file cut short?)", key, len(data)-pos, nb)
		}
		s.data = data[pos : pos+nb]
		pos += nb
	}
	for key, s := range d.storages {
		if s.data == nil {
			return fmt.Errorf("legacy format: storage %q is used but missing from the file", key)
		}
	}
	return nil
}

// storage returns (creating it) the storage a persistent id names: ('storage', class, key,
// location, numel, …).
func (d *torchDecoder) storage(id *types.Tuple) (*torchStorage, error) {
	if kind, _ := id.Get(0).(string); kind != "storage" {
		return nil, fmt.Errorf("persistent id of kind %s: only 'storage' is supported", Describe(id.Get(0)))
	}
	class, ok := id.Get(1).(torchStorageClass)
	if !ok {
		return nil, fmt.Errorf("persistent id: %s is not a supported storage type", Describe(id.Get(1)))
	}
	key, ok := id.Get(2).(string)
	numel, ok2 := id.Get(4).(int)
	if !ok || !ok2 || numel < 0 {
		return nil, fmt.Errorf("persistent id %v: expected a string key and an element count", id)
	}
	if numel > d.size/class.size {
		return nil, fmt.Errorf("storage %q claims %d elements of %s, more than the file holds", key, numel, class.name)
	}
	if s, ok := d.storages[key]; ok {
		if s.numel != numel || s.class != class {
			return nil, fmt.Errorf("storage %q announced twice with different types or sizes", key)
		}
		return s, nil
	}
	s := &torchStorage{class: class, key: key, numel: numel}
	d.storages[key] = s
	return s, nil
}

// materialize copies the tensor's strided view out of its storage.
func (t *Tensor) materialize() error {
	s := t.storage
	if s == nil || s.data == nil {
		return fmt.Errorf("tensor of shape %v: its storage was never loaded", t.shape)
	}
	n := t.numel()
	idx := make([]int, len(t.shape))
	pos := t.offset
	get := storageReader(s)
	if t.isFloat() {
		t.f = make([]float64, n)
	} else {
		t.i = make([]int64, n)
	}
	for k := range n {
		if t.f != nil {
			t.f[k] = get(pos)
		} else {
			t.i[k] = int64(get(pos))
		}
		for a := len(idx) - 1; a >= 0; a-- {
			idx[a]++
			pos += t.stride[a]
			if idx[a] < t.shape[a] {
				break
			}
			pos -= idx[a] * t.stride[a]
			idx[a] = 0
		}
	}
	t.storage = nil
	return nil
}

// storageReader returns the i-th element of a storage as float64 (int64 values beyond 2^53
// lose precision; state dicts only hold counters there).
func storageReader(s *torchStorage) func(i int) float64 {
	b := s.data
	le := binary.LittleEndian
	switch s.class.dtype {
	case "float32":
		return func(i int) float64 { return float64(math.Float32frombits(le.Uint32(b[4*i:]))) }
	case "float64":
		return func(i int) float64 { return math.Float64frombits(le.Uint64(b[8*i:])) }
	case "float16":
		return func(i int) float64 { return float16ToFloat64(le.Uint16(b[2*i:])) }
	case "bfloat16":
		return func(i int) float64 { return float64(math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16)) }
	case "int64":
		return func(i int) float64 { return float64(int64(le.Uint64(b[8*i:]))) }
	case "int32":
		return func(i int) float64 { return float64(int32(le.Uint32(b[4*i:]))) }
	case "int16":
		return func(i int) float64 { return float64(int16(le.Uint16(b[2*i:]))) }
	case "int8":
		return func(i int) float64 { return float64(int8(b[i])) }
	default: // uint8, bool
		return func(i int) float64 { return float64(b[i]) }
	}
}

func float16ToFloat64(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * frac * math.Pow(2, -24)
	case 0x1f:
		if frac == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * (1 + frac/1024) * math.Pow(2, float64(exp-15))
}

// ---------------------------------------------------------------------------------------------
// Python classes a checkpoint refers to.

func (d *torchDecoder) findClass(module, name string) (any, error) {
	switch module {
	case "torch":
		if c, ok := torchStorageClasses[name]; ok {
			return c, nil
		}
	case "torch._utils":
		switch name {
		case "_rebuild_tensor_v2", "_rebuild_tensor":
			return pyFunc{name, func(args ...any) (any, error) {
				t, err := rebuildTensor(args...)
				if err == nil {
					d.tensors = append(d.tensors, t)
				}
				return t, err
			}}, nil
		case "_rebuild_parameter", "_rebuild_parameter_with_state":
			return pyFunc{name, func(args ...any) (any, error) {
				if len(args) < 1 {
					return nil, fmt.Errorf("%s: no arguments", name)
				}
				return args[0], nil
			}}, nil
		}
	case "_codecs":
		if name == "encode" {
			return pyFunc{"_codecs.encode", codecsEncode}, nil
		}
	case "numpy", "numpy.core.multiarray", "numpy._core.multiarray":
		switch name {
		case "dtype":
			return pyFunc{"numpy.dtype", func(args ...any) (any, error) {
				if len(args) < 1 {
					return nil, errors.New("numpy.dtype: no arguments")
				}
				code, ok := args[0].(string)
				if !ok {
					return nil, fmt.Errorf("numpy.dtype(%s): expected a type code", Describe(args[0]))
				}
				return &npDtype{code: code, order: '<'}, nil
			}}, nil
		case "scalar":
			return pyFunc{"numpy scalar", npScalar}, nil
		case "_reconstruct":
			return pyFunc{"numpy array", func(...any) (any, error) { return &npArray{}, nil }}, nil
		case "ndarray":
			return &pyClass{module: module, name: name}, nil
		}
	}
	return &pyClass{module: module, name: name}, nil
}

// pyFunc is a Python callable implemented in Go.
type pyFunc struct {
	name string
	fn   func(args ...any) (any, error)
}

func (f pyFunc) Call(args ...any) (any, error) { return f.fn(args...) }

// pyClass is any other Python class: calling it records the arguments, so that unrelated parts
// of a checkpoint (a torch.device, a custom object) decode without being understood.
type pyClass struct{ module, name string }

func (c *pyClass) Call(args ...any) (any, error)  { return &pyObject{class: c, args: args}, nil }
func (c *pyClass) PyNew(args ...any) (any, error) { return &pyObject{class: c, args: args}, nil }

type pyObject struct {
	class *pyClass
	args  []any
	state any
	dict  map[any]any
}

func (o *pyObject) PySetState(state any) error { o.state = state; return nil }
func (o *pyObject) PyDictSet(k, v any) error {
	if o.dict == nil {
		o.dict = map[any]any{}
	}
	defer func() { _ = recover() }() // an unhashable key is dropped
	o.dict[k] = v
	return nil
}

// rebuildTensor is torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …).
func rebuildTensor(args ...any) (*Tensor, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor: %d arguments, expected at least 4", len(args))
	}
	s, ok := args[0].(*torchStorage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor: %s is not a storage", Describe(args[0]))
	}
	offset, ok := args[1].(int)
	size, ok2 := intTuple(args[2])
	stride, ok3 := intTuple(args[3])
	if !ok || !ok2 || !ok3 || len(size) != len(stride) || offset < 0 {
		return nil, fmt.Errorf("_rebuild_tensor: bad offset, size or stride (%v, %v, %v)", args[1], args[2], args[3])
	}
	t := &Tensor{dtype: s.class.dtype, shape: size, storage: s, offset: offset, stride: stride}
	n, maxPos := 1, offset
	for a, dim := range size {
		if dim < 0 || stride[a] < 0 {
			return nil, fmt.Errorf("_rebuild_tensor: negative size or stride (%v, %v)", size, stride)
		}
		if dim > 0 && n > 0 && dim > (1<<31)/n {
			return nil, fmt.Errorf("_rebuild_tensor: size %v is too large", size)
		}
		n *= dim
		if dim > 0 {
			maxPos += (dim - 1) * stride[a]
		}
	}
	if n > 0 && maxPos >= s.numel {
		return nil, fmt.Errorf("_rebuild_tensor: a tensor of size %v (offset %d, stride %v) reaches past its storage of %d elements",
			size, offset, stride, s.numel)
	}
	if n > 16*s.numel+1<<16 { // a broadcast view: refuse to blow it up
		return nil, fmt.Errorf("_rebuild_tensor: a tensor of size %v repeats a storage of %d elements", size, s.numel)
	}
	return t, nil
}

func intTuple(v any) ([]int, bool) {
	tup, ok := v.(*types.Tuple)
	if !ok {
		return nil, false
	}
	out := make([]int, tup.Len())
	for i := range out {
		if out[i], ok = tup.Get(i).(int); !ok {
			return nil, false
		}
	}
	return out, true
}

// codecsEncode is _codecs.encode(str, "latin1"): how protocol-2 pickles carry bytes.
func codecsEncode(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, errors.New("_codecs.encode: no arguments")
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("_codecs.encode(%s): expected a string", Describe(args[0]))
	}
	if len(args) > 1 {
		if enc, _ := args[1].(string); enc != "latin1" && enc != "latin-1" && enc != "iso-8859-1" {
			return nil, fmt.Errorf("_codecs.encode: encoding %q is not supported", enc)
		}
	}
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, fmt.Errorf("_codecs.encode: %q is not latin-1", r)
		}
		out = append(out, byte(r))
	}
	return out, nil
}

// npDtype is a numpy dtype: its type code ("f4", "f8", "i8", …) and byte order.
type npDtype struct {
	code  string
	order byte
}

func (d *npDtype) PySetState(state any) error {
	if tup, ok := state.(*types.Tuple); ok && tup.Len() > 1 {
		if o, ok := tup.Get(1).(string); ok && len(o) == 1 {
			d.order = o[0]
		}
	}
	return nil
}

// decode reads a little- or big-endian value of the dtype.
func (d *npDtype) decode(b []byte) (float64, error) {
	var bo binary.ByteOrder = binary.LittleEndian
	if d.order == '>' {
		bo = binary.BigEndian
	}
	need := map[string]int{"f8": 8, "f4": 4, "f2": 2, "i8": 8, "i4": 4, "i2": 2, "i1": 1, "u8": 8, "u4": 4, "u2": 2, "u1": 1, "b1": 1}[d.code]
	if need == 0 {
		return 0, fmt.Errorf("numpy dtype %q is not supported", d.code)
	}
	if len(b) < need {
		return 0, fmt.Errorf("numpy %s value: %d bytes, need %d", d.code, len(b), need)
	}
	switch d.code {
	case "f8":
		return math.Float64frombits(bo.Uint64(b)), nil
	case "f4":
		return float64(math.Float32frombits(bo.Uint32(b))), nil
	case "f2":
		return float16ToFloat64(bo.Uint16(b)), nil
	case "i8":
		return float64(int64(bo.Uint64(b))), nil
	case "i4":
		return float64(int32(bo.Uint32(b))), nil
	case "i2":
		return float64(int16(bo.Uint16(b))), nil
	case "i1":
		return float64(int8(b[0])), nil
	case "u8":
		return float64(bo.Uint64(b)), nil
	case "u4":
		return float64(bo.Uint32(b)), nil
	case "u2":
		return float64(bo.Uint16(b)), nil
	}
	return float64(b[0]), nil // u1, b1
}

// npScalar is numpy.core.multiarray.scalar(dtype, bytes): a numpy number such as np.float32(0.5).
func npScalar(args ...any) (any, error) {
	if len(args) < 2 {
		return nil, errors.New("numpy scalar: expected (dtype, bytes)")
	}
	dt, ok := args[0].(*npDtype)
	if !ok {
		return nil, fmt.Errorf("numpy scalar: %s is not a dtype", Describe(args[0]))
	}
	b, ok := args[1].([]byte)
	if !ok {
		return nil, fmt.Errorf("numpy scalar: %s is not bytes", Describe(args[1]))
	}
	return dt.decode(b)
}

// npArray is a numpy array rebuilt by numpy.core.multiarray._reconstruct; its values are set by
// BUILD with the state (version, shape, dtype, is_fortran, raw bytes).
type npArray struct {
	shape  []int
	values []float64
}

func (a *npArray) PySetState(state any) error {
	tup, ok := state.(*types.Tuple)
	if !ok || tup.Len() < 5 {
		return fmt.Errorf("numpy array state %s: expected (version, shape, dtype, fortran, data)", Describe(state))
	}
	shape, ok := intTuple(tup.Get(1))
	dt, ok2 := tup.Get(2).(*npDtype)
	raw, ok3 := tup.Get(4).([]byte)
	if !ok || !ok2 || !ok3 {
		return fmt.Errorf("numpy array state: unsupported contents (object arrays are not supported)")
	}
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > len(raw)/d) {
			return fmt.Errorf("numpy array of shape %v does not fit its %d bytes", shape, len(raw))
		}
		n *= d
	}
	size := len(raw) / max(n, 1)
	if n > 0 && size == 0 {
		return fmt.Errorf("numpy array of shape %v does not fit its %d bytes", shape, len(raw))
	}
	a.shape = shape
	a.values = make([]float64, n)
	for i := range n {
		v, err := dt.decode(raw[i*size:])
		if err != nil {
			return err
		}
		a.values[i] = v
	}
	return nil
}

// Describe names a decoded Python value for error messages: its type, and short values.
func Describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the bool %v", x)
	case int, float64, *big.Int:
		return fmt.Sprintf("the number %v", x)
	case []byte:
		return fmt.Sprintf("bytes (%d)", len(x))
	case *types.List:
		return fmt.Sprintf("a list of %d items", x.Len())
	case *types.Tuple:
		return fmt.Sprintf("a tuple of %d items", x.Len())
	case *types.Dict:
		return fmt.Sprintf("a dict of %d items", len(*x))
	case *types.OrderedDict:
		return fmt.Sprintf("an OrderedDict of %d items", x.Len())
	case *Tensor:
		return fmt.Sprintf("a %s tensor of shape %v", x.dtype, x.shape)
	case *npArray:
		return fmt.Sprintf("a numpy array of shape %v", x.shape)
	case *pyObject:
		return fmt.Sprintf("a %s.%s object", x.class.module, x.class.name)
	case *pyClass:
		return fmt.Sprintf("the class %s.%s", x.module, x.name)
	case torchStorageClass:
		return "torch." + x.name
	}
	return fmt.Sprintf("a %T", v)
}

// ---------------------------------------------------------------------------------------------
// Pickle scanning: walks the opcodes of one pickle (as Python's pickletools.genops does) and
// returns its length, checking that every argument lies within data.

// pickle argument kinds.
const (
	argNone = iota
	argLine
	argTwoLines
	argFixed  // n bytes
	argLenLE  // a little-endian length of n bytes, then that many bytes
	argFrame8 // FRAME: an 8-byte frame size (the frame's opcodes follow)
)

type pickleOp struct {
	kind int
	n    int
}

var pickleOps = func() [256]*pickleOp {
	var t [256]*pickleOp
	set := func(codes string, kind, n int) {
		for i := 0; i < len(codes); i++ {
			t[codes[i]] = &pickleOp{kind, n}
		}
	}
	set("(.012NQRabd}el]ost)u", argNone, 0) // MARK STOP POP POP_MARK DUP NONE BINPERSID REDUCE APPEND BUILD DICT EMPTY_DICT APPENDS LIST EMPTY_LIST OBJ SETITEM TUPLE EMPTY_TUPLE SETITEMS
	set("\x81\x85\x86\x87\x88\x89\x8f\x90\x91\x92\x93\x94\x97\x98", argNone, 0)
	set("FILPSVgp", argLine, 0)
	set("ci", argTwoLines, 0)
	set("Jjr\x84", argFixed, 4) // BININT, LONG_BINGET, LONG_BINPUT, EXT4
	t['G'] = &pickleOp{argFixed, 8}
	set("Khq\x80\x82", argFixed, 1)
	set("M\x83", argFixed, 2)
	set("UC\x8a\x8c", argLenLE, 1)
	set("TBX\x8b", argLenLE, 4)
	set("\x8d\x8e\x96", argLenLE, 8)
	t['\x95'] = &pickleOp{argFrame8, 8}
	return t
}()

// scanPickle returns the length of the pickle at the start of data (through its STOP opcode).
func scanPickle(data []byte) (int, error) {
	pos := 0
	for pos < len(data) {
		code := data[pos]
		op := pickleOps[code]
		if op == nil {
			return 0, fmt.Errorf("not a valid pickle: unknown opcode 0x%02x at byte %d", code, pos)
		}
		pos++
		switch op.kind {
		case argLine, argTwoLines:
			lines := 1
			if op.kind == argTwoLines {
				lines = 2
			}
			for range lines {
				nl := bytes.IndexByte(data[pos:], '\n')
				if nl < 0 {
					return 0, fmt.Errorf("truncated pickle: opcode %q at byte %d has no end of line", code, pos-1)
				}
				pos += nl + 1
			}
		case argFixed, argFrame8:
			if len(data)-pos < op.n {
				return 0, fmt.Errorf("truncated pickle: opcode 0x%02x at byte %d", code, pos-1)
			}
			if op.kind == argFrame8 && binary.LittleEndian.Uint64(data[pos:]) > uint64(len(data)-pos-8) {
				return 0, fmt.Errorf("truncated pickle: frame at byte %d is longer than the data", pos-1)
			}
			pos += op.n
		case argLenLE:
			if len(data)-pos < op.n {
				return 0, fmt.Errorf("truncated pickle: opcode 0x%02x at byte %d", code, pos-1)
			}
			var n uint64
			switch op.n {
			case 1:
				n = uint64(data[pos])
			case 4:
				n = uint64(binary.LittleEndian.Uint32(data[pos:]))
				if code == 'T' || code == '\x8b' { // signed lengths
					n = uint64(int64(int32(n)))
				}
			case 8:
				n = binary.LittleEndian.Uint64(data[pos:])
			}
			pos += op.n
			if n > uint64(len(data)-pos) {
				return 0, fmt.Errorf("truncated or corrupt pickle: opcode 0x%02x at byte %d announces %d bytes, %d remain",
					code, pos-op.n-1, n, len(data)-pos)
			}
			pos += int(n)
		}
		if code == '.' {
			return pos, nil
		}
	}
	return 0, errors.New("truncated pickle: no STOP opcode before the end of the data")
}
