package simretina

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/deepretina/deepretina/datasets"
)

// Circuit holds the parameters of the simulated retinal circuit. Spatial sizes are in stimulus
// pixels, time constants in milliseconds (so the circuit does not change with the frame rate).
// The zero value means "use DefaultCircuit()". The equations are documented in the package
// comment (doc.go).
type Circuit struct {
	SubunitSpacing float64 // px between neighbouring bipolar subunit centres (square grid)
	SubunitSigma   float64 // px, SD of a subunit's Gaussian spatial receptive field

	// Biphasic bipolar filter of the fast (transient) and slow (sustained) classes: a 3-stage
	// low-pass cascade with time constant Tau1 minus Transience × a 3-stage cascade with Tau2.
	FastTau1MS, FastTau2MS, FastTransience float64
	SlowTau1MS, SlowTau2MS, SlowTransience float64

	ContrastTauMS float64 // ms, time constant of the running local-contrast (variance) estimate
	ContrastHalf  float64 // local contrast at which the bipolar gain has fallen to 1/2
	SpeedUp       float64 // in (0,1]: filter time constants at full adaptation = SpeedUp × resting values
	BipolarGain   float64 // scale of the bipolar potential v
	RectSoftness  float64 // ε of the smooth half-wave rectifier b = (y + sqrt(y² + ε²))/2
	BipolarThresh float64 // release threshold θ on v (in units of v)

	AmacrineSpacing float64 // px between wide-field amacrine centres
	AmacrineSigma   float64 // px, SD of the Gaussian pooling of fast bipolars by a wide-field amacrine
	AmacrineTauMS   float64 // ms, 2-stage low-pass of a wide-field amacrine

	// Narrow-field ON and OFF amacrines: each pools the sustained bipolars of its polarity
	// in a small Gaussian and low-passes them (2 stages); they inhibit ganglion cells of the
	// opposite polarity (crossover inhibition) with weight Crossover.
	NarrowSpacing float64 // px between narrow-field amacrine centres (one ON and one OFF per site)
	NarrowSigma   float64 // px, SD of the Gaussian pooling of a narrow-field amacrine
	NarrowTauMS   float64 // ms, 2-stage low-pass of a narrow-field amacrine
	Crossover     float64 // weight of narrow-field crossover inhibition onto ON and OFF ganglion cells

	GanglionSigma   float64 // px, mean SD of a ganglion cell's Gaussian centre (per-cell ±20 %)
	InhibitionSigma float64 // px, SD of the Gaussian weighting of amacrines onto a ganglion cell
	Inhibition      float64 // weight of wide-field amacrine inhibition onto ON and OFF cells
	// Object-motion-sensitive inhibition of the OFF-OMS cells: the wide-field amacrines within a
	// Gaussian of SD OMSInhibitionSigma, with total weight OMSInhibition relative to the
	// excitatory centre.
	OMSInhibition      float64
	OMSInhibitionSigma float64
	FastGanglionMS     float64 // ms, membrane low-pass of fast ganglion cells
	SlowGanglionMS     float64 // ms, membrane low-pass of slow ganglion cells
	NonlinSlope        float64 // k in rate = R·softplus(k·z + b), z the standardised drive
	MaxRateHz          float64 // R in the same formula
	DeadTimeMS         float64 // ms, absolute refractory period: rate f → f/(1 + f·DeadTime)
	MinMeanHz          float64 // per-cell target mean rate on the calibration stimulus is drawn
	MaxMeanHz          float64 // uniformly from [MinMeanHz, MaxMeanHz]

	RefractoryMS       float64 // ms, decay of the post-spike suppression
	RefractoryStrength float64 // κ: expected count is multiplied by exp(−κ·recent spikes)

}

// DefaultCircuit returns the default circuit parameters (salamander-like at 55 µm pixels).
func DefaultCircuit() Circuit {
	return Circuit{
		SubunitSpacing: 1.5, SubunitSigma: 0.7,
		FastTau1MS: 30, FastTau2MS: 60, FastTransience: 0.9,
		SlowTau1MS: 45, SlowTau2MS: 90, SlowTransience: 0.75,
		ContrastTauMS: 200, ContrastHalf: 0.03, SpeedUp: 0.6,
		BipolarGain: 1.2, RectSoftness: 0.2, BipolarThresh: 0,
		AmacrineSpacing: 4, AmacrineSigma: 3, AmacrineTauMS: 5,
		NarrowSpacing: 3, NarrowSigma: 1, NarrowTauMS: 20, Crossover: 0.3,
		GanglionSigma: 2, InhibitionSigma: 4, Inhibition: 0.4, OMSInhibition: 1, OMSInhibitionSigma: 8,
		FastGanglionMS: 10, SlowGanglionMS: 20,
		NonlinSlope: 1.6, MaxRateHz: 40, DeadTimeMS: 4, MinMeanHz: 5, MaxMeanHz: 15,
		RefractoryMS: 15, RefractoryStrength: 1,
	}
}

