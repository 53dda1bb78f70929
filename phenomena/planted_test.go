package phenomena

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/phenomena/measures"
	"github.com/deepretina/deepretina/phenomena/stimuli"
)

// planted is a population of trivial responders on a 20×20 field at 100 Hz (history 40): per
// cell a centre-surround (difference of Gaussians) spatial filter times a biphasic temporal
// filter, the linear drive g, then an output stage:
//
//   - kind "linear": rate = 20 + 15·g (may go below 0: a purely linear population);
//   - kind "ln": rate = 40·softplus(1.5·g − 0.5) (an LN population);
//   - kind "adaptive": contrast gain control (Shapley & Victor 1978): a running estimate of the
//     recent drive's power (time constant 0.3 s) divides the drive and shifts the filter towards
//     a faster one (time constants × 0.6), the mechanism of contrast adaptation;
//   - kind "oms": an LN whose centre is pooled from rectified subunits and inhibited by a
//     wide-field pool of rectified subunits (Ölveczky et al. 2003), the mechanism of
//     object-motion sensitivity.
type planted struct {
	kind    string
	centres []stimuli.Point
	spatial [][]float64 // [cell][H·W]
	temp    []float64   // [lags]
	temps   [][]float64 // [cell][lags] each cell's filter (the linear and LN kinds)
	fast    []float64   // [lags] the faster filter of the adaptive kind
	// omsCell is, for kind "mixed", the one cell with the object-motion circuit of kind "oms";
	// the others are of kind "ln".
	omsCell int
}

const plantH, plantW, plantHist = 20, 20, 40

// Biphasic OFF filter: −(fast lobe − 0.6 slow lobe), peaks near 50 and 120 ms at scale 1.
func biphasic(scale float64) []float64 {
	f := make([]float64, plantHist)
	for k := range f {
		t := float64(k) / 100
		a, b := 0.05*scale, 0.1*scale
		f[k] = -(t/a*math.Exp(1-t/a) - 0.6*t/b*math.Exp(1-t/b))
	}
	return f
}

// dog is a difference-of-Gaussians spatial filter (centre SD sigma, surround 4 px, weight 0.8).
func dog(c stimuli.Point, sigma float64) []float64 {
	f := make([]float64, plantH*plantW)
	for y := 0; y < plantH; y++ {
		for x := 0; x < plantW; x++ {
			d2 := (float64(y)-c.Y)*(float64(y)-c.Y) + (float64(x)-c.X)*(float64(x)-c.X)
			f[y*plantW+x] = math.Exp(-d2/(2*sigma*sigma))/(2*math.Pi*sigma*sigma) - 0.8*math.Exp(-d2/(2*4*4))/(2*math.Pi*4*4)
		}
	}
	return f
}

func newPlanted(kind string) *planted {
	p := &planted{kind: kind, centres: []stimuli.Point{{Y: 6, X: 6}, {Y: 6, X: 13}, {Y: 13, X: 6}, {Y: 13, X: 13}, {Y: 9.5, X: 9.5}}, omsCell: 4}
	p.temp, p.fast = biphasic(1), biphasic(0.6)
	for _, c := range p.centres {
		p.spatial = append(p.spatial, dog(c, 1.5))
		p.temps = append(p.temps, p.temp)
	}
	return p
}

// newPlantedPopulation is a larger trivial population for the null of the per-cell rule: n
// cells of kind "linear" or "ln" with centres drawn uniformly over the central 14×14 pixels,
// centre SDs 1–2 px and filters 0.7–1.4 × as slow (drawn with seed), so that the battery's
// multiple comparison over cells meets the spread of cells a model has.
func newPlantedPopulation(kind string, n int, seed uint64) *planted {
	rng := rand.New(rand.NewPCG(seed, 77))
	p := &planted{kind: kind, temp: biphasic(1), fast: biphasic(0.6), omsCell: -1}
	for range n {
		c := stimuli.Point{Y: 3 + 14*rng.Float64(), X: 3 + 14*rng.Float64()}
		p.centres = append(p.centres, c)
		p.spatial = append(p.spatial, dog(c, 1+rng.Float64()))
		p.temps = append(p.temps, biphasic(0.7*math.Pow(2, rng.Float64())))
	}
	return p
}

func (p *planted) InputShape() [3]int   { return [3]int{plantHist, plantH, plantW} }
func (p *planted) FrameRate() float64   { return 100 }
func (p *planted) PixelSizeUM() float64 { return 55 }

func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

