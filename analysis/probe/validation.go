package probe

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/metrics"
	"github.com/deepretina/deepretina/retina"
)

// The validation target of the interneuron probe: on the headline stimulus group, the mean
// held-out r of each cell type (the unit chosen on one half of the series, scored on the other)
// is at least TargetMeanBestR and at least TargetMarginOverControl above the untrained
// control's held-out r. The reference's own models reach 0.35–0.75 against recorded cells.
const (
	TargetMeanBestR         = 0.7
	TargetMarginOverControl = 0.1
)

// Validation says, per cell type, whether the probe met its target and, where it did not,
// what the measurements point to: the layer and reading (before or after the ReLU) that fit
// best, the other stimulus groups, how linear the recorded cells are in the stimulus, the
// receptive-field sizes and temporal peaks of cells and matched units, the reach of the cells'
// filters against the model's history, the channels the matches use, and whether training had
// converged.
type Validation struct {
	Group  string  `json:"group"` // the headline stimulus group
	Target float64 `json:"target_mean_best_r"`
	Margin float64 `json:"target_margin_over_untrained"`
	// PreNonlinearity: the probe read the units before their ReLU (OtherReading is after it).
	PreNonlinearity bool `json:"pre_nonlinearity"`
	// History is the model's history in frames, FrameRate its frame rate.
	History   int     `json:"model_history_frames"`
	FrameRate float64 `json:"frame_rate_hz"`
	// Epochs trained, and the validation r gained in the last of them (NaN with fewer than 2).
	Epochs        int     `json:"epochs"`
	LastEpochGain float64 `json:"last_epoch_val_gain"`
	// RepeatedStimulus: the headline group's second half only repeats its first half's
	// stimulus, so no held-out test is possible on it and no type is judged to meet the target.
	RepeatedStimulus bool          `json:"repeated_stimulus,omitempty"`
	Types            []TypeVerdict `json:"types"`
}

// TypeVerdict is the validation of one cell type.
type TypeVerdict struct {
	CellType string `json:"cell_type"`
	Cells    int    `json:"cells"`
	// Learned and Untrained: mean held-out r (the unit chosen on the first part of each
	// cell's series, scored on the second); the verdict rests on them.
	Learned   float64 `json:"learned"`
	Untrained float64 `json:"untrained"` // NaN without a control
	Met       bool    `json:"met"`
	// LearnedInSample, UntrainedInSample: the in-sample means (the best unit's r on the series it
	// was chosen on); LearnedNull, UntrainedNull: the circular-shift nulls of the held-out r.
	LearnedInSample   float64 `json:"learned_in_sample"`
	UntrainedInSample float64 `json:"untrained_in_sample"`
	LearnedNull       float64 `json:"learned_null"`
	UntrainedNull     float64 `json:"untrained_null"`
	// BestLayer: the layer whose best units fit the cells best on average, with that mean.
	BestLayer  string  `json:"best_layer"`
	BestLayerR float64 `json:"best_layer_r"`
	// OtherReading: the mean best r with the units read on the other side of their ReLU
	// (after it when the probe read them before, and the reverse).
	OtherReading float64 `json:"other_reading_r"`
	// OtherGroups: the trained model's mean best r on the other stimulus groups.
	OtherGroups map[string]float64 `json:"other_groups"`
	// PotentialSD: per stimulus group, the cells' mean SD of potential: how strongly each
	// stimulus drives them.
	PotentialSD map[string]float64 `json:"potential_sd"`
	// LinearR: the held-out r of the cells' own linear filters on the headline group
	// (CellLinearFit), averaged over the cells whose potential varies. CellSigma and
	// OldestQuarter: the filters' size (px) and the share of their temporal energy in the oldest
	// quarter of the window, over the cells their filter predicts (r ≥ 0.4); NaN where none
	// does, and the size for a stimulus without spatial structure.
	LinearR       float64 `json:"cells_linear_r"`
	CellSigma     float64 `json:"cells_rf_sigma_px"`
	OldestQuarter float64 `json:"cells_filter_oldest_quarter"`
	// UnitSigma: the mean receptive-field size (px) of the channels of the cells' best units
	// (the centre unit's gradient receptive field, from ReceptiveFields).
	UnitSigma float64 `json:"units_rf_sigma_px"`
	// CellPeakMS and UnitPeakMS: when the temporal filters of the cells (over those their filter
	// predicts) and of the matched channels' centre units peak, in ms before the response.
	CellPeakMS float64 `json:"cells_filter_peak_ms"`
	UnitPeakMS float64 `json:"units_filter_peak_ms"`
	// ChannelsUsed of Channels: distinct channels of BestLayer holding a cell's best unit.
	ChannelsUsed int      `json:"channels_used"`
	Channels     int      `json:"channels"`
	Findings     []string `json:"findings"`
}