func (p Circuit) validate() error {
	pos := []struct {
		name string
		v    float64
	}{
		{"SubunitSpacing", p.SubunitSpacing}, {"SubunitSigma", p.SubunitSigma},
		{"FastTau1MS", p.FastTau1MS}, {"FastTau2MS", p.FastTau2MS},
		{"SlowTau1MS", p.SlowTau1MS}, {"SlowTau2MS", p.SlowTau2MS},
		{"ContrastTauMS", p.ContrastTauMS}, {"ContrastHalf", p.ContrastHalf}, {"SpeedUp", p.SpeedUp},
		{"BipolarGain", p.BipolarGain}, {"RectSoftness", p.RectSoftness},
		{"AmacrineSpacing", p.AmacrineSpacing}, {"AmacrineSigma", p.AmacrineSigma}, {"AmacrineTauMS", p.AmacrineTauMS},
		{"NarrowSpacing", p.NarrowSpacing}, {"NarrowSigma", p.NarrowSigma}, {"NarrowTauMS", p.NarrowTauMS},
		{"DeadTimeMS", p.DeadTimeMS},
		{"GanglionSigma", p.GanglionSigma}, {"InhibitionSigma", p.InhibitionSigma}, {"OMSInhibitionSigma", p.OMSInhibitionSigma},
		{"FastGanglionMS", p.FastGanglionMS}, {"SlowGanglionMS", p.SlowGanglionMS},
		{"NonlinSlope", p.NonlinSlope}, {"MaxRateHz", p.MaxRateHz},
		{"MinMeanHz", p.MinMeanHz}, {"MaxMeanHz", p.MaxMeanHz}, {"RefractoryMS", p.RefractoryMS},
	}
	for _, f := range pos {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("config field Circuit.%s: expected a positive finite number, got %v", f.name, f.v)
		}
	}
	nonneg := []struct {
		name string
		v    float64
	}{
		{"FastTransience", p.FastTransience}, {"SlowTransience", p.SlowTransience},
		{"Inhibition", p.Inhibition}, {"OMSInhibition", p.OMSInhibition}, {"Crossover", p.Crossover},
		{"RefractoryStrength", p.RefractoryStrength},
	}
	for _, f := range nonneg {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("config field Circuit.%s: expected a finite number ≥ 0, got %v", f.name, f.v)
		}
	}
	if p.SpeedUp > 1 {
		return fmt.Errorf("Circuit.SpeedUp: expected a value in (0, 1], got %v", p.SpeedUp)
	}
	if p.MaxMeanHz < p.MinMeanHz {
		return fmt.Errorf("Circuit.MaxMeanHz: %v is below Circuit.MinMeanHz %v", p.MaxMeanHz, p.MinMeanHz)
	}
	if math.IsNaN(p.BipolarThresh) || math.IsInf(p.BipolarThresh, 0) {
		return fmt.Errorf("Circuit.BipolarThresh: expected a finite number, got %v", p.BipolarThresh)
	}
	return nil
}

// Ganglion cell types of the simulated retina.
const (
	ONFast  = "ON-fast"
	ONSlow  = "ON-slow"
	OFFFast = "OFF-fast"
	OFFSlow = "OFF-slow"
	// OMS is the object-motion-sensitive type: a fast OFF cell, as the salamander's OMS cells
	// (Ölveczky, Baccus & Meister 2007, Fig. 1A), whose rectified fast bipolar inputs are
	// cancelled by wide-field amacrine inhibition under global motion (Ölveczky et al. 2003;
	// Baccus, Ölveczky, Manu & Meister 2008).
	OMS = "OFF-OMS"
)

// Amacrine types of the simulated retina (AmacrineTypes).
const (
	WideFieldAmacrine = "wide-field ON-OFF"
	NarrowONAmacrine  = "narrow-field ON"
	NarrowOFFAmacrine = "narrow-field OFF"
)

// simTypeCycle is the order in which cell types are dealt to ganglion cells 0, 1, 2, … (mostly
// OFF cells first, as in the salamander recordings).
var simTypeCycle = [...]string{OFFFast, ONFast, OFFSlow, OMS, ONSlow}

// Bipolar types at each subunit location, in index order: bipolar i has location i/4 and type
// simBipolarTypes[i%4].
var simBipolarTypes = [...]string{ONFast, OFFFast, ONSlow, OFFSlow}

// Point is a position in stimulus pixel coordinates (row Y, column X; pixel (0,0) has its centre
// at (0,0)).
type Point struct{ Y, X float64 }

// sparse is a compressed-row sparse weight matrix: row r has entries idx/wt[start[r]:start[r+1]].
type sparse struct {
	start []int32
	idx   []int32
	wt    []float32
}

func (s *sparse) addRow(idx []int32, wt []float32) {
	if len(s.start) == 0 {
		s.start = append(s.start, 0)
	}
	s.idx = append(s.idx, idx...)
	s.wt = append(s.wt, wt...)
	s.start = append(s.start, int32(len(s.idx)))
}

func (s *sparse) row(r int) ([]int32, []float32) {
	a, b := s.start[r], s.start[r+1]
	return s.idx[a:b], s.wt[a:b]
}

// dot is row r of the matrix times the vector x.
func (s *sparse) dot(r int, x []float32) float32 {
	idx, wt := s.row(r)
	sum := float32(0)
	for j, p := range idx {
		sum += wt[j] * x[p]
	}
	return sum
}

// bipolarClass holds the kinetics of one bipolar class (fast or slow).
type bipolarClass struct {
	tau1, tau2 float64 // seconds
	beta       float32
}

type ganglion struct {
	typ      string
	centre   Point
	sigma    float64
	exc      [2][]int32   // bipolar indices of the ON (0) and OFF (1) inputs
	excW     [2][]float32 // weights (sum 1 over both)
	inh      []int32      // amacrine indices (wide-field and, crossover, narrow-field)
	inhW     []float32    // weights (wide-field ones sum to the cell's inhibition weight)
	decay    float32      // membrane low-pass factor exp(−dt/τ)
	mu, sd   float32      // standardisation of the drive (from calibration)
	bias     float64      // b in R·softplus(k z + b)
	targetHz float64
}