func (p *planted) Respond(stim datasets.Movie) (datasets.Matrix, error) {
	out := datasets.NewMatrix(stim.T-plantHist, len(p.centres))
	if p.kind == "oms" {
		sub := p.subunits(stim)
		for c := range p.centres {
			p.respondOMS(sub, c, out)
		}
		return out, nil
	}
	kind := p.kind
	if kind == "mixed" {
		p.respondOMS(p.subunits(stim), p.omsCell, out)
		kind = "ln"
	}
	for c, sp := range p.spatial {
		if p.kind == "mixed" && c == p.omsCell {
			continue
		}
		proj := make([]float64, stim.T) // spatial drive per frame
		for t := range proj {
			f := stim.Frame(t)
			for i, w := range sp {
				proj[t] += w * float64(f[i])
			}
		}
		g, gf := measures.Convolve(proj, p.temps[c]), measures.Convolve(proj, p.fast)
		ema := 0.0
		for t := plantHist; t < stim.T; t++ {
			var r float64
			switch kind {
			case "linear":
				r = 20 + 15*g[t]
			case "ln":
				r = 40 * softplus(1.5*g[t]-0.5)
			case "adaptive":
				// Divisive gain control by the recent drive's power, and a filter that speeds up
				// with it.
				w := ema / (ema + 0.5)
				r = 40 * softplus(1.5*((1-w)*g[t]+w*gf[t])/(0.3+math.Sqrt(ema))-0.5)
			}
			a := 1 - math.Exp(-1.0/30)
			ema += a * (g[t]*g[t] - ema)
			out.Set(t-plantHist, c, float32(r))
		}
	}
	return out, nil
}

// subunits are 2×2-pixel blocks, each the biphasic filter of its mean intensity.
//
//	return: [block][T]
func (p *planted) subunits(stim datasets.Movie) [][]float64 {
	gh, gw := plantH/2, plantW/2
	sub := make([][]float64, gh*gw)
	for b := range sub {
		by, bx := b/gw, b%gw
		s := make([]float64, stim.T)
		for t := range s {
			f := stim.Frame(t)
			for dy := 0; dy < 2; dy++ {
				for dx := 0; dx < 2; dx++ {
					s[t] += float64(f[(2*by+dy)*plantW+2*bx+dx]) / 4
				}
			}
		}
		sub[b] = measures.Convolve(s, p.temp)
	}
	return sub
}

// respondOMS: the subunits are rectified (|·|: transient ON–OFF subunits); the centre pools the subunits
// within 3 px of the cell, the surround those beyond 5 px (each pool a mean), and the rate is
// 30·softplus(4·(centre − surround)): coincident drive (global motion) cancels, independent
// drive (differential motion) does not.
func (p *planted) respondOMS(sub [][]float64, c int, out datasets.Matrix) {
	gh, gw := plantH/2, plantW/2
	centre := p.centres[c]
	var cIdx, sIdx []int
	for by := 0; by < gh; by++ {
		for bx := 0; bx < gw; bx++ {
			d := math.Hypot(float64(2*by)+0.5-centre.Y, float64(2*bx)+0.5-centre.X)
			switch {
			case d <= 3:
				cIdx = append(cIdx, by*gw+bx)
			case d > 5:
				sIdx = append(sIdx, by*gw+bx)
			}
		}
	}
	for t := plantHist; t < len(sub[0]); t++ {
		var ce, su float64
		for _, b := range cIdx {
			ce += math.Abs(sub[b][t])
		}
		for _, b := range sIdx {
			su += math.Abs(sub[b][t])
		}
		ce /= float64(len(cIdx))
		su /= float64(len(sIdx))
		out.Set(t-plantHist, c, float32(30*softplus(4*(ce-su))))
	}
}

// TestTrivialPopulationsReproduceNothing: a linear and an LN population have no adaptation, no
// subunits and no recurrence; the battery must judge them to reproduce none of the phenomena.
// Since one cell suffices (MinCells), the populations are larger and more varied than the
// planted mechanisms' (12 cells of spread positions, sizes and speeds), and every cell is
// judged on each of four seeds alone: no cell may pass a phenomenon on both seeds of any pair
// (the battery judges on the pair 1, 2; the others are replicates of the null). The counts of
// cells passing on one seed and on both seeds of a pair are logged per experiment: the
// multiple-comparison risk of the per-cell rule, measured (docs/phenomena.md). More seeds and
// cells for that measurement: DEEPRETINA_NULL_SEEDS, DEEPRETINA_NULL_CELLS.
func TestTrivialPopulationsReproduceNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("the battery on two populations, four seeds: minutes")
	}
	nSeeds, nCells := envInt(t, "DEEPRETINA_NULL_SEEDS", 4), envInt(t, "DEEPRETINA_NULL_CELLS", 12)
	for _, kind := range []string{"linear", "ln"} {
		t.Run(kind, func(t *testing.T) {
			pop := NewSubject(newPlantedPopulation(kind, nCells, 5))
			for _, e := range Experiments() {
				if e.Role != RolePhenomenon {
					continue
				}
				per := make([][]bool, nSeeds) // [seed][cell] passes on that seed alone
				judged, single := 0, 0
				for i := range per {
					v, err := Judge(e, pop, []uint64{uint64(i + 1)})
					if err != nil {
						t.Fatal(err)
					}
					per[i] = make([]bool, nCells)
					for _, c := range v.Cells {
						per[i][c] = true
					}
					judged += v.NCells
					single += len(v.Cells)
				}
				pairs, both := 0, 0
				var shown []string
				for i := range per {
					for j := i + 1; j < len(per); j++ {
						pairs++
						for c := range per[i] {
							if per[i][c] && per[j][c] {
								both++
								shown = append(shown, fmt.Sprintf("cell %d on seeds %d, %d", c, i+1, j+1))
							}
						}
					}
				}
				t.Logf("null %-6s %-26s cells passing on one seed: %d of %d judged (%d seeds); on both seeds of a pair: %d of %d cell-pairs",
					kind, e.Name, single, judged, nSeeds, both, pairs*nCells)
				if both > 0 {
					t.Errorf("a %s population shows %s: %s", kind, e.Name, strings.Join(shown, "; "))
				}
			}
		})
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 2 {
		t.Fatalf("%s=%q: expected an integer ≥ 2", name, v)
	}
	return n
}

