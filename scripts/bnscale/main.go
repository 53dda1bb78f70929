// Command bnscale prints, for a run trained on the natural-scene ("ns") and white-noise ("wn")
// recordings of one retina (scripts/recipes.sh's "mix" candidates), the mean and SD of every
// core channel's pre-ReLU activation (the batch norm's output) on each recording's own test
// stimulus, through that recording's normalisation and the core's running statistics, as
// evaluation computes them. In training each batch holds one recording and is normalised by its
// own statistics, so every channel then has mean β and SD |γ| on either recording: an SD ratio
// ns/wn far from 1 means that evaluation normalises the recordings differently from training
// (docs/validation.md, "Across model seeds").
//
//	go run ./scripts/bnscale RUN DATA
//
// RUN is the run folder (e.g. /tmp/recipe7-out/stacked-16x16-mix-s3/runs/stacked-16x16-mix-s3),
// DATA the folder holding naturalscene.h5 and whitenoise.h5 (e.g. …/data-base/sim-small).
package main

import (
	"fmt"
	"math"
	"os"

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
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/bnscale RUN DATA")
		os.Exit(2)
	}
	run, data := os.Args[1], os.Args[2]
	res := map[string][]retina.Activations{}
	for _, rec := range []string{"ns", "wn"} {
		file := map[string]string{"ns": "naturalscene.h5", "wn": "whitenoise.h5"}[rec]
		r, err := datasets.LoadFile(data+"/"+file, "", nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bnscale:", err)
			os.Exit(1)
		}
		m, err := retina.LoadModel(run, retina.LoadOptions{Recording: rec})
		if err != nil {
			fmt.Fprintln(os.Stderr, "bnscale:", err)
			os.Exit(1)
		}
		acts, err := m.Hidden(r.Test.Stimulus, retina.HiddenOptions{PreNonlinearity: true})
		if err != nil {
			fmt.Fprintln(os.Stderr, "bnscale:", err)
			os.Exit(1)
		}
		res[rec] = acts
	}
	for i := range res["ns"] {
		mn, sn := stats(res["ns"][i])
		mw, sw := stats(res["wn"][i])
		fmt.Printf("%s\n  ch  mean ns  mean wn   SD ns   SD wn  SD ns/wn\n", res["ns"][i].Layer)
		for c := range mn {
			fmt.Printf("  %2d  %7.3f  %7.3f  %6.3f  %6.3f  %6.2f\n", c, mn[c], mw[c], sn[c], sw[c], sn[c]/sw[c])
		}
	}
}