// Retina is a simulated ground-truth retina: bipolar subunits with contrast adaptation,
// wide-field amacrine cells and ganglion cells of several types (see the package comment for
// the equations). It is immutable after construction and safe for concurrent use.
type Retina struct {
	cfg Config
	par Circuit
	dt  float64 // seconds per frame

	locs     []Point // bipolar subunit locations
	locSpat  sparse  // [nLoc] → pixel weights
	classes  [2]bipolarClass
	amacs    []Point   // wide-field amacrines, then narrow-field ON, then narrow-field OFF
	amacTyp  []string  // type of each amacrine (AmacrineTypes)
	amacIn   sparse    // [nAm] → bipolar indices, weights sum 1
	amacA    []float32 // per amacrine: exp(−dt/τ)
	cells    []ganglion
	contrA   float32 // exp(−dt/τ_contrast)
	refractA float64 // exp(−dt/τ_refractory)
}

// New builds the circuit for cfg deterministically from cfg.Seed: the subunit and
// amacrine grids, the ganglion cells' types, positions and sizes, and the output nonlinearity of
// each cell, calibrated so that each cell's mean rate on a white-noise calibration stimulus
// equals a per-cell target drawn from [MinMeanHz, MaxMeanHz].
func New(cfg Config) (*Retina, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := cfg.circuit()
	r := &Retina{cfg: cfg, par: p, dt: 1 / cfg.FrameRate}
	r.contrA = float32(math.Exp(-r.dt / (p.ContrastTauMS / 1000)))
	r.refractA = math.Exp(-r.dt / (p.RefractoryMS / 1000))
	r.classes[0] = bipolarClass{p.FastTau1MS / 1000, p.FastTau2MS / 1000, float32(p.FastTransience)}
	r.classes[1] = bipolarClass{p.SlowTau1MS / 1000, p.SlowTau2MS / 1000, float32(p.SlowTransience)}
	rng := cfg.stream("circuit", 0)

	// Bipolar subunits: a square grid, centred in the field.
	r.addSubunits()
	// Wide-field amacrines: a coarser grid, each pooling the fast ON and OFF bipolars around it.
	r.addWideAmacrines()
	nWide := len(r.amacs)
	// Narrow-field amacrines: an ON and an OFF cell at each site of a finer grid, each pooling
	// the sustained bipolars of its own polarity.
	nNarrow := r.addNarrowAmacrines()
	wide := r.amacs[:nWide]
	narrowON, narrowOFF := r.amacs[nWide:nWide+nNarrow], r.amacs[nWide+nNarrow:]
	// Ganglion cells: centres uniformly in the central 40 % of the field, so that a model's
	// valid-convolution output region (e.g. the central 26×26 of 50×50) covers them.
	for i := 0; i < cfg.NCells; i++ {
		r.cells = append(r.cells, r.newGanglion(i, rng, wide, narrowON, narrowOFF, nWide))
	}
	r.calibrate()
	return r, nil
}

// addSubunits places the bipolar subunits on a square grid centred in the field.
func (r *Retina) addSubunits() {
	ys, xs := gridCoords(r.cfg.H, r.par.SubunitSpacing), gridCoords(r.cfg.W, r.par.SubunitSpacing)
	for _, y := range ys {
		for _, x := range xs {
			c := Point{y, x}
			r.locs = append(r.locs, c)
			idx, wt := gaussianPixels(c, r.par.SubunitSigma, r.cfg.H, r.cfg.W)
			r.locSpat.addRow(idx, wt)
		}
	}
}

// amacDecay is the per-frame decay of an amacrine cell with time constant ms.
func (r *Retina) amacDecay(ms float64) float32 { return float32(math.Exp(-r.dt / (ms / 1000))) }

// addWideAmacrines places the wide-field amacrines on a coarser grid, each pooling the fast ON
// and OFF bipolars around it.
func (r *Retina) addWideAmacrines() {
	ays, axs := gridCoords(r.cfg.H, r.par.AmacrineSpacing), gridCoords(r.cfg.W, r.par.AmacrineSpacing)
	for _, y := range ays {
		for _, x := range axs {
			c := Point{y, x}
			r.amacs = append(r.amacs, c)
			r.amacTyp = append(r.amacTyp, WideFieldAmacrine)
			r.amacA = append(r.amacA, r.amacDecay(r.par.AmacrineTauMS))
			var idx []int32
			var wt []float32
			locs, lw := r.gaussianLocs(c, r.par.AmacrineSigma)
			for i, l := range locs {
				idx = append(idx, 4*l+0, 4*l+1) // ON-fast, OFF-fast
				wt = append(wt, lw[i]/2, lw[i]/2)
			}
			r.amacIn.addRow(idx, wt)
		}
	}
}

// addNarrowAmacrines places an ON and an OFF narrow-field amacrine at each site of a finer
// grid, each pooling the sustained bipolars of its own polarity, and returns the number of
// sites (cells of each polarity).
func (r *Retina) addNarrowAmacrines() int {
	nys, nxs := gridCoords(r.cfg.H, r.par.NarrowSpacing), gridCoords(r.cfg.W, r.par.NarrowSpacing)
	for k, typ := range []string{NarrowONAmacrine, NarrowOFFAmacrine} {
		for _, y := range nys {
			for _, x := range nxs {
				c := Point{y, x}
				r.amacs = append(r.amacs, c)
				r.amacTyp = append(r.amacTyp, typ)
				r.amacA = append(r.amacA, r.amacDecay(r.par.NarrowTauMS))
				locs, lw := r.gaussianLocs(c, r.par.NarrowSigma)
				idx := make([]int32, len(locs))
				for i, l := range locs {
					idx[i] = 4*l + 2 + int32(k) // ON-slow or OFF-slow
				}
				r.amacIn.addRow(idx, lw)
			}
		}
	}
	return len(nys) * len(nxs)
}