// CellLinearFit is how well a recorded cell is described by its own linear filter of the
// stimulus: the reverse correlation of its potential with the stimulus windows of the first
// half of the recording (for white noise, proportional to the least-squares filter), reduced
// to its rank-1 space × time part within a disc around its peak to average out noise, and
// tested on the second half. The disc's radius is chosen by cross-validation within the first
// half, so that small and wide receptive fields are both read without fitting noise. R is a
// lower bound on how linear the cell is: the filter is estimated from half of the recording
// (a cell with a wide receptive field needs more data for its filter than one with a small).
type CellLinearFit struct {
	R             float64 // held-out Pearson r of the filter's output with the potential
	SigmaPX       float64 // Gaussian SD (px) of the filter's spatial part; NaN when the stimulus has no spatial structure
	RadiusPX      float64 // radius of the disc the filter was read in (+Inf: the whole frame); SigmaPX is read in one twice as wide (at least 3 px)
	OldestQuarter float64 // share of the temporal part's energy in the oldest quarter of the window
	// PeakLag: frames before the response at which the temporal part peaks (largest magnitude).
	PeakLag int
}

// discRadii are the receptive-field discs FitCellLinear chooses from (pixels).
var discRadii = [...]float64{1, 1.5, 2, 3, 4, 6, 8, math.Inf(1)}

// FitCellLinear fits the linear filter of cell `cell` of d over windows of `history` frames.
// A cell whose potential does not vary, or a recording too short to split, is an error.
func FitCellLinear(d InterneuronData, cell, history int) (CellLinearFit, error) {
	stim, pot := d.Stimulus, d.Potentials
	where := fmt.Sprintf("linear fit of %s/%s cell %d", d.Source, d.Group, cell)
	if cell < 0 || cell >= pot.Cols {
		return CellLinearFit{}, fmt.Errorf("%s: the file has %d cells", where, pot.Cols)
	}
	n := pot.Rows
	if history < 1 || stim.T != n+history {
		return CellLinearFit{}, fmt.Errorf("%s: %d frames for %d potential samples and a history of %d", where, stim.T, n, history)
	}
	if n < 20 {
		return CellLinearFit{}, fmt.Errorf("%s: %d samples; at least 20 are needed to fit on one half and test on the other", where, n)
	}
	norm := datasets.ComputeNormStats(stim)
	if !(norm.Std > 1e-6) {
		return CellLinearFit{}, fmt.Errorf("%s: the stimulus is constant", where)
	}
	y := analysis.Float64s(pot.Column(cell))
	half := n / 2
	if !(sumSquares(analysis.Centred(y[:half])) > 0) {
		return CellLinearFit{}, fmt.Errorf("%s: the potential is constant over the first half", where)
	}
	// windows(from, to) are the windows whose responses are rows [from, to).
	windows := func(from, to int) (*datasets.Windows, error) {
		return datasets.NewWindows(stim.Slice(from, to+history), norm, datasets.Matrix{}, history)
	}
	spatial := hasSpatialStructure(stim)
	radii := discRadii[len(discRadii)-1:]
	if spatial {
		radii = discRadii[:]
	}
	// Choose the radius on the first half: fit on its first three quarters, test on the rest.
	radius, err := radii[0], error(nil)
	if len(radii) > 1 {
		inner := half * 3 / 4
		radius, err = bestRadius(windows, y, 0, inner, half, history, stim.H, stim.W, radii)
		if err != nil {
			return CellLinearFit{}, fmt.Errorf("%s: %w", where, err)
		}
	}
	st, r, err := discFilterR(windows, y, 0, half, n, history, stim.H, stim.W, radius)
	if err != nil {
		return CellLinearFit{}, fmt.Errorf("%s: %w", where, err)
	}
	fit := CellLinearFit{R: r, SigmaPX: math.NaN(), RadiusPX: radius, OldestQuarter: oldestQuarter(st.Temporal),
		PeakLag: history - peakIndex(st.Temporal)}
	if spatial {
		// The disc that predicts best may cut off the field's flanks, which a Gaussian fit
		// would read as a smaller field: its size is measured in a disc twice as wide.
		wide := st
		if wr := max(2*radius, 3); !math.IsInf(radius, 1) {
			if wide, _, err = discFilterR(windows, y, 0, half, n, history, stim.H, stim.W, wr); err != nil {
				return CellLinearFit{}, fmt.Errorf("%s: %w", where, err)
			}
		}
		if gs, err := analysis.FitGaussian2D(wide.Spatial, stim.H, stim.W); err == nil {
			fit.SigmaPX = gs.Sigma()
		}
	}
	return fit, nil
}

