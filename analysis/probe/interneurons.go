package probe

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
	"github.com/deepretina/deepretina/retina"
)

// Units of an interneuron file's stimulus (InterneuronOptions.Units).
const (
	// StimulusAuto: the simulator's files (provenance "simulated retina …") are in raw units,
	// any other file in the model's normalised units, as the reference reads the lab's files.
	StimulusAuto = ""
	// StimulusRaw: the raw units of the recording the model was trained on (the model applies
	// its norm stats), as `deepretina simulate` writes them.
	StimulusRaw = "raw"
	// StimulusNormalized: the model's z-scored input units (0 = mean grey), as the reference
	// feeds the lab's interneuron stimuli to its models.
	StimulusNormalized = "normalized"
)

// simulatedProvenance starts the provenance of the simulator's files.
const simulatedProvenance = "simulated retina"

// InterneuronOptions say how an interneuron file is read for a model.
type InterneuronOptions struct {
	// Groups are the stimulus groups to use; nil: every group of the simulator's files
	// ("whitenoise", "flashes"); of other files "boxes" when the file has it (the reference's
	// choice), else "whitenoise", else every group.
	Groups []string
	Units  string // StimulusAuto (default), StimulusRaw or StimulusNormalized
}

// InterneuronData is one stimulus group of an interneuron file, prepared for a model.
type InterneuronData struct {
	Source   string // the file's label (its base name)
	CellType string // "bipolar", "amacrine", "horizontal" (the file's type, singular)
	Group    string // stimulus group ("boxes", "whitenoise", …)
	// Stimulus: [T, H, W] in the model's raw units, padded or cropped to its frame.
	Stimulus datasets.Movie
	// Potentials: [T−History, N]: row t is frame t+History, aligned with the rows of
	// retina.Model.Hidden and Predict.
	Potentials datasets.Matrix
	// Subtypes: the subtype of each cell (column of Potentials) when the file labels its cells
	// one by one (datasets.InterneuronSet.Types: e.g. narrow-field ON and OFF amacrines beside
	// wide-field ones); nil when it does not. Summaries are by CellType, with a breakdown by
	// subtype (InterneuronComparison.BySubtype).
	Subtypes []string
	// CellIndex: each column's index in the file (nil: the column's own), kept when duplicate
	// cells are merged (MergeDuplicateCells).
	CellIndex []int
}

// CellTypeName is the singular cell type of an interneuron file's type ("bipolars" →
// "bipolar"); unknown types come back as they are.
func CellTypeName(fileType string) string {
	t := strings.ToLower(fileType)
	switch t {
	case "bipolars", "amacrines", "horizontals":
		return strings.TrimSuffix(t, "s")
	}
	if t == "" {
		return "unknown"
	}
	return t
}