// newGanglion builds ganglion cell i: its type, a centre uniformly in the central 40 % of the
// field (drawn from rng, so that a model's valid-convolution output region covers it), its
// bipolar inputs, its inhibition from the wide-field amacrines and, across polarity, from the
// narrow-field ones, and its time constant and target rate.
func (r *Retina) newGanglion(i int, rng *rand.Rand, wide, narrowON, narrowOFF []Point, nWide int) ganglion {
	g := ganglion{typ: simTypeCycle[i%len(simTypeCycle)]}
	g.centre = Point{
		Y: centralCoord(r.cfg.H, rng),
		X: centralCoord(r.cfg.W, rng),
	}
	g.sigma = r.par.GanglionSigma * (0.8 + 0.4*rng.Float64())
	locs, lw := r.gaussianLocs(g.centre, g.sigma)
	// offsets[0]: the ON input's bipolar (−1: none), offsets[1]: the OFF input's.
	var offsets [2]int32
	var crossFrom []Point // narrow-field amacrines of the opposite polarity
	crossBase := int32(0)
	switch g.typ {
	case ONFast:
		offsets = [2]int32{0, -1}
		crossFrom, crossBase = narrowOFF, int32(nWide+len(narrowON))
	case OFFFast:
		offsets = [2]int32{-1, 1}
		crossFrom, crossBase = narrowON, int32(nWide)
	case ONSlow:
		offsets = [2]int32{2, -1}
		crossFrom, crossBase = narrowOFF, int32(nWide+len(narrowON))
	case OFFSlow:
		offsets = [2]int32{-1, 3}
		crossFrom, crossBase = narrowON, int32(nWide)
	case OMS:
		offsets = [2]int32{-1, 1}
	}
	nIn := float32(0)
	for _, o := range offsets {
		if o >= 0 {
			nIn++
		}
	}
	for j, l := range locs {
		for k, o := range offsets {
			if o >= 0 {
				g.exc[k] = append(g.exc[k], 4*l+o)
				g.excW[k] = append(g.excW[k], lw[j]/nIn)
			}
		}
	}
	transient := g.typ == ONFast || g.typ == OFFFast || g.typ == OMS
	inhSigma, inhW := r.par.InhibitionSigma, r.par.Inhibition
	if g.typ == OMS {
		inhSigma, inhW = r.par.OMSInhibitionSigma, r.par.OMSInhibition
	}
	g.inh, g.inhW = gaussianPoints(wide, g.centre, inhSigma)
	for k := range g.inhW {
		g.inhW[k] *= float32(inhW)
	}
	if crossFrom != nil && r.par.Crossover > 0 {
		idx, wt := gaussianPoints(crossFrom, g.centre, g.sigma)
		for k := range idx {
			g.inh = append(g.inh, crossBase+idx[k])
			g.inhW = append(g.inhW, float32(r.par.Crossover)*wt[k])
		}
	}
	tau := r.par.FastGanglionMS
	if !transient {
		tau = r.par.SlowGanglionMS
	}
	g.decay = float32(math.Exp(-r.dt / (tau / 1000)))
	g.targetHz = r.par.MinMeanHz + (r.par.MaxMeanHz-r.par.MinMeanHz)*rng.Float64()
	return g
}

// gridCoords returns grid positions with the given spacing, centred in [0, n−1].
func gridCoords(n int, spacing float64) []float64 {
	k := int(math.Floor(float64(n-1)/spacing)) + 1
	off := (float64(n-1) - float64(k-1)*spacing) / 2
	out := make([]float64, k)
	for i := range out {
		out[i] = off + float64(i)*spacing
	}
	return out
}

// centralCoord draws a coordinate uniformly in the central 40 % of [0, n−1].
func centralCoord(n int, rng *rand.Rand) float64 {
	lo, hi := 0.3*float64(n-1), 0.7*float64(n-1)
	return lo + (hi-lo)*rng.Float64()
}

// gaussianPixels returns the pixels within 2.5σ of c and their Gaussian weights, normalised to
// sum 1 over the full (untruncated by the field edge) kernel.
func gaussianPixels(c Point, sigma float64, h, w int) ([]int32, []float32) {
	rad := 2.5 * sigma
	var idx []int32
	var wt []float32
	total := 0.0
	for y := int(math.Floor(c.Y - rad)); y <= int(math.Ceil(c.Y+rad)); y++ {
		for x := int(math.Floor(c.X - rad)); x <= int(math.Ceil(c.X+rad)); x++ {
			d2 := (float64(y)-c.Y)*(float64(y)-c.Y) + (float64(x)-c.X)*(float64(x)-c.X)
			if d2 > rad*rad {
				continue
			}
			g := math.Exp(-d2 / (2 * sigma * sigma))
			total += g
			if y < 0 || y >= h || x < 0 || x >= w {
				continue
			}
			idx = append(idx, int32(y*w+x))
			wt = append(wt, float32(g))
		}
	}
	for i := range wt {
		wt[i] = float32(float64(wt[i]) / total)
	}
	return idx, wt
}

// gaussianPoints returns the points within 2.5σ of c (at least the nearest one) with Gaussian
// weights normalised to sum 1.
func gaussianPoints(pts []Point, c Point, sigma float64) ([]int32, []float32) {
	var idx []int32
	var ws []float64
	total := 0.0
	best, bestD := 0, math.Inf(1)
	for i, p := range pts {
		d2 := (p.Y-c.Y)*(p.Y-c.Y) + (p.X-c.X)*(p.X-c.X)
		if d2 < bestD {
			best, bestD = i, d2
		}
		if d2 > 6.25*sigma*sigma {
			continue
		}
		g := math.Exp(-d2 / (2 * sigma * sigma))
		idx = append(idx, int32(i))
		ws = append(ws, g)
		total += g
	}
	if len(idx) == 0 {
		return []int32{int32(best)}, []float32{1}
	}
	wt := make([]float32, len(ws))
	for i := range ws {
		wt[i] = float32(ws[i] / total)
	}
	return idx, wt
}

func (r *Retina) gaussianLocs(c Point, sigma float64) ([]int32, []float32) {
	return gaussianPoints(r.locs, c, sigma)
}

