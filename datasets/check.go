package datasets

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Value checks shared by the readers and Validate. Every bad value is reported with the name of
// the dataset it belongs to and its position in the file's own layout (stimulus [t, y, x],
// responses (n_cells, T), repeats (n_repeats, T)), so a user can find it with h5py or NumPy.

// Axis names of the layouts, for the reading of a position in words.
var (
	axesMovie     = []string{"frame", "row", "column"}
	axesResponses = []string{"cell", "frame"}
	axesRepeats   = []string{"repeat", "frame"}
)

// valueKind says which values a dataset may hold.
type valueKind int

const (
	anyFinite   valueKind = iota // stimuli, membrane potentials, time
	nonNegative                  // firing rates and spike counts
)

// problem describes what is wrong with v for a dataset of this kind, or "" if nothing is.
func (k valueKind) problem(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "; expected finite numbers"
	case k == nonNegative && v < 0:
		return "; firing rates and spike counts cannot be negative"
	}
	return ""
}

// firstBad returns the index of the first value of xs that kind does not allow, or -1. It is
// the hot loop of reading (every value of a recording passes through it), hence bit tests.
func firstBad[E float32 | float64](xs []E, kind valueKind) int {
	switch v := any(xs).(type) {
	case []float32:
		for i, x := range v {
			if math.Float32bits(x)&0x7f800000 == 0x7f800000 || (kind == nonNegative && x < 0) {
				return i
			}
		}
	case []float64:
		for i, x := range v {
			if math.Float64bits(x)&0x7ff0000000000000 == 0x7ff0000000000000 || (kind == nonNegative && x < 0) {
				return i
			}
		}
	}
	return -1
}

// badValue is the error for value v at position idx of dataset name ("" for a file that is one
// array, such as a .npy file).
func badValue(name string, idx []int, axes []string, v float64, problem string) error {
	msg := fmt.Sprintf("value at %s is %v%s%s", formatIndex(idx), v, describeIndex(idx, axes), problem)
	if name == "" {
		return errors.New(msg)
	}
	return fmt.Errorf("dataset %q: %s", name, msg)
}

// overflow is the error for a finite value that float32 cannot hold.
func overflow(name string, idx []int, axes []string, v float64) error {
	return badValue(name, idx, axes, v, ", which overflows float32 (largest magnitude 3.4e+38)")
}

func formatIndex(idx []int) string {
	s := make([]string, len(idx))
	for i, x := range idx {
		s[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// describeIndex reads a position in words: " (repeat 1, frame 3)".
func describeIndex(idx []int, axes []string) string {
	if len(axes) != len(idx) {
		return ""
	}
	s := make([]string, len(idx))
	for i, x := range idx {
		s[i] = fmt.Sprintf("%s %d", axes[i], x)
	}
	return " (" + strings.Join(s, ", ") + ")"
}

// unravel turns a flat row-major index into a position in an array of the given shape.
func unravel(flat int, shape []int) []int {
	idx := make([]int, len(shape))
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] > 0 {
			idx[i] = flat % shape[i]
			flat /= shape[i]
		}
	}
	return idx
}

// checkMovie checks a stimulus [T, H, W]: finite, and not constant (a constant stimulus carries
// no signal, and its standard deviation of 0 cannot normalise it).
func checkMovie(name string, m Movie) error {
	if len(m.Data) == 0 {
		return nil
	}
	lo, hi := m.Data[0], m.Data[0]
	for i, v := range m.Data {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 { // NaN or ±Inf
			return badValue(name, unravel(i, []int{m.T, m.H, m.W}), axesMovie, float64(v), anyFinite.problem(float64(v)))
		}
		if v < lo {
			lo = v
		} else if v > hi {
			hi = v
		}
	}
	if lo == hi {
		return fmt.Errorf("dataset %q: every value is %v: a constant stimulus carries no signal to model (its standard deviation is 0)", name, lo)
	}
	return nil
}

// checkResponses checks a [T, N] matrix held in memory against the file layout (n_cells, T).
func checkResponses(name string, m Matrix, kind valueKind) error {
	if i := firstBad(m.Data, kind); i >= 0 {
		v := float64(m.Data[i])
		return badValue(name, []int{i % m.Cols, i / m.Cols}, axesResponses, v, kind.problem(v))
	}
	return nil
}

// checkTrial checks repeat r of a cell's repeats dataset.
func checkTrial(name string, r int, trial []float32) error {
	if t := firstBad(trial, nonNegative); t >= 0 {
		v := float64(trial[t])
		return badValue(name, []int{r, t}, axesRepeats, v, nonNegative.problem(v))
	}
	return nil
}

// checkFlat checks values of any layout, given its shape.
func checkFlat(name string, data []float32, shape []int, axes []string, kind valueKind) error {
	if i := firstBad(data, kind); i >= 0 {
		v := float64(data[i])
		return badValue(name, unravel(i, shape), axes, v, kind.problem(v))
	}
	return nil
}