// PrepareInterneurons reads the groups of an interneuron file for a model with input in, with
// the reference's conventions (torch-deep-retina's load_interneuron_data):
//
//   - a "boxes" stimulus s (0/1) becomes 2s − 1;
//   - frames are padded with mean grey (the model's z = 0) or cropped to its H×W, centred;
//   - the first History samples of the potentials are dropped, so that row t of the potentials
//     is the frame right after the model's window t (the reference drops its 40);
//   - a stimulus in normalised units is converted to raw units (z·std + mean) so that the model,
//     which normalises raw stimuli, sees it as the reference's models do.
//
// label names the file in results (its base name by default).
func PrepareInterneurons(set *datasets.InterneuronSet, label string, in analysis.Input, opts InterneuronOptions) ([]InterneuronData, error) {
	if set == nil || len(set.Groups) == 0 {
		return nil, fmt.Errorf("interneurons %s: no stimulus groups", label)
	}
	if in.History < 1 || in.H < 1 || in.W < 1 || !(in.Norm.Std > 0) {
		return nil, fmt.Errorf("interneurons %s: invalid model input %+v", label, in)
	}
	simulated := strings.HasPrefix(set.Provenance, simulatedProvenance)
	units := opts.Units
	switch units {
	case StimulusAuto:
		units = StimulusNormalized
		if simulated {
			units = StimulusRaw
		}
	case StimulusRaw, StimulusNormalized:
	default:
		return nil, fmt.Errorf("interneurons %s: stimulus units %q: expected %q or %q", label, opts.Units, StimulusRaw, StimulusNormalized)
	}
	groups := set.Groups
	if opts.Groups != nil || !simulated {
		var err error
		if groups, err = chooseGroups(set, opts.Groups); err != nil {
			return nil, fmt.Errorf("interneurons %s: %w", label, err)
		}
	}
	var out []InterneuronData
	for _, g := range groups {
		if g.Stimuli.T <= in.History+1 {
			return nil, fmt.Errorf("interneurons %s: group %q has %d frames; the model's history alone is %d", label, g.Name, g.Stimuli.T, in.History)
		}
		stim := g.Stimuli
		if g.Name == "boxes" {
			stim = mapMovie(stim, func(v float32) float32 { return 2*v - 1 })
		}
		if units == StimulusNormalized {
			stim = mapMovie(stim, in.Raw)
		}
		stim = fitFrame(stim, in.H, in.W, in.Raw(0))
		p := g.Potentials
		pot := datasets.NewMatrix(p.Rows-in.History, p.Cols)
		copy(pot.Data, p.Data[in.History*p.Cols:])
		var sub []string
		if len(set.Types) == p.Cols {
			sub = append(sub, set.Types...)
		}
		out = append(out, InterneuronData{Source: label, CellType: CellTypeName(set.CellType), Group: g.Name,
			Stimulus: stim, Potentials: pot, Subtypes: sub})
	}
	return out, nil
}

func chooseGroups(set *datasets.InterneuronSet, names []string) ([]datasets.InterneuronGroup, error) {
	have := make([]string, len(set.Groups))
	for i, g := range set.Groups {
		have[i] = g.Name
	}
	find := func(n string) int { return slices.Index(have, n) }
	if names == nil {
		for _, pref := range []string{"boxes", "whitenoise"} {
			if i := find(pref); i >= 0 {
				return set.Groups[i : i+1], nil
			}
		}
		return set.Groups, nil
	}
	var out []datasets.InterneuronGroup
	for _, n := range names {
		i := find(n)
		if i < 0 {
			return nil, fmt.Errorf("no stimulus group %q (the file has %s)", n, strings.Join(have, ", "))
		}
		out = append(out, set.Groups[i])
	}
	return out, nil
}

// LoadInterneurons reads interneuron files (datasets.LoadInterneuronFile) and prepares them for
// a model (PrepareInterneurons), labelled by their base names.
func LoadInterneurons(paths []string, in analysis.Input, opts InterneuronOptions) ([]InterneuronData, error) {
	var out []InterneuronData
	for _, p := range paths {
		set, err := datasets.LoadInterneuronFile(p)
		if err != nil {
			return nil, err
		}
		d, err := PrepareInterneurons(set, filepath.Base(p), in, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, d...)
	}
	return out, nil
}

// SimulateInterneurons returns the interneuron recordings ("bipolars", "amacrines") that
// `deepretina simulate` writes for cfg, without simulating its ganglion-cell recordings at
// length: they do not depend on the recordings' lengths, only on the circuit and the seed.
func SimulateInterneurons(cfg simretina.Config) ([]*datasets.InterneuronSet, error) {
	short := cfg
	short.TrainSeconds = 2 / cfg.FrameRate
	short.TestSeconds = 2 / cfg.FrameRate
	short.Repeats = 2
	sim, err := simretina.Simulate(short, []string{datasets.WhiteNoise}, nil)
	if err != nil {
		return nil, fmt.Errorf("simulate the interneurons of %s seed %d: %w", cfg.Name, cfg.Seed, err)
	}
	return sim.Interneurons, nil
}