// Config returns the configuration the retina was built from.
func (r *Retina) Config() Config { return r.cfg }

// Circuit returns the (resolved) circuit parameters.
func (r *Retina) Circuit() Circuit { return r.par }

// NCells is the number of ganglion cells N.
func (r *Retina) NCells() int { return len(r.cells) }

// CellTypes returns the type of each ganglion cell: "ON-fast", "ON-slow", "OFF-fast",
// "OFF-slow" or "OFF-OMS".
func (r *Retina) CellTypes() []string {
	out := make([]string, len(r.cells))
	for i, c := range r.cells {
		out[i] = c.typ
	}
	return out
}

// CellCentres returns the receptive-field centre of each ganglion cell in pixel coordinates.
func (r *Retina) CellCentres() []Point {
	out := make([]Point, len(r.cells))
	for i, c := range r.cells {
		out[i] = c.centre
	}
	return out
}

// CellSigmas returns the SD (pixels) of each ganglion cell's Gaussian centre.
func (r *Retina) CellSigmas() []float64 {
	out := make([]float64, len(r.cells))
	for i, c := range r.cells {
		out[i] = c.sigma
	}
	return out
}

// NBipolars is the number of bipolar cells Nb (4 per subunit location).
func (r *Retina) NBipolars() int { return 4 * len(r.locs) }

// BipolarCentres returns the centre (pixels) of each bipolar cell, in the column order of
// Response.Bipolar.
func (r *Retina) BipolarCentres() []Point {
	out := make([]Point, 4*len(r.locs))
	for i := range out {
		out[i] = r.locs[i/4]
	}
	return out
}

// BipolarTypes returns the type of each bipolar cell ("ON-fast", "OFF-fast", "ON-slow",
// "OFF-slow", repeating per location).
func (r *Retina) BipolarTypes() []string {
	out := make([]string, 4*len(r.locs))
	for i := range out {
		out[i] = simBipolarTypes[i%4]
	}
	return out
}

// NAmacrines is the number of amacrine cells Na.
func (r *Retina) NAmacrines() int { return len(r.amacs) }

// AmacrineCentres returns the centre (pixels) of each amacrine cell, in the column order of
// Response.Amacrine.
func (r *Retina) AmacrineCentres() []Point { return append([]Point(nil), r.amacs...) }

// AmacrineTypes returns the type of each amacrine cell, in the column order of
// Response.Amacrine: the wide-field ON-OFF cells (WideFieldAmacrine) first, then the
// narrow-field ON (NarrowONAmacrine) and OFF (NarrowOFFAmacrine) cells.
func (r *Retina) AmacrineTypes() []string { return append([]string(nil), r.amacTyp...) }

// Response is the response of a Retina to a stimulus of T frames.
type Response struct {
	// Rates: [T, N] noiseless ganglion firing rate in Hz (the expected spike rate before the
	// refractory suppression).
	Rates datasets.Matrix
	// Spikes: [T, N] spike counts per frame (empty when no random source was given).
	Spikes datasets.Matrix
	// Bipolar: [T, Nb] bipolar potentials v before rectification (OFF cells carry −v), in the
	// column order of BipolarCentres/BipolarTypes; empty from RunGanglion.
	Bipolar datasets.Matrix
	// Amacrine: [T, Na] amacrine potentials, in the column order of AmacrineCentres and
	// AmacrineTypes; empty from RunGanglion.
	Amacrine datasets.Matrix
}

// Run runs stim ([T, H, W], z-scored intensity units, 0 = mean grey) through the circuit,
// starting from rest (all filters at zero, i.e. adapted to a long mean-grey screen), and
// returns the ganglion rates, spikes drawn with rng (nil: no spikes) and all bipolar and
// amacrine potentials. For long stimuli use RunGanglion, which does not keep the
// [T, Nb] interneuron matrices. A stimulus whose frames are not the configured H×W, or whose
// data do not fill [T, H, W], is an error naming both shapes.
func (r *Retina) Run(stim datasets.Movie, rng *rand.Rand) (Response, error) {
	if err := r.checkStimulus(stim); err != nil {
		return Response{}, err
	}
	return r.run(stim, rng, r.allBipolars(), r.allAmacrines(), 0, nil), nil
}

// RunGanglion is Run without the interneuron matrices (Bipolar and Amacrine are empty).
func (r *Retina) RunGanglion(stim datasets.Movie, rng *rand.Rand) (Response, error) {
	if err := r.checkStimulus(stim); err != nil {
		return Response{}, err
	}
	return r.run(stim, rng, nil, nil, 0, nil), nil
}

func (r *Retina) checkStimulus(stim datasets.Movie) error {
	if stim.H != r.cfg.H || stim.W != r.cfg.W {
		return fmt.Errorf("simulated retina: stimulus frames are %dx%d, the retina expects %dx%d", stim.H, stim.W, r.cfg.H, r.cfg.W)
	}
	if stim.T < 0 || len(stim.Data) != stim.T*stim.H*stim.W {
		return fmt.Errorf("simulated retina: stimulus has %d values for a [%d,%d,%d] movie", len(stim.Data), stim.T, stim.H, stim.W)
	}
	return nil
}

func (r *Retina) allBipolars() []int {
	out := make([]int, r.NBipolars())
	for i := range out {
		out[i] = i
	}
	return out
}

func (r *Retina) allAmacrines() []int {
	out := make([]int, r.NAmacrines())
	for i := range out {
		out[i] = i
	}
	return out
}

// simChunk is the number of frames processed per stage of the pipeline.
const simChunk = 512

// runState is the dynamic state of the circuit: everything it carries from one frame to the
// next (the spike generator's refractory history aside, which State adds). The chunk buffers
// are not state: each frame's are computed from the frame and this.
type runState struct {
	bip  []float32 // [bipState · nLoc], variable-major: the filter cascades and contrast estimates
	am   []float32 // [nAm · 2]: two low-pass stages
	gang []float32 // [N]: membrane low-pass
}

