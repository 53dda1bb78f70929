package datasets

import (
	"errors"
	"slices"

	"github.com/deepretina/deepretina/internal/h5"
)

// Reading values from HDF5 files: every value read is checked against the rules of its dataset
// (finite; not negative for rates, counts and repeats; a float64 beyond float32's range is an
// error, not an infinity) and reported at its position in the file's layout, and, when the file's
// identity is being computed, goes to the hash of the data read (Source.SHA256).

// reader is an HDF5 file open for reading.
type reader struct {
	*h5.File
	hash *streamHash // nil: what is read is not hashed
}

func openReader(path string) (*reader, error) {
	f, err := h5.Open(path)
	if err != nil {
		return nil, err
	}
	return &reader{File: f}, nil
}

// dataset is a numeric dataset of a file being read, with the rules its values follow.
type dataset struct {
	*h5.Array
	r    *reader
	kind valueKind // which values are allowed (checked as they are read)
	axes []string  // names of the axes, for error messages
}

// openDataset opens the numeric dataset name; its values must be finite until kind says more.
func (r *reader) openDataset(name string) (*dataset, error) {
	a, err := r.OpenArray(name)
	if err != nil {
		return nil, err
	}
	return &dataset{Array: a, r: r}, nil
}

// readValues reads the hyperslab [start, start+count) of d into dst, row-major, converting to E
// and checking every value as it is read. When the file is being hashed, the values read go to
// the hash; dst must then stay unchanged until the hash is summed.
func readValues[E float32 | float64](d *dataset, dst []E, start, count []int) error {
	hash := d.r.hash
	n := 1
	for _, c := range count {
		n *= c
	}
	if hash != nil && n > 0 && len(count) == len(d.Dims) && len(start) == len(count) && len(dst) == n {
		hash.header(d.Name, append(slices.Clone(start), count...)...)
	}
	// at is the position in the file of value i of this read.
	at := func(i int) []int {
		idx := unravel(i, count)
		for k := range idx {
			idx[k] += start[k]
		}
		return idx
	}
	err := h5.Read(d.Array, dst, start, count, func(first int, part []E) error {
		if hash != nil { // the values as read (converted ones after conversion: no copy of the buffer)
			hash.write(asBytes(part))
		}
		if i := firstBad(part, d.kind); i >= 0 {
			v := float64(part[i])
			return badValue(d.Name, at(first+i), d.axes, v, d.kind.problem(v))
		}
		return nil
	})
	if of := (*h5.OverflowError)(nil); errors.As(err, &of) {
		return overflow(d.Name, at(of.Index), d.axes, of.Value)
	}
	return err
}