// CompareOptions choose what CompareInterneurons correlates.
type CompareOptions struct {
	Layers []string // hidden layers (nil: all)
	// AfterNonlinearity correlates the units after their ReLU. By default they are read before
	// it, at the batch norm's output: the graded signal closest to a membrane potential, and
	// what the reference's default layers ("sequential.2", "sequential.8") are.
	AfterNonlinearity bool
	// MaxShift tries the stimulus shifted (circularly) by every (dy, dx) with |dy|, |dx| ≤
	// MaxShift pixels, so that a cell whose receptive field sits where the layer has no unit
	// (its valid-convolution border) can still be matched; 0: no shift.
	MaxShift int
}

// UnitMatch is the best unit of one layer for one recorded cell.
type UnitMatch struct {
	Layer   string  `json:"layer"`
	R       float64 `json:"r"`
	Channel int     `json:"channel"`
	Row     int     `json:"row"`
	Col     int     `json:"col"`
	ShiftY  int     `json:"shift_y"` // the stimulus shift (pixels) at which the unit was found
	ShiftX  int     `json:"shift_x"`
}

// CellComparison is one recorded cell compared with every unit of the model.
type CellComparison struct {
	Source   string      `json:"file"`
	Group    string      `json:"group"`
	CellType string      `json:"cell_type"`
	Subtype  string      `json:"subtype,omitempty"` // the file's label of this cell, if any
	Cell     int         `json:"cell"`              // index in the file
	Layers   []UnitMatch `json:"layers"`
	Best     UnitMatch   `json:"best"` // the best of Layers (in sample)
	// HeldOut: the unit chosen on the selection part and scored on the scoring part, with the
	// cell's circular-shift null; nil when the series is too short to split.
	HeldOut *HeldOut `json:"held_out"`
	// Maps: per layer, the r of every unit [C][H·W] (row-major) at the shift of that layer's
	// best unit: the reference's correlation maps.
	Maps map[string][][]float64 `json:"-"`
}

// ChannelBest is the best r of each channel of a layer (from Maps).
func (c CellComparison) ChannelBest(layer string) []float64 {
	m := c.Maps[layer]
	out := make([]float64, len(m))
	for ch, rs := range m {
		out[ch] = math.Inf(-1)
		for _, r := range rs {
			out[ch] = math.Max(out[ch], r)
		}
	}
	return out
}

// HeldOutMatch is a unit chosen on the selection part of a cell's series and scored on its
// scoring part (heldout.go): R is the held-out r, SelectionR the r that chose it.
type HeldOutMatch struct {
	UnitMatch
	SelectionR float64 `json:"selection_r"`
}

// HeldOut is a cell's held-out score and its null.
type HeldOut struct {
	Layers []HeldOutMatch `json:"layers"` // per layer: its unit chosen on the selection part
	Best   HeldOutMatch   `json:"best"`   // the unit chosen over every layer on the selection part
	// Null: the mean held-out r (Best's procedure) of the cell's potential shifted circularly
	// against the stimulus by NullShifts samples; NullInSample the mean best r of the shifted
	// copies over the whole series (the in-sample procedure's null).
	Null         float64   `json:"null"`
	NullInSample float64   `json:"null_in_sample"`
	NullRs       []float64 `json:"null_held_out_rs"`
	NullShifts   []int     `json:"null_shifts"`
}

// TypeSummary is the mean best r of the cells of one type: in sample (the reference's
// procedure: the best unit's r on the series it was chosen on), held out, and their nulls.
type TypeSummary struct {
	Cells    int                `json:"cells"`
	MeanBest float64            `json:"mean_best_r"`          // in sample: mean over cells of the best r over layers
	ByLayer  map[string]float64 `json:"mean_best_r_by_layer"` // in sample: mean over cells of each layer's best r
	// HeldOut: mean over cells of the held-out r of the unit chosen on the selection part;
	// Null and NullInSample: the mean of the cells' circular-shift nulls (NaN when the series is
	// too short to split).
	HeldOut        float64            `json:"mean_held_out_r"`
	HeldOutByLayer map[string]float64 `json:"mean_held_out_r_by_layer"`
	Null           float64            `json:"mean_null_held_out_r"`
	NullInSample   float64            `json:"mean_null_in_sample_r"`
}

