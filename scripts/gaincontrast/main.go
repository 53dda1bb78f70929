// Command gaincontrast describes what the divisive gain-control stage (config key
// "gain_control", retina/nn/gaincontrol.go; docs/validation.md, "A divisive gain-control stage
// (session 10)") sees and learned: the distribution of its contrast signal s (the standard
// deviation of the z-scored stimulus over the frame and the last nn.GainControlFrames frames)
// over a recording's training windows, s on the contrast-adaptation experiment's full-field
// flicker at its two contrasts (phenomena/exp_contrast.go: 0.7 and 0.2), and, for each trained
// checkpoint given, each channel's learned strength k = softplus(a) and the gain ratio the stage
// alone gives between the two contrasts, (1 + k·s_low) / (1 + k·s_high), beside the 0.8 of the
// criterion's margin.
//
// Usage:
//
//	go run ./scripts/gaincontrast --data /tmp/gain10-out/data/sim-small/naturalscene.h5 \
//	    --checkpoints gain-s0=/tmp/gain10-out/gain-s0/runs/gain-control/checkpoints/epoch-0008
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/tensorconv"
	"github.com/deepretina/deepretina/phenomena/stimuli"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/nn"
)

func main() {
	data := flag.String("data", "", "recording (.h5) whose training stimulus the runs were trained on")
	ckpts := flag.String("checkpoints", "", "comma-separated NAME=CHECKPOINT_DIR of runs trained with gain_control")
	history := flag.Int("history", 40, "the models' history (frames): windows end at frame ≥ history")
	flag.Parse()
	if err := run(*data, *ckpts, *history); err != nil {
		fmt.Fprintln(os.Stderr, "gaincontrast:", err)
		os.Exit(1)
	}
}

// contrastOf is the stage's s for the window ending before frame end of m (z-scored by norm):
// the standard deviation over the frame and frames [end−k, end), plus 1e-6 under the root.
func contrastOf(m datasets.Movie, norm datasets.NormStats, end, k int) float64 {
	var sum, sum2 float64
	n := float64(k * m.H * m.W)
	for t := end - k; t < end; t++ {
		for _, v := range m.Frame(t) {
			z := (float64(v) - norm.Mean) / norm.Std
			sum += z
			sum2 += z * z
		}
	}
	mean := sum / n
	return math.Sqrt(max(sum2/n-mean*mean, 0) + 1e-6)
}

func percentiles(xs []float64, ps ...float64) []float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = s[int(p/100*float64(len(s)-1))]
	}
	return out
}

func run(data, ckpts string, history int) error {
	if data == "" {
		return fmt.Errorf("--data is required")
	}
	rec, err := datasets.LoadFile(data, "", nil)
	if err != nil {
		return err
	}
	stim := rec.Train.Stimulus
	norm := datasets.ComputeNormStats(stim)
	k := min(nn.GainControlFrames, history)
	var s []float64
	for end := history; end < stim.T; end++ {
		s = append(s, contrastOf(stim, norm, end, k))
	}
	ps := []float64{5, 25, 50, 75, 95}
	q := percentiles(s, ps...)
	fmt.Printf("training windows of %s (%d, z-scored by mean %.4g std %.4g): s percentiles 5/25/50/75/95: %.3f %.3f %.3f %.3f %.3f\n",
		data, len(s), norm.Mean, norm.Std, q[0], q[1], q[2], q[3], q[4])
	level := map[float64]float64{}
	for _, c := range []float64{0.7, 0.2} {
		fl := stimuli.WhiteNoise(stim.H, stim.W, 800, c, max(stim.H, stim.W), false, 1101)
		var cs []float64
		for end := history; end < fl.T; end++ {
			cs = append(cs, contrastOf(fl, norm, end, k))
		}
		q := percentiles(cs, ps...)
		level[c] = q[2]
		fmt.Printf("contrast-adaptation flicker at contrast %.1f: s percentiles 5/25/50/75/95: %.3f %.3f %.3f %.3f %.3f\n", c, q[0], q[1], q[2], q[3], q[4])
	}
	if ckpts == "" {
		return nil
	}
	for _, item := range strings.Split(ckpts, ",") {
		name, dir, ok := strings.Cut(item, "=")
		if !ok {
			return fmt.Errorf("--checkpoints: %q is not NAME=DIR", item)
		}
		vars, err := retina.CheckpointVariables(dir)
		if err != nil {
			return err
		}
		t, ok := vars["/"+retina.ModelScope+"/gain1/a"]
		if !ok {
			return fmt.Errorf("--checkpoints %s: %s holds no /%s/gain1/a: not trained with gain_control", name, dir, retina.ModelScope)
		}
		a, err := tensorconv.Float64s(t)
		if err != nil {
			return fmt.Errorf("%s gain1/a: %w", name, err)
		}
		var ks, ratios []string
		for _, v := range a {
			kc := math.Log1p(math.Exp(v))
			ks = append(ks, fmt.Sprintf("%.3f", kc))
			ratios = append(ratios, fmt.Sprintf("%.3f", (1+kc*level[0.2])/(1+kc*level[0.7])))
		}
		fmt.Printf("%s: k = softplus(a) per channel: %s\n%s: the stage's own gain ratio at the flicker's median s (high/low): %s\n",
			name, strings.Join(ks, " "), name, strings.Join(ratios, " "))
	}
	return nil
}