// bestRadius is the disc radius whose filter, fitted on rows [from, mid), predicts rows
// [mid, to) best.
func bestRadius(windows func(int, int) (*datasets.Windows, error), y []float64, from, mid, to, history, h, w int, radii []float64) (float64, error) {
	best, bestR := radii[0], math.Inf(-1)
	for _, radius := range radii {
		_, r, err := discFilterR(windows, y, from, mid, to, history, h, w, radius)
		if err != nil {
			return 0, err
		}
		if r > bestR {
			best, bestR = radius, r
		}
	}
	return best, nil
}

// discFilterR fits the rank-1 filter of y within a disc of the given radius on rows
// [from, mid) and returns it with the Pearson r of its output on rows [mid, to).
func discFilterR(windows func(int, int) (*datasets.Windows, error), y []float64, from, mid, to, history, h, w int, radius float64) (analysis.SpaceTime, float64, error) {
	fitW, err := windows(from, mid)
	if err != nil {
		return analysis.SpaceTime{}, 0, err
	}
	rc, err := analysis.ReverseCorrelation(fitW, analysis.Centred(y[from:mid]))
	if err != nil {
		return analysis.SpaceTime{}, 0, err
	}
	st, err := discRank1(rc, history, h, w, radius)
	if err != nil {
		return analysis.SpaceTime{}, 0, err
	}
	filter := make([]float64, 0, len(rc))
	for _, a := range st.Temporal {
		for _, b := range st.Spatial {
			filter = append(filter, a*b)
		}
	}
	testW, err := windows(mid, to)
	if err != nil {
		return analysis.SpaceTime{}, 0, err
	}
	g, err := analysis.Generator(testW, filter)
	if err != nil {
		return analysis.SpaceTime{}, 0, err
	}
	return st, metrics.PearsonFloat64(g, y[mid:to]), nil
}

// discRank1 is the rank-1 part of a reverse-correlation filter [history, h·w] read within a
// disc around its peak (the pixel whose 3×3 neighbourhood holds the most energy over time):
// with a few thousand samples the filter's noise, spread over every pixel of the frame, would
// otherwise swamp the prediction of a cell with a small receptive field.
func discRank1(rc []float64, history, h, w int, radius float64) (analysis.SpaceTime, error) {
	pixels := h * w
	peak, _ := analysis.PeakPixel(rc, history, h, w)
	py, px := float64(peak/w), float64(peak%w)
	var keep []int
	for p := range pixels {
		dy, dx := float64(p/w)-py, float64(p%w)-px
		if dy*dy+dx*dx <= radius*radius {
			keep = append(keep, p)
		}
	}
	block := make([]float64, 0, history*len(keep))
	for k := 0; k < history; k++ {
		for _, p := range keep {
			block = append(block, rc[k*pixels+p])
		}
	}
	st, err := analysis.Rank1(block, history, len(keep))
	if err != nil {
		return analysis.SpaceTime{}, err
	}
	full := make([]float64, pixels)
	for i, p := range keep {
		full[p] = st.Spatial[i]
	}
	st.Spatial = full
	return st, nil
}

func varies(x []float32) bool {
	for _, v := range x {
		if v != x[0] {
			return true
		}
	}
	return false
}

func sumSquares(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return s
}

// peakIndex is the index of the entry of largest magnitude.
func peakIndex(x []float64) int {
	peak := 0
	for k, v := range x {
		if math.Abs(v) > math.Abs(x[peak]) {
			peak = k
		}
	}
	return peak
}