// InterneuronComparison is the result of CompareInterneurons.
type InterneuronComparison struct {
	Layers          []retina.Layer `json:"-"`
	PreNonlinearity bool           `json:"pre_nonlinearity"`
	MaxShift        int            `json:"max_shift"`
	// Split: per recording (Source/Group), the rows of the selection part, the gap and the
	// scoring part ([0, a), [a, a+History), [a+History, T)); RepeatedStimulus: recordings
	// whose scoring part only repeats stimulus windows of the selection part (repeatedStimulus),
	// whose held-out r is therefore no test of generalisation.
	Split            map[string][4]int      `json:"held_out_split"`
	RepeatedStimulus []string               `json:"repeated_stimulus,omitempty"`
	Cells            []CellComparison       `json:"cells"`
	ByType           map[string]TypeSummary `json:"by_type"` // keyed by cell type ("bipolar", "amacrine")
	// BySubtype: the same per cell type and subtype ("amacrine narrow-field ON"), for files
	// that label their cells (InterneuronData.Subtypes).
	BySubtype map[string]TypeSummary `json:"by_subtype,omitempty"`
}

// CompareInterneurons correlates every unit (channel × row × column) of the chosen layers with
// every recorded cell of data (Pearson r over time), trying each stimulus shift, and keeps, per
// cell and layer, the best unit over the whole series (in sample, with its correlation maps:
// the reference's procedure) and the unit chosen on the first half and scored on the second
// (held out, with a circular-shift null; heldout.go), and the means per cell type. Units that
// are constant (the reference's rule, see quiet) score r = 0, as does a constant recording.
func CompareInterneurons(rec analysis.Recorder, data []InterneuronData, opts CompareOptions) (*InterneuronComparison, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("compare interneurons: no recordings")
	}
	if opts.MaxShift < 0 {
		return nil, fmt.Errorf("compare interneurons: max shift %d: expected ≥ 0 pixels", opts.MaxShift)
	}
	layers, err := analysis.SelectLayers(rec.Layers(), opts.Layers)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(layers))
	for i, l := range layers {
		names[i] = l.Name
	}
	in := rec.Input()
	res := &InterneuronComparison{Layers: layers, PreNonlinearity: !opts.AfterNonlinearity, MaxShift: opts.MaxShift,
		Split: map[string][4]int{}}
	for _, d := range data {
		if d.Stimulus.H != in.H || d.Stimulus.W != in.W {
			return nil, fmt.Errorf("%s/%s: stimulus frames %d×%d, the model's are %d×%d (use PrepareInterneurons)", d.Source, d.Group, d.Stimulus.H, d.Stimulus.W, in.H, in.W)
		}
		rows := d.Stimulus.T - in.History
		if d.Potentials.Rows != rows {
			return nil, fmt.Errorf("%s/%s: %d potential samples for %d model windows (use PrepareInterneurons)", d.Source, d.Group, d.Potentials.Rows, rows)
		}
		if d.Subtypes != nil && len(d.Subtypes) != d.Potentials.Cols {
			return nil, fmt.Errorf("%s/%s: %d subtype labels for %d cells", d.Source, d.Group, len(d.Subtypes), d.Potentials.Cols)
		}
		cells, err := compareRecording(rec, d, layers, names, rows, opts)
		if err != nil {
			return nil, err
		}
		if cells.split != nil {
			res.Split[d.Source+"/"+d.Group] = *cells.split
			if cells.repeated {
				res.RepeatedStimulus = append(res.RepeatedStimulus, d.Source+"/"+d.Group)
			}
		}
		res.Cells = append(res.Cells, cells.cells...)
	}
	res.ByType = summarizeTypes(res.Cells, names)
	var labelled []CellComparison
	for _, c := range res.Cells {
		if c.Subtype != "" {
			c.CellType = c.CellType + " " + c.Subtype
			labelled = append(labelled, c)
		}
	}
	if len(labelled) > 0 {
		res.BySubtype = summarizeTypes(labelled, names)
	}
	return res, nil
}

