package probe

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/datasets"
)

// plantedCell is a cell whose potential is a known linear filter of a stimulus (a Gaussian of
// SD sigma pixels at (cy, cx) in space, a fast biphasic kernel in time) plus independent noise of
// a given variance relative to the filter's output, optionally squared first (a cell no linear
// filter describes).
type plantedCell struct {
	sigma, cy, cx float64
	noise         float64 // noise variance / signal variance
	squared       bool
}

// plant returns the interneuron data of one cell driven by stim through windows of history
// frames, and the Pearson r a perfect linear read-out would reach on it.
func (c plantedCell) plant(stim datasets.Movie, history int, rng *rand.Rand) (InterneuronData, float64) {
	temporal := plantedKernel(history)
	spatial := make([]float64, stim.H*stim.W)
	for y := 0; y < stim.H; y++ {
		for x := 0; x < stim.W; x++ {
			if c.sigma > 0 {
				d2 := (float64(y)-c.cy)*(float64(y)-c.cy) + (float64(x)-c.cx)*(float64(x)-c.cx)
				spatial[y*stim.W+x] = math.Exp(-d2 / (2 * c.sigma * c.sigma))
			} else {
				spatial[y*stim.W+x] = 1
			}
		}
	}
	n := stim.T - history
	signal := make([]float64, n)
	for t := range signal {
		for j, a := range temporal {
			f := stim.Frame(t + j)
			for p, b := range spatial {
				signal[t] += a * b * float64(f[p])
			}
		}
		if c.squared {
			signal[t] *= signal[t]
		}
	}
	sd := math.Sqrt(sumSquares(analysis.Centred(signal)) / float64(n))
	pot := datasets.NewMatrix(n, 1)
	for t, s := range signal {
		pot.Data[t] = float32(s + rng.NormFloat64()*sd*math.Sqrt(c.noise))
	}
	return InterneuronData{Source: "planted", CellType: "bipolar", Group: "whitenoise", Stimulus: stim, Potentials: pot},
		math.Sqrt(1 / (1 + c.noise))
}

// plantedKernel is the planted cells' temporal filter, oldest first (the last entries are the
// shortest lags): a fast lobe and a slower one of the other sign.
func plantedKernel(history int) []float64 {
	temporal := make([]float64, history)
	for j := range temporal {
		lag := float64(history - j)
		temporal[j] = math.Exp(-lag/2)*lag - 0.3*math.Exp(-lag/4)*lag/2
	}
	return temporal
}

func binaryNoise(t, h, w int, rng *rand.Rand) datasets.Movie {
	m := datasets.NewMovie(t, h, w)
	for i := range m.Data {
		m.Data[i] = float32(2*rng.IntN(2) - 1)
	}
	return m
}

