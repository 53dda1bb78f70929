package simretina_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
)

// Simulate recordings and interneurons from a preset, then run a stimulus of one's own through
// the same circuit.
func Example() {
	cfg, err := simretina.Preset("small") // or "paper" for the published 50×50 layout
	if err != nil {
		log.Fatal(err)
	}
	cfg.TrainSeconds, cfg.TestSeconds = 20, 5 // shorter than the preset, for the example
	sim, err := simretina.Simulate(cfg, []string{datasets.WhiteNoise, datasets.NaturalScene}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("cells:", sim.Retina.CellTypes())
	for _, stim := range []string{datasets.WhiteNoise, datasets.NaturalScene} {
		rec := sim.Recordings[stim]
		fmt.Printf("%s/%s: train %d frames, test %d frames × %d repeats, %d cells\n",
			rec.Expt, rec.Stim, rec.Train.Len(), rec.Test.Len(), len(rec.Test.Repeats[0]), rec.NCells())
	}
	for _, set := range sim.Interneurons {
		fmt.Printf("%s: %d cells, groups %s and %s\n", set.CellType, set.Groups[0].Potentials.Cols, set.Groups[0].Name, set.Groups[1].Name)
	}

	// Any stimulus [T, H, W] in z-scored units runs through the circuit.
	flash := datasets.NewMovie(100, cfg.H, cfg.W) // grey for 0.5 s, then +1 SD for 0.5 s
	on := flash.Slice(50, 100).Data               // a view: writing it writes the movie
	for i := range on {
		on[i] = 1
	}
	resp, err := sim.Retina.Run(flash, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("rates [%d, %d], spikes [%d, %d], bipolars [%d, %d], amacrines [%d, %d]\n",
		resp.Rates.Rows, resp.Rates.Cols, resp.Spikes.Rows, resp.Spikes.Cols,
		resp.Bipolar.Rows, resp.Bipolar.Cols, resp.Amacrine.Rows, resp.Amacrine.Cols)
	_, err = sim.Retina.Run(datasets.NewMovie(10, 5, 5), nil)
	fmt.Println(err)
	// Output:
	// cells: [OFF-fast ON-fast OFF-slow OFF-OMS ON-slow OFF-fast ON-fast OFF-slow]
	// sim-small/whitenoise: train 2000 frames, test 500 frames × 10 repeats, 8 cells
	// sim-small/naturalscene: train 2000 frames, test 500 frames × 10 repeats, 8 cells
	// bipolars: 16 cells, groups whitenoise and flashes
	// amacrines: 12 cells, groups whitenoise and flashes
	// rates [100, 8], spikes [100, 8], bipolars [100, 676], amacrines [100, 123]
	// simulated retina: stimulus frames are 5x5, the retina expects 20x20
}

// The presets and the circuit they share.
func ExamplePreset() {
	for _, name := range simretina.PresetNames() {
		cfg, err := simretina.Preset(name)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s, %d×%d px, %d cells, %g s training, %g s test × %d\n",
			name, cfg.Name, cfg.H, cfg.W, cfg.NCells, cfg.TrainSeconds, cfg.TestSeconds, cfg.Repeats)
	}
	c := simretina.DefaultCircuit()
	fmt.Printf("bipolar subunits every %g px (σ %g px), amacrines every %g px (σ %g px)\n",
		c.SubunitSpacing, c.SubunitSigma, c.AmacrineSpacing, c.AmacrineSigma)
	// Output:
	// small: sim-small, 20×20 px, 8 cells, 240 s training, 10 s test × 10
	// paper: sim-paper, 50×50 px, 10 cells, 3600 s training, 60 s test × 5
	// bipolar subunits every 1.5 px (σ 0.7 px), amacrines every 4 px (σ 3 px)
}
