package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/deepretina/deepretina/cmd/deepretina/internal/outputs"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
	"github.com/deepretina/deepretina/internal/progress"
)

func simulateCmd() *cobra.Command {
	var out, preset, stim, images, name, targets, noise string
	var seed uint64
	var trainSeconds, contrastRange, imageSeconds, jitter float64
	var movingObjects, checkerPixels int
	cmd := &cobra.Command{
		Use:   "simulate --out DIR [--seed S] [--name EXPT]",
		Short: "Simulate the ground-truth retina and write it in the lab's HDF5 layout",
		Long: `Simulates the built-in retina (bipolar subunits with contrast adaptation, wide-field
amacrine inhibition, ON/OFF/ON-OFF ganglion cells with Poisson spiking) and writes
DIR/<expt>/{whitenoise,naturalscene}.h5 plus the interneuron files
DIR/<expt>/{bipolars,amacrines}_sim.h5 (stimuli + detrended_membrane_potential). <expt> is
the preset's name (sim-small, sim-paper), or --name: retinas of several seeds then sit side by
side in one data folder, as the lab's recordings do (deepretina simulate --seed 2 --name ret2).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			cfg, err := simretina.Preset(preset)
			if err != nil {
				return fmt.Errorf("--preset: %w", err)
			}
			if cmd.Flags().Changed("seed") {
				cfg.Seed = seed
			}
			if cmd.Flags().Changed("train-seconds") {
				// Only the training segment grows: the circuit, the test segment and the
				// interneuron recordings come from their own random streams, so a longer
				// recording keeps the same retina and the same test set.
				if !(trainSeconds > 0) || math.IsInf(trainSeconds, 0) {
					return fmt.Errorf("--train-seconds %v: expected a positive number of seconds", trainSeconds)
				}
				cfg.TrainSeconds = trainSeconds
			}
			if cmd.Flags().Changed("contrast-range") {
				// Each natural image gets its own contrast from a stream of its own: the images,
				// their paths, the retina and the white noise stay those of the same seed.
				if !(contrastRange >= 1) || math.IsInf(contrastRange, 0) {
					return fmt.Errorf("--contrast-range %v: expected a finite ratio ≥ 1 (1: every image at the preset's contrast)", contrastRange)
				}
				cfg.ContrastRange = contrastRange
			}
			if cmd.Flags().Changed("object-motion") {
				// The objects draw from streams of their own: the images, their paths and the
				// retina stay those of the same seed.
				if movingObjects < 0 || movingObjects > simretina.MaxMovingObjects {
					return fmt.Errorf("--object-motion %d: expected a number of objects per natural image from 0 (off) to %d", movingObjects, simretina.MaxMovingObjects)
				}
				cfg.MovingObjects = movingObjects
			}
			if cmd.Flags().Changed("image-seconds") {
				if !(imageSeconds > 0) || math.IsInf(imageSeconds, 0) {
					return fmt.Errorf("--image-seconds %v: expected a positive number of seconds", imageSeconds)
				}
				cfg.ImageSeconds = imageSeconds
			}
			if cmd.Flags().Changed("jitter") {
				if !(jitter >= 0) || math.IsInf(jitter, 0) {
					return fmt.Errorf("--jitter %v: expected a finite number of pixels ≥ 0", jitter)
				}
				cfg.JitterPixels = jitter
			}
			if cmd.Flags().Changed("checker-pixels") {
				// Only the white noise's checks change: the retina is calibrated on 1-px checks
				// whatever is recorded, and the natural scenes draw from streams of their own.
				if side := max(cfg.H, cfg.W); checkerPixels < 1 || checkerPixels > side {
					return fmt.Errorf("--checker-pixels %d: expected a check side from 1 to %d pixels (the %s preset's field is %d×%d; %d: full-field flicker)",
						checkerPixels, side, preset, cfg.H, cfg.W, side)
				}
				cfg.CheckerPixels = checkerPixels
			}
			switch noise {
			case noiseBinary:
				cfg.Binary = true
			case noiseGaussian:
				cfg.Binary = false
			default:
				return fmt.Errorf("--noise %q: expected %s (±contrast per check, the presets') or %s (Gaussian values of SD contrast)", noise, noiseBinary, noiseGaussian)
			}
			switch targets {
			case simretina.TargetsSpikes, simretina.TargetsRates:
				cfg.Targets = targets
			default:
				return fmt.Errorf("--targets %q: expected %s (smoothed Poisson spikes, as recorded) or %s (the circuit's noiseless rates, a diagnostic)",
					targets, simretina.TargetsSpikes, simretina.TargetsRates)
			}
			cfg.ImagesDir = images
			expt := cfg.Name
			if cmd.Flags().Changed("name") {
				if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
					return fmt.Errorf("--name %q: expected one folder name (no / or \\, not . or ..)", name)
				}
				expt = name
			}
			stims, err := stimList(stim)
			if err != nil {
				return err
			}
			if st, err := os.Stat(out); err == nil && !st.IsDir() {
				return fmt.Errorf("--out %s: is a file; expected a folder to write %s/ in", out, expt)
			}
			if err := outputs.CheckNotAmongRunFiles("--out", filepath.Join(out, expt, "x.h5"), outputs.KindHDF5); err != nil {
				return err
			}
			bar := progress.New(os.Stderr, fmt.Sprintf("simulating %s (seed %d)", cfg.Name, cfg.Seed), 1, 0)
			var sim *simretina.Simulation
			err = untilInterrupted(cmd.Context(), "simulate", func() (err error) {
				sim, err = simretina.Simulate(cfg, stims, func(done, total int) { bar.Set(done, total, "") })
				return err
			})
			bar.Finish()
			if errors.Is(err, simretina.ErrImages) {
				return fmt.Errorf("--images: %w", err)
			}
			if err != nil {
				return err
			}
			dir := filepath.Join(out, expt)
			for _, s := range stims {
				path := filepath.Join(dir, s+".h5")
				if err := checkInterrupted(cmd.Context(), "simulate"); err != nil {
					return err
				}
				if err := datasets.WriteFile(path, sim.Recordings[s]); err != nil {
					return err
				}
				fmt.Println("wrote", path)
			}
			for _, set := range sim.Interneurons {
				path := filepath.Join(dir, set.CellType+"_sim.h5")
				if err := datasets.WriteInterneuronFile(path, set); err != nil {
					return err
				}
				fmt.Println("wrote", path)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "output folder (required)")
	cmd.Flags().StringVar(&preset, "preset", "small", "simulation preset: small | paper")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed (the same seed gives the same data)")
	cmd.Flags().Float64Var(&trainSeconds, "train-seconds", 0, "seconds of non-repeated training stimulus (default: the preset's, 240 for small, 3600 for paper)")
	cmd.Flags().Float64Var(&contrastRange, "contrast-range", 1, "each natural image and each 10-s block of the white-noise recording at its own contrast, the preset's divided by up to this ratio (log-uniform; 1: all at the preset's), so the recordings hold contrast changes to adapt to")
	cmd.Flags().IntVar(&movingObjects, "object-motion", 0, "natural scenes: this many textured discs per image moving on random walks of their own over the jittering image (0: off), so that regions move differently from the background, the differential motion that drives object-motion-sensitive cells")
	cmd.Flags().Float64Var(&imageSeconds, "image-seconds", 1.5, "natural scenes: seconds each image is shown")
	cmd.Flags().Float64Var(&jitter, "jitter", 0.5, "natural scenes: SD in pixels of the view's random-walk step per frame (eye-movement-like jitter)")
	cmd.Flags().IntVar(&checkerPixels, "checker-pixels", 1, "white noise: side of one check in pixels, from 1 to the field's larger side (20 for small, 50 for paper), which gives spatially uniform full-field flicker")
	cmd.Flags().StringVar(&noise, "noise", noiseBinary, "white noise: binary (±contrast per check, the presets') | gaussian (Gaussian values of SD contrast)")
	cmd.Flags().StringVar(&stim, "stim", "both", "stimulus: whitenoise | naturalscene | both")
	cmd.Flags().StringVar(&name, "name", "", "the experiment folder to write under --out (default: the preset's name, sim-small or sim-paper)")
	cmd.Flags().StringVar(&targets, "targets", simretina.TargetsSpikes, "responses written: spikes (smoothed Poisson spikes, as recorded) | rates (the circuit's noiseless rates: a learnability diagnostic, not a recording)")
	cmd.Flags().StringVar(&images, "images", "", "folder of PNG/JPEG photographs for natural scenes (default: procedural dead-leaves images)")
	return cmd
}

// The values of simulate --noise.
const (
	noiseBinary   = "binary"
	noiseGaussian = "gaussian"
)

func stimList(s string) ([]string, error) {
	switch s {
	case "both":
		return []string{datasets.WhiteNoise, datasets.NaturalScene}, nil
	case datasets.WhiteNoise, datasets.NaturalScene:
		return []string{s}, nil
	}
	return nil, fmt.Errorf("--stim: %q is not whitenoise, naturalscene or both", s)
}