type recordingComparison struct {
	cells    []CellComparison
	split    *[4]int
	repeated bool
}

// candidate tracks one target's best unit of one layer: over the whole series (full) and on
// the selection part (sel, with its r on the scoring part).
type candidate struct {
	full, sel UnitMatch
	selR      float64
}

func compareRecording(rec analysis.Recorder, d InterneuronData, layers []retina.Layer, names []string, rows int, opts CompareOptions) (recordingComparison, error) {
	in := rec.Input()
	nc := d.Potentials.Cols
	bounds, canSplit := heldOutSplit(rows, in.History)
	var shifts []int
	if canSplit {
		shifts = circularNullShifts(rows, in.History)
	}
	// Targets: the cells, then each cell's shifted copies (cell c, copy j at nc + c·ns + j).
	targets, cells := comparisonTargets(d, layers, shifts)
	K := len(targets)
	// best[k][layer]: the candidates of target k in each layer.
	best := make([][]candidate, K)
	for k := range best {
		best[k] = make([]candidate, len(layers))
		for i, l := range layers {
			best[k][i] = candidate{full: UnitMatch{Layer: l.Name, R: math.Inf(-1)}, sel: UnitMatch{Layer: l.Name, R: math.NaN()},
				selR: math.Inf(-1)}
		}
	}
	segsFull := []int{segSelect, segGap, segScore}
	if !canSplit {
		bounds = [nSegments + 1]int{0, rows, rows, rows}
		segsFull = []int{segSelect}
	}
	for dy := -opts.MaxShift; dy <= opts.MaxShift; dy++ {
		for dx := -opts.MaxShift; dx <= opts.MaxShift; dx++ {
			stim := d.Stimulus
			if dy != 0 || dx != 0 {
				stim = shiftMovie(d.Stimulus, dy, dx)
			}
			acts, err := rec.Record(stim, names, !opts.AfterNonlinearity)
			if err != nil {
				return recordingComparison{}, fmt.Errorf("%s/%s: %w", d.Source, d.Group, err)
			}
			if err := analysis.CheckRecorded(acts, layers, rows); err != nil {
				return recordingComparison{}, err
			}
			for i, a := range acts {
				l := layers[i]
				st := correlateSegments(a.Data, rows, l.Shape[0]*l.Shape[1]*l.Shape[2], targets, bounds)
				updateBest(best, cells, targets, l, i, st, segsFull, canSplit, dy, dx)
			}
		}
	}
	for c := range cells {
		finishCell(&cells[c], layers, best, targets, c, nc, shifts, canSplit)
	}
	out := recordingComparison{cells: cells}
	if canSplit {
		b := [4]int(bounds)
		out.split = &b
		out.repeated = repeatedStimulus(d.Stimulus, in.History, bounds)
	}
	return out, nil
}

// updateBest updates, for every target k (nil: a constant cell, skipped), its best unit of
// layer l (best[k][i]) with the correlations st at stimulus shift (dy, dx): over the whole series
// (segsFull) and, when the series can be split, on the selection part with its r on the scoring
// part. A cell's best unit over the whole series also sets its map of r over the layer's units.
func updateBest(best [][]candidate, cells []CellComparison, targets [][]float64, l retina.Layer, i int, st *segStats,
	segsFull []int, canSplit bool, dy, dx int) {
	nu := l.Shape[0] * l.Shape[1] * l.Shape[2]
	hw := l.Shape[1] * l.Shape[2]
	unit := func(u int, r float64) UnitMatch {
		return UnitMatch{Layer: l.Name, R: r, Channel: u / hw, Row: (u % hw) / l.Shape[2], Col: u % l.Shape[2], ShiftY: dy, ShiftX: dx}
	}
	full := make([]float64, nu)
	for k := range targets {
		if targets[k] == nil {
			continue
		}
		bf, atF := math.Inf(-1), 0
		bs, atS := math.Inf(-1), 0
		for u := 0; u < nu; u++ {
			r := st.r(u, k, segsFull...)
			full[u] = r
			if r > bf {
				bf, atF = r, u
			}
			if canSplit {
				if rs := st.r(u, k, segSelect); rs > bs {
					bs, atS = rs, u
				}
			}
		}
		cd := &best[k][i]
		if canSplit && bs > cd.selR {
			cd.selR = bs
			cd.sel = unit(atS, st.r(atS, k, segScore))
		}
		if bf > cd.full.R {
			cd.full = unit(atF, bf)
			if k < len(cells) {
				m := make([][]float64, l.Shape[0])
				for ch := range m {
					m[ch] = append([]float64(nil), full[ch*hw:(ch+1)*hw]...)
				}
				cells[k].Maps[l.Name] = m
			}
		}
	}
}

