// Command bnscale prints, for a run of several recordings (one core, a readout each), the mean
// and SD of every core channel's pre-ReLU activation (the batch norm's output) on two
// recordings' own stimuli, each through its recording's normalisation and the running
// statistics evaluation uses (the recording's own, or, in a run written before session 8 or
// with core_bn_stats "shared", the core's shared ones). In training each batch holds one
// recording and is normalised by its own statistics, so every channel then has mean β and SD
// |γ| on either recording: an SD ratio far from 1 means that evaluation normalises the
// recordings differently from training (docs/multirecording.md; docs/validation.md, "Across
// model seeds").
//
//	go run ./scripts/bnscale [-stimulus test|train] RUN NAME=FILE NAME=FILE
//
// RUN is the run folder, NAME a recording of it and FILE that recording's .h5 file, e.g. for
// scripts/recipes.sh's "mix" candidates (natural scenes "ns" and white noise "wn" of one retina):
//
//	go run ./scripts/bnscale /tmp/recipe7-out/stacked-16x16-mix-s3/runs/stacked-16x16-mix-s3 \
//	    ns=/tmp/recipe7-out/data-base/sim-small/naturalscene.h5 \
//	    wn=/tmp/recipe7-out/data-base/sim-small/whitenoise.h5
//
// -stimulus train reads the recordings' training stimuli instead of their test stimuli: the
// distribution the running statistics estimate. A short natural-scene test segment holds few
// images, and its variance is below the training stimulus', so on it a ratio of 1 is not
// expected even where evaluation matches training.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina"
)

func stats(a retina.Activations) (m, s []float64) {
	T, C, H, W := a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3]
	m, s = make([]float64, C), make([]float64, C)
	for c := 0; c < C; c++ {
		var sum, sq float64
		n := 0
		for t := 0; t < T; t++ {
			for y := 0; y < H; y++ {
				for x := 0; x < W; x++ {
					v := float64(a.At(t, c, y, x))
					sum += v
					sq += v * v
					n++
				}
			}
		}
		mu := sum / float64(n)
		m[c], s[c] = mu, math.Sqrt(sq/float64(n)-mu*mu)
	}
	return
}

func main() {
	stimulus := flag.String("stimulus", "test", "the recordings' stimulus to read: test or train")
	flag.Parse()
	if flag.NArg() != 3 || (*stimulus != "test" && *stimulus != "train") {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/bnscale [-stimulus test|train] RUN NAME=FILE NAME=FILE")
		os.Exit(2)
	}
	run := flag.Arg(0)
	var names []string
	files := map[string]string{}
	for _, a := range flag.Args()[1:] {
		name, file, ok := strings.Cut(a, "=")
		if !ok || name == "" || file == "" {
			fmt.Fprintf(os.Stderr, "bnscale: %q: expected NAME=FILE (a recording of the run and its .h5 file)\n", a)
			os.Exit(2)
		}
		names = append(names, name)
		files[name] = file
	}
	res := map[string][]retina.Activations{}
	for _, rec := range names {
		r, err := datasets.LoadFile(files[rec], "", nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bnscale:", err)
			os.Exit(1)
		}
		m, err := retina.LoadModel(run, retina.LoadOptions{Recording: rec})
		if err != nil {
			fmt.Fprintln(os.Stderr, "bnscale:", err)
			os.Exit(1)
		}
		stim := r.Test.Stimulus
		if *stimulus == "train" {
			stim = r.Train.Stimulus
		}
		acts, err := m.Hidden(stim, retina.HiddenOptions{PreNonlinearity: true})
		if err != nil {
			fmt.Fprintln(os.Stderr, "bnscale:", err)
			os.Exit(1)
		}
		res[rec] = acts
	}
	a, b := names[0], names[1]
	for i := range res[a] {
		mn, sn := stats(res[a][i])
		mw, sw := stats(res[b][i])
		fmt.Printf("%s\n  ch  mean %s  mean %s   SD %s   SD %s  SD %s/%s\n", res[a][i].Layer, a, b, a, b, a, b)
		for c := range mn {
			fmt.Printf("  %2d  %7.3f  %7.3f  %6.3f  %6.3f  %6.2f\n", c, mn[c], mw[c], sn[c], sw[c], sn[c]/sw[c])
		}
	}
}
