package analysis_test

import (
	"fmt"
	"log"
	"math"
	"math/rand/v2"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// smallRecording is a recording of 2 cells on a 12×12 white-noise stimulus whose test segment
// was shown 4 times with the same response each time (a perfectly reliable retina).
func smallRecording() *datasets.Recording {
	rng := rand.New(rand.NewPCG(1, 2))
	split := func(t int, repeats int) datasets.Split {
		sp := datasets.Split{Stimulus: datasets.NewMovie(t, 12, 12), Rates: datasets.NewMatrix(t, 2)}
		for i := range sp.Stimulus.Data {
			sp.Stimulus.Data[i] = float32(rng.NormFloat64())
		}
		for i := range sp.Rates.Data {
			sp.Rates.Data[i] = float32(10 + 5*math.Sin(float64(i)/7))
		}
		if repeats > 0 {
			sp.Repeats = make([][][]float32, 2)
			for c := range sp.Repeats {
				for range repeats {
					sp.Repeats[c] = append(sp.Repeats[c], sp.Rates.Column(c))
				}
			}
		}
		return sp
	}
	return &datasets.Recording{Expt: "demo", Stim: datasets.WhiteNoise, CellIDs: []int{0, 1},
		FrameRate: 100, Train: split(500, 0), Test: split(60, 4)}
}

// Score a model on a recording's test set next to the classical LN baseline and the retina's
// own reliability. Here the model is an untrained control; a trained one comes from
// retina.LoadModel(runDir, …) and is scored the same way.
func ExampleEvaluate() {
	rec := smallRecording()
	cfg := runconfig.SmallConfig()
	cfg.ImgShape, cfg.KSizes, cfg.Chans = []int{10, 12, 12}, []int{5, 3}, []int{4, 4}
	model, err := retina.NewModel(cfg.ModelConfig(rec.NCells()), datasets.ComputeNormStats(rec.Train.Stimulus), 1, retina.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}

	w, err := model.Windows(rec.Train.Stimulus, rec.Train.Rates) // the model's history and normalisation
	if err != nil {
		log.Fatal(err)
	}
	ln, err := analysis.FitClassicalLN(w, nil, 20000)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("classical LN: %d cells, filters of %d×%d×%d\n", len(ln.Filters), ln.History, ln.H, ln.W)

	ev, err := analysis.Evaluate(model, ln, "classical LN", rec)
	if err != nil {
		log.Fatal(err) // e.g. a model of other cells or another frame size
	}
	fmt.Printf("cells %v: %d model and %d LN correlations\n", ev.Cells, len(ev.CNNPearson), len(ev.LNPearson))
	fmt.Printf("reliability ceiling %.3f; bits per spike %v (the recording has no spike counts)\n", ev.CeilingMean, ev.BitsPerSpike)
	// ev.WriteTable(os.Stdout) prints every score as a table; json.Marshal(ev) writes eval.json.

	rec.CellIDs = []int{4, 7}
	_, err = analysis.Evaluate(model, nil, "", rec)
	fmt.Println(err)
	// Output:
	// classical LN: 2 cells, filters of 10×12×12
	// cells [0 1]: 2 model and 2 LN correlations
	// reliability ceiling 1.000; bits per spike [NaN NaN] (the recording has no spike counts)
	// the model in memory predicts cells [0 1], the recording demo/whitenoise holds cells [4 7]
}

// The ceiling of a cell whose 10 trials are a rate plus independent noise four times its
// variance: a perfect model reaches r = √(1 / (1 + 4/10)) ≈ 0.845 against the trial mean,
// while the split-half r the papers print is the reliability of a 5-trial mean, 1/(1 + 4/5).
func ExampleSplitHalfCeiling() {
	rng := rand.New(rand.NewPCG(3, 4))
	rate := make([]float64, 20000)
	for i := range rate {
		rate[i] = rng.NormFloat64()
	}
	trials := make([][]float32, 10)
	for k := range trials {
		for _, v := range rate {
			trials[k] = append(trials[k], float32(v+2*rng.NormFloat64()))
		}
	}
	fmt.Printf("ceiling %.3f, noise-corrected %.3f (closed form %.3f)\n", analysis.SplitHalfCeiling(trials), analysis.NoiseCorrectedCeiling(trials), math.Sqrt(1/(1+4.0/10)))
	// Output:
	// ceiling 0.846, noise-corrected 0.844 (closed form 0.845)
}
