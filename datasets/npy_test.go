package datasets

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNpyRoundTripAndNumpy(t *testing.T) {
	if testing.Short() {
		t.Skip("needs /usr/bin/python3 with numpy; runs in the full tier, scripts/test.sh")
	}
	var buf bytes.Buffer
	vals := []float32{1, -2.5, 3, 4, 5, 6}
	if err := WriteNpy(&buf, []int{1, 2, 3}, vals); err != nil {
		t.Fatal(err)
	}
	shape, got, err := ParseNpy(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shape, []int{1, 2, 3}) || !slices.Equal(got, vals) {
		t.Fatalf("round trip: shape %v values %v", shape, got)
	}
	// NumPy must read what we write, and we must read what NumPy writes (float64 included).
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.npy")
	theirs := filepath.Join(dir, "theirs.npy")
	if err := os.WriteFile(ours, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `import numpy as np, sys
a = np.load(sys.argv[1]); assert a.shape == (1, 2, 3) and a.dtype == np.float32 and a[0, 0, 1] == -2.5, (a.shape, a.dtype)
np.save(sys.argv[2], np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 4)`
	out, err := exec.Command("/usr/bin/python3", "-c", script, ours, theirs).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy cross-check failed (needs Debian python3-numpy): %v\n%s", err, out)
	}
	m, err := ReadMovieNpy(theirs)
	if err != nil {
		t.Fatal(err)
	}
	if m.T != 2 || m.H != 3 || m.W != 4 || m.Data[5] != 1.25 {
		t.Fatalf("numpy file read as %dx%dx%d, value[5]=%v", m.T, m.H, m.W, m.Data[5])
	}
}

func TestNpyRejectsMalformed(t *testing.T) {
	var good bytes.Buffer
	_ = WriteNpy(&good, []int{2, 2, 2}, make([]float32, 8))
	g := good.Bytes()
	replace := func(old, new string) []byte { return []byte(strings.Replace(string(g), old, new, 1)) }
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"empty", "not a .npy", nil},
		{"text", "not a .npy", []byte("hello world, not numpy")},
		{"truncated data", "needs 32 bytes", g[:len(g)-3]},
		{"int dtype", "descr", replace("<f4", "<i4")},
		{"big endian", "descr", replace("<f4", ">f4")},
		{"fortran", "fortran_order", replace("False", "True ")},
		{"negative dim", "shape", replace("(2, 2, 2)", "(2, -2, 2)")},
		{"huge dims", "shape", replace("(2, 2, 2)", "(99999, 99999, 9999)")},
		{"header overrun", "header", append(append([]byte{}, g[:8]...), 0xff, 0xff)},
	}
	for _, c := range cases {
		_, _, err := ParseNpy(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	// A 2-D array is a valid .npy but not a movie; NaN is not a stimulus; a float64 beyond
	// float32's range is not silently made infinite. Positions are the file's [t, y, x].
	dir := t.TempDir()
	var flat, nan bytes.Buffer
	_ = WriteNpy(&flat, []int{4, 2}, make([]float32, 8))
	_ = WriteNpy(&nan, []int{2, 2, 2}, []float32{0, 0, 0, 0, 0, 0, float32(nanValue()), 0})
	f64 := npyFloat64([]int{1, 2, 2}, []float64{0, 0, 1e300, 0})
	for _, c := range []struct {
		name string
		data []byte
		want []string
	}{
		{"flat.npy", flat.Bytes(), []string{"expected [T,H,W]"}},
		{"nan.npy", nan.Bytes(), []string{"value at [1, 1, 0] is NaN"}},
		{"overflow.npy", f64, []string{"value at [0, 1, 0]", "1e+300", "overflows float32"}},
	} {
		p := filepath.Join(dir, c.name)
		_ = os.WriteFile(p, c.data, 0o644)
		_, err := ReadMovieNpy(p)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want one naming the file", c.name, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

// npyFloat64 is a little-endian float64 .npy file.
func npyFloat64(shape []int, values []float64) []byte {
	var buf bytes.Buffer
	_ = WriteNpy(&buf, shape, make([]float32, len(values)))
	b := buf.Bytes()
	header := strings.Replace(string(b[:len(b)-4*len(values)]), "<f4", "<f8", 1)
	out := []byte(header)
	for _, v := range values {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
	}
	return out
}

func nanValue() float64 { z := 0.0; return z / z }

func FuzzParseNpy(f *testing.F) {
	var buf bytes.Buffer
	_ = WriteNpy(&buf, []int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	f.Add(buf.Bytes())
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'}"))
	f.Add([]byte("\x93NUMPY\x02\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		shape, values, err := ParseNpy(data)
		if err != nil {
			return
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		if n != len(values) {
			t.Fatalf("shape %v but %d values", shape, len(values))
		}
	})
}
