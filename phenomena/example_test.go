package phenomena_test

import (
	"fmt"
	"log"
	"slices"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/phenomena"
	"github.com/deepretina/deepretina/phenomena/stimuli"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// Run one experiment of the battery on a model and on the simulated retina as its ground truth,
// side by side. The model here is an untrained control of the small retina's BNCNN; a trained
// one comes from retina.LoadModel(runDir, …), its truth from phenomena.TruthForRun(model.Meta, "").
func ExampleCompare() {
	cfg := runconfig.SmallConfig()
	cfg.Chans = []int{4, 4}
	control, err := retina.NewModel(cfg.ModelConfig(8), datasets.NormStats{Mean: 0, Std: 1}, 1, retina.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	truth, err := phenomena.NewSimResponder("small", 1, cfg.ImgShape[0], nil) // read out like the model
	if err != nil {
		log.Fatal(err)
	}

	exp := phenomena.StepResponseExperiment()
	res, err := phenomena.Compare(exp, phenomena.ModelResponder{Model: control}, truth)
	if err != nil {
		log.Fatal(err)
	}
	names := make([]string, 0, len(res.Truth))
	for name := range res.Truth {
		names = append(names, name)
	}
	slices.Sort(names)
	fmt.Println(res.Name, "measures", names)
	fmt.Println("role:", res.Role, "criterion:", res.Criterion)
	fmt.Println("the truth reproduces it:", *res.TruthReproduced)
	fmt.Println("the model measured alike:", len(res.Model) == len(res.Truth)) // its values: res.Model["onset_peak_hz"], …
	rep := phenomena.Report("Retinal phenomena", "an untrained control", []*phenomena.Result{res})
	fmt.Println("report figures:", rep.Figures()) // rep.WriteFile("out/report.html")
	// Output:
	// step_response measures [n_cells offset_peak_hz onset_latency_ms onset_peak_hz transience]
	// role: sanity criterion: sanity check: onset_peak_hz ≥ 2 and transience ≥ 0.3 (a transient response to the step)
	// the truth reproduces it: true
	// the model measured alike: true
	// report figures: 1
}

// The stimulus builders work in z-scored units (0 = mean grey) at the responder's frame rate.
func ExampleStep() {
	stim := stimuli.Step(20, 20, 50, 100, 50, -1) // grey 0.5 s, −1 for 1 s, grey 0.5 s at 100 Hz
	fmt.Printf("[%d, %d, %d]: frame 49 at %v, frame 50 at %v, frame 150 at %v\n",
		stim.T, stim.H, stim.W, stim.Frame(49)[0], stim.Frame(50)[0], stim.Frame(150)[0])
	// Output:
	// [200, 20, 20]: frame 49 at 0, frame 50 at -1, frame 150 at 0
}