func oldestQuarter(temporal []float64) float64 {
	q := max(1, len(temporal)/4)
	total := sumSquares(temporal)
	if !(total > 0) {
		return math.NaN()
	}
	return sumSquares(temporal[:q]) / total
}

// hasSpatialStructure says whether the stimulus varies across a frame as much as over time
// (white noise, bars) rather than being (nearly) uniform in space (full-field flashes), for
// which a spatial receptive field cannot be read off.
func hasSpatialStructure(m datasets.Movie) bool {
	fs := m.FrameSize()
	if fs < 2 || m.T == 0 {
		return false
	}
	var within, mean, total float64
	for t := 0; t < m.T; t++ {
		f := m.Frame(t)
		var s, ss float64
		for _, v := range f {
			s += float64(v)
			ss += float64(v) * float64(v)
		}
		mu := s / float64(fs)
		within += ss/float64(fs) - mu*mu
		mean += s
		total += ss
	}
	n := float64(m.T * fs)
	mean /= n
	variance := total/n - mean*mean
	return variance > 0 && within/float64(m.T) > 0.25*variance
}

// validate judges the probe's headline results against the target and gathers the
// measurements that explain a shortfall.
func validate(res *ProbeResult, model *retina.Model, data []InterneuronData, opts ProbeOptions) (*Validation, error) {
	v := &Validation{Group: res.SummaryGroup, Target: TargetMeanBestR, Margin: TargetMarginOverControl, PreNonlinearity: res.PreNonlinearity,
		History: res.InputShape[0], FrameRate: res.FrameRate, Epochs: model.Meta.Epoch, LastEpochGain: math.NaN()}
	if h := model.Meta.History; len(h) >= 2 {
		v.LastEpochGain = h[len(h)-1].ValCorr - h[len(h)-2].ValCorr
	}
	gc := res.comparison(res.SummaryGroup)
	if gc == nil {
		return nil, fmt.Errorf("validation: no comparison for the headline group %q", res.SummaryGroup)
	}
	v.RepeatedStimulus = len(gc.Learned.RepeatedStimulus) > 0
	var headline []InterneuronData
	for _, d := range data {
		if d.Group == res.SummaryGroup {
			headline = append(headline, d)
		}
	}
	other := opts.Compare
	other.AfterNonlinearity = !other.AfterNonlinearity
	alt, err := CompareInterneurons(analysis.ModelUnits(model), headline, other)
	if err != nil {
		return nil, fmt.Errorf("validation: the other reading of the units: %w", err)
	}
	linear, err := linearFits(headline, res.InputShape[0])
	if err != nil {
		return nil, fmt.Errorf("validation: %w", err)
	}
	for _, ct := range cellTypes(gc.Learned) {
		ls := gc.Learned.ByType[ct]
		tv := TypeVerdict{CellType: ct, Cells: ls.Cells, Learned: ls.HeldOut, LearnedInSample: ls.MeanBest, LearnedNull: ls.Null,
			Untrained: math.NaN(), UntrainedInSample: math.NaN(), UntrainedNull: math.NaN(),
			OtherReading: math.NaN(), OtherGroups: map[string]float64{}, PotentialSD: potentialSD(data, ct)}
		if gc.Untrained != nil {
			if s, ok := gc.Untrained.ByType[ct]; ok {
				tv.Untrained, tv.UntrainedInSample, tv.UntrainedNull = s.HeldOut, s.MeanBest, s.Null
			}
		}
		tv.Met = tv.Learned >= v.Target && (math.IsNaN(tv.Untrained) || tv.Learned-tv.Untrained >= v.Margin) && !v.RepeatedStimulus
		if s, ok := alt.ByType[ct]; ok {
			tv.OtherReading = s.HeldOut
		}
		for g, s := range res.SummaryByGroup {
			if r, ok := s.Learned[ct]; ok && g != res.SummaryGroup && !s.RepeatedStimulus {
				tv.OtherGroups[g] = r
			}
		}
		tv.BestLayer, tv.BestLayerR = bestLayer(ls.HeldOutByLayer)
		cf := linear.mean(ct)
		tv.LinearR, tv.CellSigma, tv.OldestQuarter = cf.r, cf.sigma, cf.oldest
		tv.CellPeakMS = cf.peakLag * 1000 / v.FrameRate
		uf := res.matchedUnits(gc.Learned, ct, tv.BestLayer)
		tv.UnitSigma, tv.UnitPeakMS, tv.ChannelsUsed = uf.sigma, uf.peakMS, uf.channels
		for _, l := range res.Layers {
			if l.Name == tv.BestLayer {
				tv.Channels = l.Shape[0]
			}
		}
		if !tv.Met {
			tv.Findings = v.explain(tv)
		}
		v.Types = append(v.Types, tv)
	}
	return v, nil
}