func TestFitCellLinearRecoversPlantedFilters(t *testing.T) {
	const history = 20
	rng := rand.New(rand.NewPCG(1, 2))
	noise := binaryNoise(1600+history, 16, 16, rng)
	// A wide receptive field spreads the signal over ~50 pixels: its filter needs more data.
	longNoise := binaryNoise(8000+history, 16, 16, rng)
	fullField := datasets.NewMovie(1600+history, 16, 16)
	for f := 0; f < fullField.T; f++ {
		v := float32(rng.NormFloat64())
		for p := range fullField.Frame(f) {
			fullField.Frame(f)[p] = v
		}
	}
	for _, tc := range []struct {
		name      string
		stim      datasets.Movie
		cell      plantedCell
		wantSigma float64 // NaN: not measurable
		linear    bool
	}{
		{"small receptive field", noise, plantedCell{sigma: 0.8, cy: 6, cx: 9, noise: 1.0 / 3}, 0.8, true},
		{"wide receptive field", longNoise, plantedCell{sigma: 2, cy: 8, cx: 7, noise: 1}, 2, true},
		{"squared filter output", noise, plantedCell{sigma: 1, cy: 8, cx: 8, noise: 0.1, squared: true}, math.NaN(), false},
		{"full-field stimulus", fullField, plantedCell{noise: 1.0 / 3}, math.NaN(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ideal := tc.cell.plant(tc.stim, history, rng)
			fit, err := FitCellLinear(d, 0, history)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("r %.3f (ideal %.3f), σ %.2f px, oldest quarter %.3f", fit.R, ideal, fit.SigmaPX, fit.OldestQuarter)
			if tc.linear {
				// The filter is estimated from half of the data: a little below the ideal.
				if fit.R > ideal+0.03 || fit.R < ideal-0.08 {
					t.Errorf("held-out r %.3f, want about %.3f", fit.R, ideal)
				}
				// The planted kernel's two largest values are 13% apart: noise may pick either.
				if want := history - peakIndex(plantedKernel(history)); fit.PeakLag < want-1 || fit.PeakLag > want+1 {
					t.Errorf("temporal filter peaks %d frames before the response, want %d ± 1", fit.PeakLag, want)
				}
				if fit.OldestQuarter > 0.05 {
					t.Errorf("%.3f of the temporal filter in the oldest quarter; the planted kernel has almost none there", fit.OldestQuarter)
				}
			} else if math.Abs(fit.R) > 0.15 {
				t.Errorf("held-out r %.3f for a cell no linear filter describes", fit.R)
			}
			switch {
			case tc.name == "full-field stimulus" && !math.IsNaN(fit.SigmaPX):
				t.Errorf("receptive-field size %.2f px measured on a spatially uniform stimulus", fit.SigmaPX)
			case !math.IsNaN(tc.wantSigma) && math.Abs(fit.SigmaPX-tc.wantSigma) > 0.25*tc.wantSigma:
				t.Errorf("receptive-field size %.2f px, want %.2f", fit.SigmaPX, tc.wantSigma)
			}
		})
	}
}

func TestFitCellLinearErrors(t *testing.T) {
	const history = 5
	rng := rand.New(rand.NewPCG(3, 4))
	good, _ := plantedCell{sigma: 1, cy: 3, cx: 3, noise: 1}.plant(binaryNoise(200+history, 8, 8, rng), history, rng)
	flat := good
	flat.Potentials = datasets.NewMatrix(good.Potentials.Rows, 1)
	short := good
	short.Stimulus = good.Stimulus.Slice(0, 10+history)
	short.Potentials = datasets.Matrix{Rows: 10, Cols: 1, Data: good.Potentials.Data[:10]}
	grey := good
	grey.Stimulus = datasets.NewMovie(good.Stimulus.T, 8, 8)
	for _, tc := range []struct {
		name    string
		d       InterneuronData
		cell    int
		history int
		want    string
	}{
		{"constant potential", flat, 0, history, "potential is constant"},
		{"too short", short, 0, history, "at least 20 are needed"},
		{"history off", good, 0, history + 1, "potential samples and a history of 6"},
		{"no such cell", good, 1, history, "the file has 1 cells"},
		{"constant stimulus", grey, 0, history, "stimulus is constant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FitCellLinear(tc.d, tc.cell, tc.history)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "planted/whitenoise") {
				t.Errorf("error %v, want one naming planted/whitenoise and saying %q", err, tc.want)
			}
		})
	}
}