// comparisonTargets returns the standardised potentials of d's cells, then each cell's
// circularly shifted copies (cell c, copy j at nc + c·ns + j; nil for a constant cell), and the
// cells' comparisons, empty.
func comparisonTargets(d InterneuronData, layers []retina.Layer, shifts []int) ([][]float64, []CellComparison) {
	nc, ns := d.Potentials.Cols, len(shifts)
	targets := make([][]float64, nc*(1+ns))
	cells := make([]CellComparison, nc)
	for c := range cells {
		sub := ""
		if d.Subtypes != nil {
			sub = d.Subtypes[c]
		}
		idx := c
		if d.CellIndex != nil {
			idx = d.CellIndex[c]
		}
		cells[c] = CellComparison{Source: d.Source, Group: d.Group, CellType: d.CellType, Subtype: sub, Cell: idx,
			Layers: make([]UnitMatch, len(layers)), Maps: map[string][][]float64{}}
		for i, l := range layers {
			cells[c].Layers[i] = UnitMatch{Layer: l.Name, R: math.Inf(-1)}
		}
		if z, ok := analysis.Standardize(d.Potentials.Column(c)); ok {
			targets[c] = z
			for j, s := range shifts {
				targets[nc+c*ns+j] = rotate(z, s)
			}
		}
	}
	return targets, cells
}

// pickHeldOut returns the candidate of the best selection r over layers, and the best
// in-sample r.
func pickHeldOut(cs []candidate) (HeldOutMatch, float64) {
	b := 0
	fullBest := math.Inf(-1)
	for i, c := range cs {
		if c.selR > cs[b].selR {
			b = i
		}
		fullBest = math.Max(fullBest, c.full.R)
	}
	return HeldOutMatch{UnitMatch: cs[b].sel, SelectionR: cs[b].selR}, fullBest
}

// finishCell fills in cell c's best unit per layer and overall and, when the series could be
// split, its held-out match and circular-shift null from the candidates.
func finishCell(cell *CellComparison, layers []retina.Layer, best [][]candidate, targets [][]float64, c, nc int, shifts []int, canSplit bool) {
	ns := len(shifts)
	if targets[c] == nil {
		// A constant recording scores 0 everywhere (r = 0 by the reference's rule).
		for i := range cell.Layers {
			cell.Layers[i].R = 0
		}
	} else {
		for i := range layers {
			cell.Layers[i] = best[c][i].full
		}
	}
	cell.Best = cell.Layers[0]
	for _, m := range cell.Layers[1:] {
		if m.R > cell.Best.R {
			cell.Best = m
		}
	}
	if !canSplit {
		return
	}
	ho := &HeldOut{Null: math.NaN(), NullInSample: math.NaN(), NullShifts: shifts}
	if targets[c] == nil {
		ho.Best = HeldOutMatch{UnitMatch: UnitMatch{Layer: layers[0].Name}}
		for _, l := range layers {
			ho.Layers = append(ho.Layers, HeldOutMatch{UnitMatch: UnitMatch{Layer: l.Name}})
		}
		ho.Null, ho.NullInSample = 0, 0
		cell.HeldOut = ho
		return
	}
	for i := range layers {
		ho.Layers = append(ho.Layers, HeldOutMatch{UnitMatch: best[c][i].sel, SelectionR: best[c][i].selR})
	}
	ho.Best, _ = pickHeldOut(best[c])
	var nullHO, nullIS []float64
	for j := range shifts {
		h, f := pickHeldOut(best[nc+c*ns+j])
		nullHO, nullIS = append(nullHO, h.R), append(nullIS, f)
	}
	ho.NullRs = nullHO
	ho.Null, ho.NullInSample = meanOrNaN(nullHO), meanOrNaN(nullIS)
	cell.HeldOut = ho
}