// potentialSD is the mean SD of the potentials of the cells of one type, per stimulus group.
func potentialSD(data []InterneuronData, cellType string) map[string]float64 {
	sds := map[string][]float64{}
	for _, d := range data {
		if d.CellType != cellType {
			continue
		}
		for c := 0; c < d.Potentials.Cols; c++ {
			x := analysis.Centred(analysis.Float64s(d.Potentials.Column(c)))
			sds[d.Group] = append(sds[d.Group], math.Sqrt(sumSquares(x)/float64(len(x))))
		}
	}
	out := map[string]float64{}
	for g, v := range sds {
		out[g] = meanOrNaN(v)
	}
	return out
}

// typeFits holds the linear fits of the recorded cells, by cell type.
type typeFits map[string][]CellLinearFit

func linearFits(data []InterneuronData, history int) (typeFits, error) {
	out := typeFits{}
	for _, d := range data {
		for c := 0; c < d.Potentials.Cols; c++ {
			f := CellLinearFit{R: math.NaN(), SigmaPX: math.NaN(), RadiusPX: math.NaN(), OldestQuarter: math.NaN(), PeakLag: -1}
			// A cell that never varies has no filter (and scores r = 0 in the comparison).
			if varies(d.Potentials.Column(c)[:d.Potentials.Rows/2]) {
				var err error
				if f, err = FitCellLinear(d, c, history); err != nil {
					return nil, err
				}
			}
			out[d.CellType] = append(out[d.CellType], f)
		}
	}
	return out, nil
}

// minLinearR is the held-out r below which a cell's filter is mostly noise: its size and reach
// in time are not read off it.
const minLinearR = 0.4

// cellFilters summarises the linear fits of the cells of one type.
type cellFilters struct{ r, sigma, oldest, peakLag float64 }

// mean averages the fits of a type: r over every cell, the filters' size, reach and peak over
// the cells their filter predicts (r ≥ minLinearR), each where it is defined.
func (tf typeFits) mean(cellType string) cellFilters {
	var rs, ss, os, ps []float64
	for _, f := range tf[cellType] {
		if math.IsNaN(f.R) {
			continue
		}
		rs = append(rs, f.R)
		if f.R < minLinearR {
			continue
		}
		if !math.IsNaN(f.SigmaPX) {
			ss = append(ss, f.SigmaPX)
		}
		if !math.IsNaN(f.OldestQuarter) {
			os = append(os, f.OldestQuarter)
		}
		ps = append(ps, float64(f.PeakLag))
	}
	return cellFilters{r: meanOrNaN(rs), sigma: meanOrNaN(ss), oldest: meanOrNaN(os), peakLag: meanOrNaN(ps)}
}