// restState is the circuit at rest: every filter at 0, the state adapted to a long grey 0.
func (r *Retina) restState() runState {
	return runState{
		bip:  make([]float32, len(r.locs)*bipState),
		am:   make([]float32, len(r.amacs)*2),
		gang: make([]float32, len(r.cells)),
	}
}

// run simulates stim from rest, first running `warm` frames taken cyclically from the end of
// the movie (not recorded) to bring the circuit to its steady state. recB/recA select the
// bipolars and amacrines whose potentials are recorded. progress is called with the number of
// frames done. The stimulus must have passed checkStimulus (the simulator's own movies do by
// construction).
func (r *Retina) run(stim datasets.Movie, rng *rand.Rand, recB, recA []int, warm int, progress func(int)) Response {
	st := r.restState()
	resp := r.record(&st, stim, recB, recA, warm, progress)
	if rng != nil {
		resp.Spikes = r.Spikes(resp.Rates, rng)
	}
	return resp
}

// record is run without spikes, from st, which it advances to the state after the last frame.
func (r *Retina) record(st *runState, stim datasets.Movie, recB, recA []int, warm int, progress func(int)) Response {
	n := len(r.cells)
	nLoc, nAm := len(r.locs), len(r.amacs)
	T := stim.T
	resp := Response{Rates: datasets.NewMatrix(T, n)}
	if len(recB) > 0 {
		resp.Bipolar = datasets.NewMatrix(T, len(recB))
	}
	if len(recA) > 0 {
		resp.Amacrine = datasets.NewMatrix(T, len(recA))
	}
	r.simulate(stim, warm, st, func(t0, c int, buf *chunkBufs, drive []float32) {
		for k := 0; k < c; k++ {
			row := resp.Rates.Row(t0 + k)
			for i := range r.cells {
				row[i] = r.rate(i, drive[k*n+i])
			}
			if len(recB) > 0 {
				brow := resp.Bipolar.Row(t0 + k)
				vk := buf.v[k*nLoc*2 : (k+1)*nLoc*2]
				for j, bi := range recB {
					v := vk[(bi/4)*2+(bi%4)/2]
					if bi%2 == 1 {
						v = -v
					}
					brow[j] = v
				}
			}
			if len(recA) > 0 {
				arow := resp.Amacrine.Row(t0 + k)
				ak := buf.a[k*nAm : (k+1)*nAm]
				for j, ai := range recA {
					arow[j] = ak[ai]
				}
			}
		}
		if progress != nil {
			progress(c)
		}
	})
	return resp
}

// simulate runs stim through the circuit from st (restState: from rest), which it advances in
// place: first `warm` frames taken cyclically from the end of the movie (not reported), then the
// whole movie in chunks of at most simChunk frames, calling onChunk(t0, c, buf, drive) after
// each chunk of frames [t0, t0+c) with the chunk's buffers and the ganglion drive [c, N]. Each
// frame's arithmetic is the same whatever chunk it falls in, so running A and then B from the
// state A leaves gives B's outputs of running A+B, bit for bit (TestRunFromContinues).
func (r *Retina) simulate(stim datasets.Movie, warm int, st *runState, onChunk func(t0, c int, buf *chunkBufs, drive []float32)) {
	warm = min(warm, stim.T)
	n := len(r.cells)
	buf := newChunkBufs(len(r.locs), len(r.amacs))
	drive := make([]float32, simChunk*n)
	step := func(t0, t1 int) {
		f := stim.Slice(t0, t1)
		r.stageSpatial(f, buf.u)
		r.stageBipolar(f.T, buf.u, buf.v, buf.b, st.bip)
		r.stageAmacrine(f.T, buf.b, buf.a, st.am)
		r.stageGanglion(f.T, buf.b, buf.a, drive, st.gang)
	}
	for t := stim.T - warm; t < stim.T; t += simChunk {
		step(t, min(t+simChunk, stim.T))
	}
	for t := 0; t < stim.T; t += simChunk {
		e := min(t+simChunk, stim.T)
		step(t, e)
		onChunk(t, e-t, &buf, drive)
	}
}

type chunkBufs struct {
	u []float32 // [c, nLoc] spatially pooled stimulus
	v []float32 // [c, nLoc·2] bipolar potential per location and class
	b []float32 // [c, nLoc·4] rectified bipolar output
	a []float32 // [c, nAm] amacrine potential
}

func newChunkBufs(nLoc, nAm int) chunkBufs {
	return chunkBufs{
		u: make([]float32, simChunk*nLoc),
		v: make([]float32, simChunk*nLoc*2),
		b: make([]float32, simChunk*nLoc*4),
		a: make([]float32, simChunk*nAm),
	}
}

// parallel runs f(lo, hi) over [0, n) split into contiguous blocks, one per worker. Each
// index is handled by exactly one call, so results do not depend on the number of workers.
func parallel(n int, f func(lo, hi int)) {
	w := runtime.GOMAXPROCS(0)
	if w > n {
		w = n
	}
	if w <= 1 || n < 8 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < w; k++ {
		lo, hi := k*n/w, (k+1)*n/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// stageSpatial: u[t, l] = Σ_p w_lp s[t, p].
func (r *Retina) stageSpatial(frames datasets.Movie, u []float32) {
	nLoc := len(r.locs)
	parallel(frames.T, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			f := frames.Frame(t)
			ut := u[t*nLoc : (t+1)*nLoc]
			for l := range ut {
				ut[l] = r.locSpat.dot(l, f)
			}
		}
	})
}