func summarizeTypes(cells []CellComparison, layers []string) map[string]TypeSummary {
	out := map[string]TypeSummary{}
	var types []string
	for _, c := range cells {
		if !slices.Contains(types, c.CellType) {
			types = append(types, c.CellType)
		}
	}
	sort.Strings(types)
	for _, t := range types {
		s := TypeSummary{ByLayer: map[string]float64{}, HeldOutByLayer: map[string]float64{}}
		var ho, null, nullIS []float64
		byLayer := map[string][]float64{}
		for _, c := range cells {
			if c.CellType != t {
				continue
			}
			s.Cells++
			s.MeanBest += c.Best.R
			for _, m := range c.Layers {
				s.ByLayer[m.Layer] += m.R
			}
			if c.HeldOut != nil {
				ho = append(ho, c.HeldOut.Best.R)
				null, nullIS = append(null, c.HeldOut.Null), append(nullIS, c.HeldOut.NullInSample)
				for _, m := range c.HeldOut.Layers {
					byLayer[m.Layer] = append(byLayer[m.Layer], m.R)
				}
			}
		}
		s.MeanBest /= float64(s.Cells)
		for _, l := range layers {
			s.ByLayer[l] /= float64(s.Cells)
			s.HeldOutByLayer[l] = meanOrNaN(byLayer[l])
		}
		s.HeldOut, s.Null, s.NullInSample = meanOrNaN(ho), meanOrNaN(null), meanOrNaN(nullIS)
		out[t] = s
	}
	return out
}

// mapMovie returns a copy of m with f applied to every value.
func mapMovie(m datasets.Movie, f func(float32) float32) datasets.Movie {
	out := datasets.NewMovie(m.T, m.H, m.W)
	for i, v := range m.Data {
		out.Data[i] = f(v)
	}
	return out
}

// fitFrame pads (with fill) or crops m to h×w frames, centred as the reference's spatial_pad
// (offset ⌊(h − H)/2⌋).
func fitFrame(m datasets.Movie, h, w int, fill float32) datasets.Movie {
	if m.H == h && m.W == w {
		return m
	}
	out := datasets.NewMovie(m.T, h, w)
	oy, ox := (h-m.H)/2, (w-m.W)/2 // negative: crop
	for t := 0; t < m.T; t++ {
		src, dst := m.Frame(t), out.Frame(t)
		for y := 0; y < h; y++ {
			sy := y - oy
			for x := 0; x < w; x++ {
				sx := x - ox
				if sy < 0 || sy >= m.H || sx < 0 || sx >= m.W {
					dst[y*w+x] = fill
				} else {
					dst[y*w+x] = src[sy*m.W+sx]
				}
			}
		}
	}
	return out
}

// shiftMovie moves every frame by (dy, dx) pixels circularly, as NumPy's roll:
// out[t, y, x] = m[t, (y−dy) mod H, (x−dx) mod W]. Wrapping keeps the stimulus's statistics
// (a full-field flash stays full-field, noise stays noise) where a grey border would add edges
// that no recorded cell saw.
func shiftMovie(m datasets.Movie, dy, dx int) datasets.Movie {
	out := datasets.NewMovie(m.T, m.H, m.W)
	for t := 0; t < m.T; t++ {
		src, dst := m.Frame(t), out.Frame(t)
		for y := 0; y < m.H; y++ {
			sy := ((y-dy)%m.H + m.H) % m.H
			for x := 0; x < m.W; x++ {
				dst[y*m.W+x] = src[sy*m.W+((x-dx)%m.W+m.W)%m.W]
			}
		}
	}
	return out
}
