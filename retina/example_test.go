package retina_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// The user's path: simulate the small retina in memory, train a tiny model with live
// callbacks, load it back, predict, read its hidden units, and build an untrained control.
func Example() {
	cfg := runconfig.SmallConfig()   // BNCNN on the simulated "small" retina (20×20 pixels, 8 cells)
	cfg.Chans = []int{4, 4}          // a tiny model…
	cfg.ImgShape = []int{10, 20, 20} // …reading 10 frames (100 ms) of history
	cfg.NEpochs = 1
	cfg.MaxTrainWindows = 1024 // 16 steps of batch_size 64
	cfg.StimType = datasets.WhiteNoise
	rec, err := retina.LoadData(cfg, nil) // simulated in memory: no files needed
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("data: %s/%s, %d cells, %d training and %d test frames of %d×%d\n",
		rec.Expt, rec.Stim, rec.NCells(), rec.Train.Len(), rec.Test.Len(), rec.Train.Stimulus.H, rec.Train.Stimulus.W)

	tmp, err := os.MkdirTemp("", "deepretina-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	runDir := filepath.Join(tmp, cfg.ExpName)
	steps, epochs := 0, 0
	meta, err := retina.Train(context.Background(), cfg, runDir, retina.TrainOptions{
		Data:    rec,
		OnStep:  func(s retina.StepInfo) { steps++ },     // e.g. draw s.MeanLoss on a live chart
		OnEpoch: func(e retina.EpochRecord) { epochs++ }, // e.g. print e.ValCorr
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("trained: %d steps in %d epoch (%s)\n", steps, epochs, meta.Stopped)

	model, err := retina.LoadModel(runDir, retina.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	rates, err := model.Predict(rec.Test.Stimulus) // [T−history, cells] in Hz
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("prediction: [%d, %d]\n", rates.Rows, rates.Cols)
	acts, err := model.Hidden(rec.Test.Stimulus, retina.HiddenOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range acts {
		fmt.Printf("hidden %s: [T C H W] = %v\n", a.Layer, a.Shape)
	}

	// The same architecture untrained, for controls.
	control, err := retina.NewModel(model.Meta.Model, model.Meta.NormStats, 1, retina.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range control.Layers() {
		fmt.Printf("control layer %s: [C H W] = %v\n", l.Name, l.Shape)
	}
	// Output:
	// data: sim-small/whitenoise, 8 cells, 24000 training and 1000 test frames of 20×20
	// trained: 16 steps in 1 epoch (completed)
	// prediction: [990, 8]
	// hidden conv1: [T C H W] = [990 4 12 12]
	// hidden conv2: [T C H W] = [990 4 6 6]
	// control layer conv1: [C H W] = [4 12 12]
	// control layer conv2: [C H W] = [4 6 6]
}

// An untrained model of any architecture, in memory: the control that tells what an analysis
// owes to training. Its hidden units can be read before or after their nonlinearity.
func ExampleNewModel() {
	cfg := runconfig.SmallConfig()
	cfg.Chans = []int{4, 4}
	mcfg := cfg.ModelConfig(8) // 8 ganglion cells
	model, err := retina.NewModel(mcfg, datasets.NormStats{Mean: 0, Std: 1}, 1, retina.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	stim := datasets.NewMovie(50, 20, 20) // [T, H, W]; a grey movie is enough for shapes
	acts, err := model.Hidden(stim, retina.HiddenOptions{Layers: []string{"conv2"}, PreNonlinearity: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s before its ReLU: %v\n", acts[0].Layer, acts[0].Shape) // [T−history, C, H, W]
	rates, err := model.Predict(stim)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("rates: [%d, %d]\n", rates.Rows, rates.Cols)
	// Output:
	// conv2 before its ReLU: [10 4 6 6]
	// rates: [10, 8]
}

// A model's layers and size follow from its config alone.
func ExampleModelConfig() {
	mcfg := runconfig.SmallConfig().ModelConfig(8)
	fmt.Println(mcfg.Type, mcfg.ImgShape, mcfg.Chans, mcfg.KSizes)
	shapes := mcfg.LayerShapes()
	fmt.Println("conv1", shapes["conv1"], "conv2", shapes["conv2"])
	// conv1 8·40·9·9+8, its flat batch norm 2·8·12·12, conv2 8·8·7·7+8, its batch norm 2·8·6·6,
	// the dense layer 8·6·6·8 and the output batch norm 2·8:
	fmt.Println("parameters:", mcfg.ParamCount())
	// Output:
	// bncnn [40 20 20] [8 8] [9 7]
	// conv1 [8 12 12] conv2 [8 6 6]
	// parameters: 34272
}