// stageBipolar runs the adaptive biphasic filters and the rectifiers: in parallel over blocks
// of locations, each block stepping through time with its locations in the inner loop (the
// state is stored variable-major, [bipState][nLoc], so the inner loop is contiguous).
func (r *Retina) stageBipolar(c int, u, v, b, state []float32) {
	nLoc := len(r.locs)
	p := r.par
	dt := float32(r.dt)
	cA := r.contrA
	cHalf := float32(p.ContrastHalf)
	gamma := float32(p.SpeedUp)
	amp := float32(p.BipolarGain / p.ContrastHalf)
	eps2 := float32(p.RectSoftness * p.RectSoftness)
	th := float32(p.BipolarThresh)
	fa, sl := r.classes[0], r.classes[1]
	fr1, fr2 := dt/float32(fa.tau1), dt/float32(fa.tau2)
	sr1, sr2 := dt/float32(sl.tau1), dt/float32(sl.tau2)
	sv := func(k, lo, hi int) []float32 { return state[k*nLoc+lo : k*nLoc+hi] }
	parallel(nLoc, func(lo, hi int) {
		n := hi - lo
		F1, F2, F3, S1, S2, S3 := sv(0, lo, hi), sv(1, lo, hi), sv(2, lo, hi), sv(3, lo, hi), sv(4, lo, hi), sv(5, lo, hi)
		Q1, Q2, Q3, W1, W2, W3 := sv(6, lo, hi), sv(7, lo, hi), sv(8, lo, hi), sv(9, lo, hi), sv(10, lo, hi), sv(11, lo, hi)
		CF, CS := sv(12, lo, hi), sv(13, lo, hi) // local contrast (variance) estimates
		for t := 0; t < c; t++ {
			ut := u[t*nLoc+lo : t*nLoc+hi]
			vt := v[(t*nLoc+lo)*2 : (t*nLoc+hi)*2]
			bt := b[(t*nLoc+lo)*4 : (t*nLoc+hi)*4]
			for i := 0; i < n; i++ {
				in := ut[i]
				// Fast class.
				g := cHalf / (cHalf + sqrt32(CF[i]))
				speed := 1 / (gamma + (1-gamma)*g)
				h1, h2 := fr1*speed, fr2*speed
				i1, i2 := 1/(1+h1), 1/(1+h2)
				f1 := (F1[i] + h1*in) * i1
				f2 := (F2[i] + h1*f1) * i1
				f3 := (F3[i] + h1*f2) * i1
				s1 := (S1[i] + h2*in) * i2
				s2 := (S2[i] + h2*s1) * i2
				s3 := (S3[i] + h2*s2) * i2
				F1[i], F2[i], F3[i], S1[i], S2[i], S3[i] = f1, f2, f3, s1, s2, s3
				lin := f3 - fa.beta*s3
				CF[i] = cA*CF[i] + (1-cA)*lin*lin
				v0 := amp * g * lin
				// Slow class.
				g = cHalf / (cHalf + sqrt32(CS[i]))
				speed = 1 / (gamma + (1-gamma)*g)
				h1, h2 = sr1*speed, sr2*speed
				i1, i2 = 1/(1+h1), 1/(1+h2)
				q1 := (Q1[i] + h1*in) * i1
				q2 := (Q2[i] + h1*q1) * i1
				q3 := (Q3[i] + h1*q2) * i1
				w1 := (W1[i] + h2*in) * i2
				w2 := (W2[i] + h2*w1) * i2
				w3 := (W3[i] + h2*w2) * i2
				Q1[i], Q2[i], Q3[i], W1[i], W2[i], W3[i] = q1, q2, q3, w1, w2, w3
				lin = q3 - sl.beta*w3
				CS[i] = cA*CS[i] + (1-cA)*lin*lin
				v1 := amp * g * lin
				vt[2*i], vt[2*i+1] = v0, v1
				y0, y1, y2, y3 := v0-th, -v0-th, v1-th, -v1-th
				bt[4*i] = 0.5 * (y0 + sqrt32(y0*y0+eps2))
				bt[4*i+1] = 0.5 * (y1 + sqrt32(y1*y1+eps2))
				bt[4*i+2] = 0.5 * (y2 + sqrt32(y2*y2+eps2))
				bt[4*i+3] = 0.5 * (y3 + sqrt32(y3*y3+eps2))
			}
		}
	})
}

// bipState is the number of state variables per subunit location: two 3+3-stage cascades
// (fast and slow class) and their local contrast (variance) estimates.
const bipState = 14

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// stageAmacrine: the pooled fast bipolar output (parallel over frames), then the two-stage
// low-pass of each amacrine (parallel over amacrines). a holds the pooled input on entry to
// the second step and the amacrine potential on exit.
func (r *Retina) stageAmacrine(c int, b, a, state []float32) {
	nAm, nB := len(r.amacs), 4*len(r.locs)
	parallel(c, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			bt := b[t*nB : (t+1)*nB]
			at := a[t*nAm : (t+1)*nAm]
			for j := range at {
				at[j] = r.amacIn.dot(j, bt)
			}
		}
	})
	parallel(nAm, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			aA := r.amacA[j]
			x1, x2 := state[2*j], state[2*j+1]
			for t := 0; t < c; t++ {
				x1 = aA*x1 + (1-aA)*a[t*nAm+j]
				x2 = aA*x2 + (1-aA)*x1
				a[t*nAm+j] = x2
			}
			state[2*j], state[2*j+1] = x1, x2
		}
	})
}

