// Command stimoverlap checks that a full-field white-noise recording (simulate
// --checker-pixels ≥ the field's side) does not contain the flicker the phenomena battery
// tests contrast adaptation with: for each battery seed it draws the full-field sequences of
// contrast_adaptation (phenomena/exp_contrast.go: stimuli.WhiteNoise seeds 1000·seed+101 and
// +102) and fast_contrast_adaptation (+201) and prints the largest |correlation| of each with
// any stretch of the recording's training or test flicker (every alignment), beside the same
// for independent Gaussian sequences of the same lengths (the null: what chance alone gives).
// A shared random stream would give r = 1 at some alignment. Each battery sequence is the
// first --frames frames of its stream, which covers the 400–800 frames the experiments use.
//
// Usage: go run ./scripts/stimoverlap --file DATA/sim-small/whitenoise.h5
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/phenomena/stimuli"
)

func main() {
	file := flag.String("file", "", "white-noise recording of full-field flicker (HDF5)")
	frames := flag.Int("frames", 800, "frames of each battery sequence (8 s at 100 Hz, the experiment's segments)")
	flag.Parse()
	if err := mainErr(*file, *frames); err != nil {
		fmt.Fprintln(os.Stderr, "stimoverlap:", err)
		os.Exit(1)
	}
}

func mainErr(file string, n int) error {
	if file == "" {
		return fmt.Errorf("--file is required")
	}
	rec, err := datasets.LoadFile(file, datasets.WhiteNoise, nil)
	if err != nil {
		return err
	}
	var rec1 []float64
	for _, m := range []datasets.Movie{rec.Train.Stimulus, rec.Test.Stimulus} {
		for k := 0; k < m.T; k++ {
			f := m.Frame(k)
			for _, v := range f {
				if v != f[0] {
					return fmt.Errorf("%s: frame %d is not spatially uniform; expected full-field flicker", file, k)
				}
			}
			rec1 = append(rec1, float64(f[0]))
		}
	}
	// Full-field: one Gaussian draw per frame, whatever the field's size.
	rng := rand.New(rand.NewPCG(7, 7))
	for _, seed := range []uint64{1, 2} {
		for _, s := range []struct {
			name string
			off  uint64
		}{{"contrast_adaptation 0.7/0.2 segments", 101}, {"contrast_adaptation last 0.7 segment", 102}, {"fast_contrast_adaptation", 201}} {
			b := stimuli.WhiteNoise(1, 1, n, 1, 1, false, 1000*seed+s.off).Data
			null := make([]float64, n)
			for i := range null {
				null[i] = rng.NormFloat64()
			}
			fmt.Printf("battery seed %d, %-38s max |r| over %d alignments: %.3f   null (independent Gaussian): %.3f\n",
				seed, s.name, len(rec1)-n+1, maxAbsCorr(rec1, f64(b)), maxAbsCorr(rec1, null))
		}
	}
	return nil
}

func f64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// maxAbsCorr is the largest |Pearson r| of b with any len(b)-long stretch of a.
func maxAbsCorr(a, b []float64) float64 {
	n := len(b)
	var mb, sb float64
	for _, v := range b {
		mb += v
	}
	mb /= float64(n)
	for _, v := range b {
		sb += (v - mb) * (v - mb)
	}
	best := 0.0
	for o := 0; o+n <= len(a); o++ {
		var ma, sa, sab float64
		for _, v := range a[o : o+n] {
			ma += v
		}
		ma /= float64(n)
		for i, v := range a[o : o+n] {
			sa += (v - ma) * (v - ma)
			sab += (v - ma) * (b[i] - mb)
		}
		if r := math.Abs(sab / math.Sqrt(sa*sb)); r > best {
			best = r
		}
	}
	return best
}