// TestOneOMSCellAmongLNCells: a phenomenon belongs to a cell type, so a population in which
// only one cell has the mechanism (cell 4: rectified subunits and a wide-field inhibitory pool,
// Ölveczky et al. 2003; the other four LN) is judged to show object motion, and the verdict
// names that cell and only that one.
func TestOneOMSCellAmongLNCells(t *testing.T) {
	if testing.Short() {
		t.Skip("object motion with LN surrogates on two seeds: about a minute")
	}
	res, err := Compare(ObjectMotionExperiment(), newPlanted("mixed"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cells %v of %d, passes %v, medians %v, surrogate %v", res.ModelCells, res.ModelNCells, res.ModelPasses, formatMetrics(res.Model), formatMetrics(res.ModelSurrogate))
	if !res.Reproduced || !slices.Equal(res.ModelCells, []int{4}) || res.ModelNCells != 5 {
		t.Errorf("one OMS cell among LN cells: reproduced %v, cells %v of %d; want true, [4] of 5", res.Reproduced, res.ModelCells, res.ModelNCells)
	}
	if !(res.Model["oms_index"] > 0.5) {
		t.Errorf("the median over cells (%v) should not show it: the LN cells outvote the OMS cell", res.Model["oms_index"])
	}
}

// TestCriteriaDetectPlantedMechanisms: the criteria are not impossible: a responder that has the
// mechanism passes, beyond its own LN surrogate, on every seed.
func TestCriteriaDetectPlantedMechanisms(t *testing.T) {
	if testing.Short() {
		t.Skip("runs experiments with LN surrogates: about 30 s")
	}
	for _, tc := range []struct {
		kind string
		exp  Experiment
	}{
		{"adaptive", ContrastAdaptationExperiment()},
		{"oms", ObjectMotionExperiment()},
	} {
		t.Run(tc.kind+"/"+tc.exp.Name, func(t *testing.T) {
			res, err := Compare(tc.exp, newPlanted(tc.kind), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("passes %v model %v surrogate %v", res.ModelPasses, formatMetrics(res.Model), formatMetrics(res.ModelSurrogate))
			if !res.Reproduced {
				t.Errorf("a %s responder does not reproduce %s", tc.kind, tc.exp.Name)
			}
		})
	}
}

// TestLNSurrogateRecoversAnLNPopulation: the surrogate of an LN population predicts it on new
// white noise of its fitting statistics (r > 0.9), so that what the surrogate cannot do, an LN model cannot do.
func TestLNSurrogateRecoversAnLNPopulation(t *testing.T) {
	pop := newPlanted("ln")
	s, err := FitLNSurrogate(pop, 7)
	if err != nil {
		t.Fatal(err)
	}
	stim := stimuli.WhiteNoise(plantH, plantW, 1500, 1, s.block, false, 99)
	want, err := Run(pop, stim)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Run(s, stim)
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < want.Cols; c++ {
		if r := pearson(measures.Column(want, c), measures.Column(got, c)); !(r > 0.9) {
			t.Errorf("cell %d: surrogate predicts the LN population at r = %.3f (held-out r at fit %.3f, λ %g)", c, r, s.HeldOutR[c], s.Lambda[c])
		}
	}
}

// quiet scales a responder's rates down (an untrained model fires little).
type quiet struct {
	Responder
	scale float32
}

func (q quiet) Respond(stim datasets.Movie) (datasets.Matrix, error) {
	m, err := q.Responder.Respond(stim)
	for i := range m.Data {
		m.Data[i] *= q.scale
	}
	return m, err
}

// TestActiveGateIsRelative: a population whose rates vary by well under 1 Hz is still measured
// (the gate is relative to the most varying cell), and the cells behind the medians are counted.
func TestActiveGateIsRelative(t *testing.T) {
	o, err := StepResponseExperiment().Run(quiet{newPlanted("ln"), 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	if p := o.Metrics["onset_peak_hz"]; math.IsNaN(p) || p <= 0 || p > 1 || o.Metrics["n_cells"] != 5 {
		t.Errorf("a quiet population: %v", o.Metrics)
	}
	if StepResponseExperiment().Passes(o.Metrics, nil) {
		t.Error("a response of well under 2 Hz passes the step sanity check")
	}
}