// stageGanglion: centre excitation minus amacrine inhibition (wide-field and crossover),
// membrane low-pass. Cells are independent, so they run in parallel.
func (r *Retina) stageGanglion(c int, b, a, drive, state []float32) {
	n, nAm, nB := len(r.cells), len(r.amacs), 4*len(r.locs)
	parallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := &r.cells[i]
			for t := 0; t < c; t++ {
				bt := b[t*nB : (t+1)*nB]
				at := a[t*nAm : (t+1)*nAm]
				e, in := float32(0), float32(0)
				for p := range g.exc {
					for k, j := range g.exc[p] {
						e += g.excW[p][k] * bt[j]
					}
				}
				for k, j := range g.inh {
					in += g.inhW[k] * at[j]
				}
				state[i] = g.decay*state[i] + (1-g.decay)*(e-in)
				drive[t*n+i] = state[i]
			}
		}
	})
}

// rate maps a cell's drive to its firing rate in Hz: f = R·softplus(k·(x−μ)/σ + b), then
// the dead-time (absolute refractory period τ_d) saturation f/(1 + f·τ_d).
func (r *Retina) rate(i int, x float32) float32 {
	g := &r.cells[i]
	z := float64((x - g.mu) / g.sd)
	return float32(r.saturate(r.par.MaxRateHz * softplus(r.par.NonlinSlope*z+g.bias)))
}

// saturate is the rate of a Poisson-like spike generator of rate f with an absolute refractory
// period (dead time) τ_d: f / (1 + f·τ_d), at most 1/τ_d.
func (r *Retina) saturate(f float64) float64 { return f / (1 + f*r.par.DeadTimeMS/1000) }

func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

// Spikes draws spike counts per frame from rates ([T, N] Hz): Poisson with mean
// rate·dt·exp(−κ·h), where h is an exponentially decaying (τ = RefractoryMS) count of the
// cell's previous spikes (relative refractoriness). Deterministic given rng.
func (r *Retina) Spikes(rates datasets.Matrix, rng *rand.Rand) datasets.Matrix {
	return r.spikesFrom(rates, rng, make([]float64, rates.Cols))
}

// spikesFrom is Spikes continuing from the refractory history hist ([N], the decaying count of
// each cell's previous spikes; 0 at rest), which it advances in place. rng is drawn from frame
// by frame, cell by cell, so drawing A and then B from A's history with the same rng gives the
// spikes of drawing A+B.
func (r *Retina) spikesFrom(rates datasets.Matrix, rng *rand.Rand, hist []float64) datasets.Matrix {
	out := datasets.NewMatrix(rates.Rows, rates.Cols)
	kappa := r.par.RefractoryStrength
	for t := 0; t < rates.Rows; t++ {
		rt, ot := rates.Row(t), out.Row(t)
		for i := range rt {
			m := float64(rt[i]) * r.dt * math.Exp(-kappa*hist[i])
			k := poisson(m, rng)
			ot[i] = float32(k)
			hist[i] = hist[i]*r.refractA + float64(k)
		}
	}
	return out
}

// poisson draws a Poisson variate of mean m (Knuth's method for small means, a rounded normal
// approximation for large ones).
func poisson(m float64, rng *rand.Rand) int {
	if m <= 0 {
		return 0
	}
	if m > 30 {
		k := int(math.Round(m + math.Sqrt(m)*rng.NormFloat64()))
		return max(k, 0)
	}
	l := math.Exp(-m)
	k, p := 0, rng.Float64()
	for p > l {
		k++
		p *= rng.Float64()
	}
	return k
}

// calibrate sets each cell's drive standardisation (μ, σ) and nonlinearity bias b so that its
// mean rate on a calibration stimulus (20 s of Gaussian white noise at the configured contrast
// with 1-px checks, from its own random stream) equals its target mean rate. Natural scenes
// then drive the cells harder than white noise, as in the retina. The check size is fixed
// rather than the recording's cfg.CheckerPixels so that the retina of a preset and seed is one
// retina whatever white noise is recorded from it (simulate --checker-pixels), the retina
// phenomena.TruthFor rebuilds from the preset and seed alone.
func (r *Retina) calibrate() {
	cfg := r.cfg
	cfg.CheckerPixels = 1
	n := int(math.Round(20 * cfg.FrameRate))
	wn := whiteNoiseMovie(cfg, n, false, cfg.stream("calibration-whitenoise", 0))
	d := r.drives(wn, min(n, int(math.Round(cfg.FrameRate))))
	drives := make([][]float32, len(r.cells)) // per cell
	for i := range r.cells {
		drives[i] = d.Column(i)
	}
	k := r.par.NonlinSlope
	for i := range r.cells {
		g := &r.cells[i]
		var s, s2 float64
		for _, x := range drives[i] {
			s += float64(x)
			s2 += float64(x) * float64(x)
		}
		m := s / float64(len(drives[i]))
		sd := math.Sqrt(math.Max(s2/float64(len(drives[i]))-m*m, 1e-12))
		g.mu, g.sd = float32(m), float32(sd)
		z := make([]float64, len(drives[i]))
		for t, x := range drives[i] {
			z[t] = (float64(x) - m) / sd
		}
		meanRate := func(b float64) float64 {
			acc := 0.0
			for _, v := range z {
				acc += r.saturate(r.par.MaxRateHz * softplus(k*v+b))
			}
			return acc / float64(len(z))
		}
		lo, hi := -20.0, 10.0
		for it := 0; it < 60; it++ {
			mid := (lo + hi) / 2
			if meanRate(mid) < g.targetHz {
				lo = mid
			} else {
				hi = mid
			}
		}
		g.bias = (lo + hi) / 2
	}
}

// drives returns the [T, N] ganglion drive (before the output nonlinearity) for m.
func (r *Retina) drives(m datasets.Movie, warm int) datasets.Matrix {
	n := len(r.cells)
	out := datasets.NewMatrix(m.T, n)
	st := r.restState()
	r.simulate(m, warm, &st, func(t0, c int, _ *chunkBufs, drive []float32) {
		copy(out.Data[t0*n:(t0+c)*n], drive[:c*n])
	})
	return out
}