func TestValidationExplainsAShortfall(t *testing.T) {
	v := &Validation{Group: "whitenoise", Target: 0.7, Margin: 0.1, PreNonlinearity: true, History: 40, FrameRate: 100, Epochs: 8, LastEpochGain: 0}
	base := TypeVerdict{CellType: "bipolar", Cells: 16, Learned: 0.5, Untrained: 0.1, OtherReading: 0.5, LinearR: 0.5,
		CellSigma: 0.7, UnitSigma: 0.8, OldestQuarter: 0.01, BestLayer: "conv1", BestLayerR: 0.5, ChannelsUsed: 3, Channels: 8,
		PotentialSD: map[string]float64{"whitenoise": 0.8, "flashes": 1}}
	for _, tc := range []struct {
		name       string
		edit       func(*TypeVerdict, *Validation)
		want, dont []string
	}{
		{"nothing stands out", func(*TypeVerdict, *Validation) {}, []string{"singles out a cause"}, []string{"may help", "linear filter"}},
		{"linear cells, broader units", func(tv *TypeVerdict, _ *Validation) { tv.LinearR, tv.UnitSigma = 0.9, 1.6 },
			[]string{"held-out r = 0.90", "σ = 1.6 px against the cells' 0.7 px", "wider area"}, []string{"not a linear function", "singles out"}},
		{"linear cells, units of their size", func(tv *TypeVerdict, _ *Validation) { tv.LinearR = 0.9 },
			[]string{"held-out r = 0.90"}, []string{"wider area"}},
		{"nonlinear cells", func(tv *TypeVerdict, _ *Validation) { tv.LinearR = 0.05 }, []string{"not a linear function", "conv1 (0.50)"}, []string{"wider area"}},
		{"weakly driven", func(tv *TypeVerdict, _ *Validation) {
			tv.PotentialSD = map[string]float64{"whitenoise": 0.02, "flashes": 0.3}
		},
			[]string{`"whitenoise" stimulus drives these cells weakly`, "SD 0.02, against 0.3"}, nil},
		{"after the ReLU", func(tv *TypeVerdict, _ *Validation) { tv.OtherReading = 0.62 }, []string{"after the ReLU (--post-relu) the units reach 0.62"}, nil},
		{"before the ReLU", func(tv *TypeVerdict, v *Validation) { tv.OtherReading, v.PreNonlinearity = 0.62, false },
			[]string{"before the ReLU (without --post-relu)"}, nil},
		{"another group meets it", func(tv *TypeVerdict, _ *Validation) { tv.OtherGroups = map[string]float64{"flashes": 0.95} },
			[]string{`on the "flashes" stimuli the same units reach 0.95`}, nil},
		{"slower units", func(tv *TypeVerdict, _ *Validation) { tv.LinearR, tv.CellPeakMS, tv.UnitPeakMS = 0.9, 40, 90 },
			[]string{"peak 90 ms before the response against the cells' 40 ms: the units are slower"}, nil},
		{"units about as fast", func(tv *TypeVerdict, _ *Validation) { tv.LinearR, tv.CellPeakMS, tv.UnitPeakMS = 0.9, 40, 55 }, nil, []string{"temporal filters peak"}},
		{"filters reach back", func(tv *TypeVerdict, _ *Validation) { tv.OldestQuarter = 0.3 }, []string{"30% of the cells' temporal filter", "40-frame (400 ms)"}, nil},
		{"noise filters do not count", func(tv *TypeVerdict, _ *Validation) { tv.OldestQuarter, tv.LinearR = 0.3, 0.1 }, nil, []string{"longer history"}},
		{"all channels used", func(tv *TypeVerdict, _ *Validation) { tv.ChannelsUsed = 8 }, []string{"all 8 channels of conv1"}, nil},
		{"still learning", func(_ *TypeVerdict, v *Validation) { v.LastEpochGain = 0.02 }, []string{"rose by 0.020 in the last of 8 epochs"}, nil},
		{"architecture", func(tv *TypeVerdict, _ *Validation) { tv.Untrained = 0.45 },
			[]string{"added only 0.05 to the untrained control's 0.45: the architecture alone"}, []string{"neither model"}},
		{"at the null", func(tv *TypeVerdict, _ *Validation) {
			tv.Learned, tv.LearnedNull, tv.LearnedInSample, tv.Untrained, tv.UntrainedNull = 0.03, 0.01, 0.17, 0.0, 0.002
		},
			[]string{"held-out r (0.03) is at its circular-shift null (0.01)", "in sample it reads 0.17", "at its own null (0.00): neither model"},
			[]string{"the architecture alone"}},
		{"above the null", func(tv *TypeVerdict, _ *Validation) { tv.LearnedNull = 0.02 }, nil, []string{"circular-shift null"}},
		{"repeated stimulus", func(_ *TypeVerdict, v *Validation) { v.RepeatedStimulus = true },
			[]string{`"whitenoise" group's second half repeats its first half's stimulus`, "is not judged"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tv, vv := base, *v
			tc.edit(&tv, &vv)
			text := strings.Join(vv.explain(tv), "\n")
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("findings lack %q:\n%s", w, text)
				}
			}
			for _, d := range tc.dont {
				if strings.Contains(text, d) {
					t.Errorf("findings say %q:\n%s", d, text)
				}
			}
		})
	}
}