func meanOrNaN(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func bestLayer(byLayer map[string]float64) (string, float64) {
	names := make([]string, 0, len(byLayer))
	for l := range byLayer {
		names = append(names, l)
	}
	sort.Strings(names)
	best, r := "", math.Inf(-1)
	for _, l := range names {
		if byLayer[l] > r {
			best, r = l, byLayer[l]
		}
	}
	return best, r
}

// unitFilters summarises the receptive fields of the channels that hold the best units of the
// cells of one type: their mean size and temporal peak, and how many distinct channels they are.
type unitFilters struct {
	sigma, peakMS float64
	channels      int
}

// matchedUnits is the unitFilters of the cells of one type in one layer, read from the
// gradient receptive fields of the channels' centre units.
func (p *ProbeResult) matchedUnits(c *InterneuronComparison, cellType, layer string) unitFilters {
	var used []int
	var sigmas, peaks []float64
	for _, cell := range c.Cells {
		if cell.CellType != cellType {
			continue
		}
		for _, m := range cell.Layers {
			if m.Layer != layer || math.IsInf(m.R, -1) {
				continue
			}
			if !slices.Contains(used, m.Channel) {
				used = append(used, m.Channel)
			}
			for _, u := range p.ReceptiveFields {
				if u.Layer != layer || u.Index != m.Channel {
					continue
				}
				if !math.IsNaN(u.Gaussian.Sigma()) {
					sigmas = append(sigmas, u.Gaussian.Sigma())
				}
				if !math.IsNaN(u.PeakLagMS) {
					peaks = append(peaks, u.PeakLagMS)
				}
			}
		}
	}
	return unitFilters{sigma: meanOrNaN(sigmas), peakMS: meanOrNaN(peaks), channels: len(used)}
}

// explain turns the measurements of a type that missed the target into plain findings, each
// naming the number it rests on.
func (v *Validation) explain(tv TypeVerdict) []string {
	var out []string
	if v.RepeatedStimulus {
		out = append(out, fmt.Sprintf("the %q group's second half repeats its first half's stimulus, so its held-out r (%.2f) tests no generalisation and is not judged: probe a group with independent halves (e.g. white noise)", v.Group, tv.Learned))
	}
	if !math.IsNaN(tv.LearnedNull) && tv.Learned < tv.LearnedNull+0.05 {
		out = append(out, fmt.Sprintf("the held-out r (%.2f) is at its circular-shift null (%.2f): choosing the best of the units finds nothing that generalises to the held-out half (in sample it reads %.2f)", tv.Learned, tv.LearnedNull, tv.LearnedInSample))
	}
	if !math.IsNaN(tv.Untrained) && tv.Learned-tv.Untrained < v.Margin {
		if !math.IsNaN(tv.UntrainedNull) && tv.Untrained < tv.UntrainedNull+0.05 {
			out = append(out, fmt.Sprintf("training added only %.2f to the untrained control's %.2f, which is at its own null (%.2f): neither model matches these cells beyond what selection alone reaches", tv.Learned-tv.Untrained, tv.Untrained, tv.UntrainedNull))
		} else {
			out = append(out, fmt.Sprintf("training added only %.2f to the untrained control's %.2f: the architecture alone matches these cells almost as well", tv.Learned-tv.Untrained, tv.Untrained))
		}
	}
	if !math.IsNaN(tv.OtherReading) && tv.OtherReading >= tv.Learned+0.05 {
		side, flag := "after the ReLU", " (--post-relu)"
		if !v.PreNonlinearity {
			side, flag = "before the ReLU", " (without --post-relu)"
		}
		out = append(out, fmt.Sprintf("read %s%s the units reach %.2f, not %.2f", side, flag, tv.OtherReading, tv.Learned))
	}
	groups := make([]string, 0, len(tv.OtherGroups))
	for g := range tv.OtherGroups {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		if r := tv.OtherGroups[g]; r >= v.Target {
			out = append(out, fmt.Sprintf("on the %q stimuli the same units reach %.2f: the shortfall is specific to the %q stimulus", g, r, v.Group))
		}
	}
	if sd := tv.PotentialSD[v.Group]; sd > 0 {
		for _, g := range slices.Sorted(maps.Keys(tv.PotentialSD)) {
			if o := tv.PotentialSD[g]; g != v.Group && o > 2*sd {
				out = append(out, fmt.Sprintf("the %q stimulus drives these cells weakly: their potentials vary with SD %.3g, against %.3g on the %q stimuli", v.Group, sd, o, g))
			}
		}
	}
	switch {
	case tv.LinearR >= 0.7 && tv.Learned < tv.LinearR-0.1:
		s := fmt.Sprintf("a linear filter of the stimulus predicts these cells with held-out r = %.2f, so a unit with the right filter could match them", tv.LinearR)
		if !math.IsNaN(tv.UnitSigma) && !math.IsNaN(tv.CellSigma) {
			s += fmt.Sprintf("; the matched channels' receptive fields have σ = %.1f px against the cells' %.1f px", tv.UnitSigma, tv.CellSigma)
			if tv.UnitSigma > 1.5*tv.CellSigma {
				s += ": the units pool over a wider area than the cells; smaller first-layer kernels may narrow them"
			}
		}
		out = append(out, s)
	case tv.LinearR < minLinearR:
		out = append(out, fmt.Sprintf("a linear filter of the stimulus predicts these cells with held-out r = %.2f only: what they carry is not a linear function of this stimulus (e.g. rectified or contrast-energy pooling), so only units past a nonlinearity can follow it, and the spikes must constrain that nonlinearity; best layer here: %s (%.2f)", tv.LinearR, tv.BestLayer, tv.BestLayerR))
	}
	if tv.LinearR >= minLinearR && !math.IsNaN(tv.CellPeakMS) && !math.IsNaN(tv.UnitPeakMS) &&
		math.Abs(tv.UnitPeakMS-tv.CellPeakMS) > max(20, 0.3*tv.CellPeakMS) {
		speed := "slower"
		if tv.UnitPeakMS < tv.CellPeakMS {
			speed = "faster"
		}
		out = append(out, fmt.Sprintf("the matched channels' temporal filters peak %.0f ms before the response against the cells' %.0f ms: the units are %s than the cells", tv.UnitPeakMS, tv.CellPeakMS, speed))
	}
	if tv.LinearR >= minLinearR && tv.OldestQuarter > 0.1 { // a filter that predicts nothing is noise
		out = append(out, fmt.Sprintf("%.0f%% of the cells' temporal filter lies in the oldest quarter of the model's %d-frame (%.0f ms) window: a longer history may help", 100*tv.OldestQuarter, v.History, 1000*float64(v.History)/v.FrameRate))
	}
	if tv.Channels > 0 && tv.ChannelsUsed == tv.Channels && tv.Cells > tv.Channels {
		out = append(out, fmt.Sprintf("the %d cells' best units use all %d channels of %s: more channels may help", tv.Cells, tv.Channels, tv.BestLayer))
	}
	if v.LastEpochGain > 0.005 {
		out = append(out, fmt.Sprintf("validation r still rose by %.3f in the last of %d epochs: longer training may help", v.LastEpochGain, v.Epochs))
	}
	if len(out) == 0 {
		out = append(out, "none of the checks (reading, stimulus group, linearity, receptive-field size, history, channels, training length) singles out a cause")
	}
	return out
}

func (v *Validation) heading() string {
	return fmt.Sprintf("Validation: mean held-out r ≥ %.2g and ≥ %.2g above the untrained control (group %q)", v.Target, v.Margin, v.Group)
}

// table is the verdict per cell type with the measurements the findings rest on.
func (v *Validation) table() figures.Table {
	t := figures.Table{Columns: []string{"cell type", "cells", "learned held out (null; in sample)", "untrained held out (null; in sample)", "target met", "best layer",
		"other reading", "cells' linear r", "cells' RF σ (px)", "units' RF σ (px)", "cells' filter peak (ms)", "units' filter peak (ms)", "channels used"}}
	for _, tv := range v.Types {
		met := "no"
		if tv.Met {
			met = "yes"
		}
		reading := "after ReLU"
		if !v.PreNonlinearity {
			reading = "before ReLU"
		}
		t.Rows = append(t.Rows, []string{tv.CellType, fmt.Sprint(tv.Cells),
			fmt.Sprintf("%s (%s; %s)", f3(tv.Learned), f3(tv.LearnedNull), f3(tv.LearnedInSample)),
			fmt.Sprintf("%s (%s; %s)", f3(tv.Untrained), f3(tv.UntrainedNull), f3(tv.UntrainedInSample)), met,
			fmt.Sprintf("%s (%s)", tv.BestLayer, f3(tv.BestLayerR)), fmt.Sprintf("%s (%s)", f3(tv.OtherReading), reading),
			f3(tv.LinearR), f1(tv.CellSigma), f1(tv.UnitSigma), f0(tv.CellPeakMS), f0(tv.UnitPeakMS), fmt.Sprintf("%d of %d", tv.ChannelsUsed, tv.Channels)})
	}
	return t
}

// text lists the findings of every type that missed the target, one paragraph per type.
func (v *Validation) text() string {
	var paras []string
	for _, tv := range v.Types {
		if tv.Met {
			continue
		}
		paras = append(paras, fmt.Sprintf("%s cells (%.3f, target %.2g): %s.", tv.CellType, tv.Learned, v.Target, strings.Join(tv.Findings, "; ")))
	}
	return strings.Join(paras, "\n\n")
}

func f0(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", x)
}

func f1(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", x)
}
