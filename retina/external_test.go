package retina

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// scratchProgram is what a user's Go program does with the package, in the calls the package
// documentation shows: simulate a retina, train with a live callback, load, predict and read
// hidden units, and build an untrained control.
const scratchProgram = `package main

import (
	"context"
	"fmt"
	"os"

	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/runconfig"
)

func main() {
	cfg := runconfig.SmallConfig()
	cfg.ImgShape, cfg.Chans, cfg.NEpochs, cfg.MaxTrainWindows = []int{10, 20, 20}, []int{4, 4}, 1, 512
	rec, err := retina.LoadData(cfg, nil)
	check(err)
	dir, err := os.MkdirTemp("", "scratch-run")
	check(err)
	defer os.RemoveAll(dir)
	steps, epochs := 0, 0
	_, err = retina.Train(context.Background(), cfg, dir, retina.TrainOptions{
		Data:    rec,
		OnStep:  func(s retina.StepInfo) { steps++ },
		OnEpoch: func(e retina.EpochRecord) { epochs++ },
	})
	check(err)
	fmt.Println("callbacks:", steps, "steps,", epochs, "epoch")
	model, err := retina.LoadModel(dir, retina.LoadOptions{Log: os.Stderr})
	check(err)
	rates, err := model.Predict(rec.Test.Stimulus)
	check(err)
	fmt.Println("rates:", rates.Rows, rates.Cols)
	acts, err := model.Hidden(rec.Test.Stimulus, retina.HiddenOptions{PreNonlinearity: true})
	check(err)
	for _, a := range acts {
		fmt.Println("layer:", a.Layer, a.Shape[1:])
	}
	control, err := retina.NewModel(model.Meta.Model, model.Meta.NormStats, 7, retina.LoadOptions{})
	check(err)
	fmt.Println("control layers:", len(control.Layers()))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

// TestScratchModuleUsesThePublicAPI builds a program in a module of its own that requires this
// one (as a notebook or a lab's script would) and runs it: the public API is enough to
// simulate, train with a callback, load, predict and read hidden units.
func TestScratchModuleUsesThePublicAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: builds a scratch module against the public API; runs in the full tier, scripts/test.sh")
	}
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(file))
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	gomod := "module scratch\n\ngo 1.26\n\nrequire github.com/deepretina/deepretina v0.0.0-00010101000000-000000000000\n\n" +
		"replace github.com/deepretina/deepretina => " + repo + "\n"
	for name, body := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": []byte(scratchProgram)} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gocmd := func(args ...string) string {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	gocmd("mod", "tidy")
	out := gocmd("run", ".")
	for _, want := range []string{"callbacks: 8 steps, 1 epoch", "rates: 990 8", "layer: conv1 [4 12 12]", "layer: conv2 [4 6 6]", "control layers: 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("the program's output lacks %q:\n%s", want, out)
		}
	}
}
