package datasets

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// NPY reading and writing for the stimulus movies and predictions exchanged with NumPy users.
// Only what those need is supported — little-endian float32/float64, C order — and anything
// else is rejected with an error naming the field, never a panic.

var npyMagic = []byte("\x93NUMPY")

var (
	npyDescr = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyOrder = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShape = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// maxNpyValues bounds what a header may claim, so a corrupt header cannot make us allocate
// without limit (2^31 float32 values = 8 GiB).
const maxNpyValues = 1 << 31

// ParseNpy decodes a .npy file held in memory into its shape and float32 values.
func ParseNpy(data []byte) (shape []int, values []float32, err error) {
	if len(data) < 10 || !bytes.Equal(data[:6], npyMagic) {
		return nil, nil, fmt.Errorf("not a .npy file (missing the \\x93NUMPY magic)")
	}
	major := data[6]
	var headerLen, start int
	switch major {
	case 1:
		headerLen, start = int(binary.LittleEndian.Uint16(data[8:10])), 10
	case 2, 3:
		if len(data) < 12 {
			return nil, nil, fmt.Errorf("header: truncated")
		}
		headerLen, start = int(binary.LittleEndian.Uint32(data[8:12])), 12
	default:
		return nil, nil, fmt.Errorf("header: unsupported .npy version %d", major)
	}
	if headerLen < 0 || start+headerLen > len(data) {
		return nil, nil, fmt.Errorf("header: claims %d bytes, file has %d", headerLen, len(data)-start)
	}
	header := string(data[start : start+headerLen])
	body := data[start+headerLen:]
	m := npyDescr.FindStringSubmatch(header)
	if m == nil {
		return nil, nil, fmt.Errorf("header: no 'descr' field")
	}
	descr := m[1]
	var size int
	switch descr {
	case "<f4", "=f4", "|f4":
		size = 4
	case "<f8", "=f8", "|f8":
		size = 8
	default:
		return nil, nil, fmt.Errorf("field 'descr': expected little-endian float32 ('<f4') or float64 ('<f8'), got %q", descr)
	}
	if m := npyOrder.FindStringSubmatch(header); m == nil || m[1] != "False" {
		return nil, nil, fmt.Errorf("field 'fortran_order': expected False (C order)")
	}
	m = npyShape.FindStringSubmatch(header)
	if m == nil {
		return nil, nil, fmt.Errorf("header: no 'shape' field")
	}
	count := 1
	for _, part := range strings.Split(m[1], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := strconv.Atoi(part)
		if err != nil || d < 0 {
			return nil, nil, fmt.Errorf("field 'shape': bad dimension %q", part)
		}
		if d > 0 && count > maxNpyValues/d {
			return nil, nil, fmt.Errorf("field 'shape': %v holds more than %d values", m[1], maxNpyValues)
		}
		shape = append(shape, d)
		count *= d
	}
	if len(body) != count*size {
		return nil, nil, fmt.Errorf("data: shape %v needs %d bytes, file has %d", shape, count*size, len(body))
	}
	values = make([]float32, count)
	for i := range values {
		if size == 4 {
			values[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
			continue
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(body[8*i:]))
		values[i] = float32(v)
		if math.IsInf(float64(values[i]), 0) && !math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("data: %w", overflow("", unravel(i, shape), nil, v))
		}
	}
	return shape, values, nil
}

// ReadMovieNpy reads a [T, H, W] float32 (or float64) movie from a .npy file.
func ReadMovieNpy(path string) (Movie, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Movie{}, fmt.Errorf("stimulus %s: %w", path, err)
	}
	shape, values, err := ParseNpy(data)
	if err != nil {
		return Movie{}, fmt.Errorf("stimulus %s: %w", path, err)
	}
	if len(shape) != 3 || shape[0] == 0 || shape[1] == 0 || shape[2] == 0 {
		return Movie{}, fmt.Errorf("stimulus %s: field 'shape': expected [T,H,W] with all sizes > 0, got %v", path, shape)
	}
	if err := checkFlat("", values, shape, axesMovie, anyFinite); err != nil {
		return Movie{}, fmt.Errorf("stimulus %s: %w", path, err)
	}
	return Movie{T: shape[0], H: shape[1], W: shape[2], Data: values}, nil
}

// WriteNpy writes float32 values of the given shape as a version-1 .npy file.
func WriteNpy(w io.Writer, shape []int, values []float32) error {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", tuple)
	// Pad so the data starts on a 64-byte boundary, as NumPy does.
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	buf := bytes.NewBuffer(nil)
	buf.Write(npyMagic)
	buf.Write([]byte{1, 0})
	_ = binary.Write(buf, binary.LittleEndian, uint16(len(header)))
	buf.WriteString(header)
	_ = binary.Write(buf, binary.LittleEndian, values)
	_, err := w.Write(buf.Bytes())
	return err
}
