package probe

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/metrics"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/nn"
)

// ProbeOptions configure Probe.
type ProbeOptions struct {
	Compare CompareOptions // which layers, before or after the ReLU, spatial shifts
	// SummaryGroup is the stimulus group of the headline summary (default: "boxes" when the
	// files have it, the reference's choice, else "whitenoise", else the first group).
	SummaryGroup string
	RF           analysis.RFOptions // white noise of the gradient receptive fields (default 512 windows)
	// IGSteps is the number of α steps of the integrated gradients (default 32: the
	// reference's 5 leave a completeness error of about a tenth of a strong response).
	IGSteps int
	// Attribution, when set, is the stimulus whose ganglion responses are attributed to each
	// hidden channel (e.g. the omitted-stimulus flash train).
	Attribution *AttributionStimulus
	// Recording, when set, is the run's recording: the recorded cells' spike-triggered
	// averages (from at most STAWindows training windows, default 5000) are compared with the
	// model's receptive fields of the same cells.
	Recording  *datasets.Recording
	STAWindows int
	Log        io.Writer // progress lines; nil: none
}

// AttributionStimulus is a stimulus to explain, with the frames whose responses matter.
type AttributionStimulus struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Stimulus    datasets.Movie `json:"-"` // [T, H, W] raw units of the model
	// From, To: the frames [From, To) of the response to explain (e.g. after the omitted flash).
	From int `json:"from_frame"`
	To   int `json:"to_frame"`
}

// GroupComparison is the interneuron comparison of one stimulus group, for the trained model
// and for its untrained control.
type GroupComparison struct {
	Group     string                 `json:"group"`
	Learned   *InterneuronComparison `json:"learned"`
	Untrained *InterneuronComparison `json:"untrained"`
}

// ScoringHeldOut names how Summary's Learned and Untrained are scored: the unit is chosen on
// the selection part of each cell's series and scored on the held-out part (heldout.go).
const ScoringHeldOut = "held-out"

// Summary is, per cell type ("bipolar", "amacrine"), the mean held-out r of the trained model
// ("learned") and of its untrained control ("untrained"), with beside them the in-sample
// numbers (the best unit's r on the series it was chosen on, the reference's procedure), the
// circular-shift nulls of the held-out procedure, and the number of cells behind each mean.
type Summary struct {
	Scoring           string             `json:"scoring"` // ScoringHeldOut
	Learned           map[string]float64 `json:"learned"`
	Untrained         map[string]float64 `json:"untrained"`
	LearnedInSample   map[string]float64 `json:"learned_in_sample"`
	UntrainedInSample map[string]float64 `json:"untrained_in_sample"`
	LearnedNull       map[string]float64 `json:"learned_null"`
	UntrainedNull     map[string]float64 `json:"untrained_null"`
	Cells             map[string]int     `json:"cells"`
	// RepeatedStimulus: the group's scoring part only repeats stimulus windows of its
	// selection part (the simulator's flashes), so its held-out r tests no generalisation.
	RepeatedStimulus bool `json:"repeated_stimulus,omitempty"`
	// BySubtype: the same numbers per cell type and subtype ("amacrine narrow-field ON") for
	// files that label their cells.
	BySubtype map[string]SubtypeSummary `json:"by_subtype,omitempty"`
}

// SubtypeSummary is Summary's numbers for one subtype.
type SubtypeSummary struct {
	Cells           int     `json:"cells"`
	Learned         float64 `json:"learned"`
	LearnedNull     float64 `json:"learned_null"`
	LearnedInSample float64 `json:"learned_in_sample"`
	Untrained       float64 `json:"untrained"`
	UntrainedNull   float64 `json:"untrained_null"`
}

func summarize(learned, untrained *InterneuronComparison) Summary {
	s := Summary{Scoring: ScoringHeldOut, Learned: map[string]float64{}, Untrained: map[string]float64{},
		LearnedInSample: map[string]float64{}, UntrainedInSample: map[string]float64{},
		LearnedNull: map[string]float64{}, UntrainedNull: map[string]float64{}, Cells: map[string]int{},
		RepeatedStimulus: len(learned.RepeatedStimulus) > 0}
	for t, ts := range learned.ByType {
		s.Learned[t], s.LearnedInSample[t], s.LearnedNull[t], s.Cells[t] = ts.HeldOut, ts.MeanBest, ts.Null, ts.Cells
	}
	if untrained != nil {
		for t, ts := range untrained.ByType {
			s.Untrained[t], s.UntrainedInSample[t], s.UntrainedNull[t] = ts.HeldOut, ts.MeanBest, ts.Null
		}
	}
	for t, ts := range learned.BySubtype {
		if s.BySubtype == nil {
			s.BySubtype = map[string]SubtypeSummary{}
		}
		sub := SubtypeSummary{Cells: ts.Cells, Learned: ts.HeldOut, LearnedNull: ts.Null, LearnedInSample: ts.MeanBest,
			Untrained: math.NaN(), UntrainedNull: math.NaN()}
		if untrained != nil {
			if us, ok := untrained.BySubtype[t]; ok {
				sub.Untrained, sub.UntrainedNull = us.HeldOut, us.Null
			}
		}
		s.BySubtype[t] = sub
	}
	return s
}

// UnitRF is the receptive field of one unit or ganglion cell, reduced to numbers: the
// separability of the gradient receptive field, the 2-D Gaussian fit of its spatial part, the
// peak of its temporal part, and (for ganglion cells with a recording) the correlation of the
// model's receptive field with the recorded cell's spike-triggered average.
type UnitRF struct {
	Target      string              `json:"target"`
	Layer       string              `json:"layer"` // "" for a ganglion cell
	Index       int                 `json:"index"` // channel, or ganglion cell
	Row         int                 `json:"row"`
	Col         int                 `json:"col"`
	Explained   float64             `json:"rank1_explained"`
	Gaussian    analysis.Gaussian2D `json:"gaussian"`
	PeakLagMS   float64             `json:"temporal_peak_ms"` // time before the response of the temporal part's extreme
	RecordedSTA *float64            `json:"recorded_sta_r,omitempty"`

	RF  *analysis.ReceptiveField `json:"-"`
	Sep analysis.SpaceTime       `json:"-"`
	STA []float64                `json:"-"` // the recorded cell's STA [History·H·W], when known
}

// AttributionResult explains the responses to AttributionStimulus: per layer, the share of
// each channel in the response within the frames of interest.
type AttributionResult struct {
	Stimulus *AttributionStimulus `json:"stimulus"`
	Layers   []LayerAttribution   `json:"layers"`
}

// LayerAttribution is the integrated-gradients attribution of the ganglion responses to one
// layer's channels.
type LayerAttribution struct {
	Layer string `json:"layer"`
	// Share: [cell][channel] the channel's attribution summed over the frames of interest,
	// divided by the sum of the absolute values over channels (signed, so that Σ|share| = 1).
	Share [][]float64 `json:"share"`
	// MeanShare: Share averaged over cells; TopChannel: the channel of largest mean share.
	MeanShare  []float64             `json:"mean_share"`
	TopChannel int                   `json:"top_channel"`
	Residual   float64               `json:"completeness_residual"` // Attribution.Residual
	Full       *analysis.Attribution `json:"-"`
}

// ProbeResult is everything Probe found; its JSON form is probe.json.
type ProbeResult struct {
	// Run, Checkpoint, Control and Interneurons describe what was probed; Probe leaves them to
	// its caller (the command line fills them in).
	Run          string   `json:"run,omitempty"`
	Checkpoint   string   `json:"checkpoint,omitempty"`
	Control      string   `json:"control,omitempty"`
	Interneurons []string `json:"interneurons,omitempty"`
	// MergedDuplicates: recorded cells left out as exact (|r| > DuplicateThreshold, any sign)
	// copies of another cell of the same file (MergeDuplicateCells), so each signal counts once.
	MergedDuplicates []MergedCell `json:"merged_duplicates"`

	Model           string                     `json:"model"`
	Layers          []LayerInfo                `json:"layers"`
	PreNonlinearity bool                       `json:"pre_nonlinearity"`
	MaxShift        int                        `json:"max_shift"`
	InputShape      [3]int                     `json:"input_shape"` // [History, H, W] of the model's input
	FrameRate       float64                    `json:"frame_rate_hz"`
	SummaryGroup    string                     `json:"summary_group"`
	Summary         Summary                    `json:"summary"`
	SummaryByGroup  map[string]Summary         `json:"summary_by_group"`
	Comparisons     []GroupComparison          `json:"comparisons"`
	ReceptiveFields []UnitRF                   `json:"receptive_fields"`
	Attribution     *AttributionResult         `json:"attribution,omitempty"`
	Similarity      []analysis.LayerSimilarity `json:"similarity_to_untrained"`
	// Validation judges the headline group against the target (TargetMeanBestR) and says what
	// the measurements point to where a cell type falls short.
	Validation *Validation `json:"validation"`
}

// Probe runs the interpretability analyses of a trained model against recorded (or simulated)
// interneurons, with an untrained model of the same architecture as the control:
//
//   - recorded cells that duplicate another of their file (sign-flipped copies) are counted
//     once (MergeDuplicateCells);
//   - every stimulus group of data: CompareInterneurons for model and control; per cell type
//     the mean held-out r with its circular-shift null and the in-sample number beside it
//     (Summary), headline group SummaryGroup;
//   - gradient receptive fields of every ganglion cell and of the central unit of every channel
//     (before its ReLU), their rank-1 decomposition and Gaussian fit, and, given the recording,
//     their match with the recorded cells' spike-triggered averages;
//   - given an attribution stimulus, the integrated-gradients share of each channel of every
//     layer in each cell's response to it;
//   - the similarity of the model's layers to the control's on white noise.
func Probe(model, control *retina.Model, data []InterneuronData, opts ProbeOptions) (*ProbeResult, error) {
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, "probe: "+format+"\n", args...)
		}
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("no interneuron recordings")
	}
	if control != nil && !sameArchitecture(model.Meta.Model, control.Meta.Model) {
		return nil, fmt.Errorf("the control's architecture differs from the model's")
	}
	data, merged := MergeDuplicateCells(data)
	if len(merged) > 0 {
		logf("%d recorded cells are exact copies (|r| > %g) of another cell of their file: each signal is counted once", len(merged), DuplicateThreshold)
	}
	in := analysis.InputOf(model)
	res := &ProbeResult{MergedDuplicates: merged, Model: model.Meta.Model.Type, Layers: layerInfos(model.Layers()), PreNonlinearity: !opts.Compare.AfterNonlinearity,
		MaxShift: opts.Compare.MaxShift, InputShape: [3]int{in.History, in.H, in.W}, FrameRate: model.Meta.FrameRate,
		SummaryByGroup: map[string]Summary{}}
	if len(res.Layers) == 0 {
		return nil, fmt.Errorf("model %s has no hidden layers to probe", model.Meta.Model.Type)
	}

	// Interneurons, group by group.
	if err := compareGroups(res, model, control, data, opts, logf); err != nil {
		return nil, err
	}

	// Receptive fields.
	if err := receptiveFields(res, model, opts, logf); err != nil {
		return nil, err
	}

	// Attribution.
	if a := opts.Attribution; a != nil {
		ar, err := attribution(res.Layers, model, in, a, opts.IGSteps, logf)
		if err != nil {
			return nil, err
		}
		res.Attribution = ar
	}

	// Similarity to the control on white noise.
	if control != nil {
		logf("similarity of the trained and untrained layers on white noise")
		sim, err := similarityToControl(model, control, in, opts)
		if err != nil {
			return nil, err
		}
		res.Similarity = sim
	}

	logf("validation against the target (mean held-out r ≥ %.1f, ≥ %.1f above the control)", TargetMeanBestR, TargetMarginOverControl)
	v, err := validate(res, model, data, opts)
	if err != nil {
		return nil, err
	}
	res.Validation = v
	return res, nil
}

// compareGroups compares the model's (and the control's) units with the interneurons of each
// stimulus group, and chooses the group of the headline summary.
func compareGroups(res *ProbeResult, model, control *retina.Model, data []InterneuronData, opts ProbeOptions, logf func(string, ...any)) error {
	var groups []string
	for _, d := range data {
		if !slices.Contains(groups, d.Group) {
			groups = append(groups, d.Group)
		}
	}
	res.SummaryGroup = opts.SummaryGroup
	if res.SummaryGroup == "" {
		res.SummaryGroup = groups[0]
		for _, pref := range []string{"whitenoise", "boxes"} {
			if slices.Contains(groups, pref) {
				res.SummaryGroup = pref
			}
		}
	} else if !slices.Contains(groups, res.SummaryGroup) {
		return fmt.Errorf("summary group %q is not among the interneuron groups (%v)", res.SummaryGroup, groups)
	}
	for _, g := range groups {
		var sub []InterneuronData
		for _, d := range data {
			if d.Group == g {
				sub = append(sub, d)
			}
		}
		gc := GroupComparison{Group: g}
		var err error
		logf("correlating every unit with %d recordings of group %q (trained model)", len(sub), g)
		if gc.Learned, err = CompareInterneurons(analysis.ModelUnits(model), sub, opts.Compare); err != nil {
			return err
		}
		if control != nil {
			logf("correlating every unit with %d recordings of group %q (untrained control)", len(sub), g)
			if gc.Untrained, err = CompareInterneurons(analysis.ModelUnits(control), sub, opts.Compare); err != nil {
				return err
			}
		}
		s := summarize(gc.Learned, gc.Untrained)
		res.Comparisons = append(res.Comparisons, gc)
		res.SummaryByGroup[g] = s
	}
	res.Summary = res.SummaryByGroup[res.SummaryGroup]
	return nil
}

// receptiveFields adds the gradient receptive fields of every ganglion cell and of every
// hidden channel's centre unit, with the recorded cells' spike-triggered averages beside them
// when opts.Recording is set.
func receptiveFields(res *ProbeResult, model *retina.Model, opts ProbeOptions, logf func(string, ...any)) error {
	rfOpts := opts.RF
	if rfOpts.Samples <= 0 {
		rfOpts.Samples = 512
	}
	var sta *analysis.ClassicalLN
	if opts.Recording != nil {
		n := opts.STAWindows
		if n <= 0 {
			n = 5000
		}
		w, err := model.Windows(opts.Recording.Train.Stimulus, opts.Recording.Train.Rates)
		if err != nil {
			return fmt.Errorf("recording: %w", err)
		}
		logf("spike-triggered averages of the %d recorded cells (%d windows)", w.NCells(), min(n, w.Len()))
		if sta, err = analysis.FitClassicalLN(w, nil, n); err != nil {
			return fmt.Errorf("recording: %w", err)
		}
	}
	logf("gradient receptive fields of %d ganglion cells and every channel", model.Meta.Model.NCells)
	var targets []analysis.Target
	for c := 0; c < model.Meta.Model.NCells; c++ {
		targets = append(targets, analysis.Ganglion(c))
	}
	for _, l := range res.Layers {
		for ch := 0; ch < l.Shape[0]; ch++ {
			targets = append(targets, analysis.Target{Layer: l.Name, Channel: ch, Row: l.Shape[1] / 2, Col: l.Shape[2] / 2, PreNonlinearity: true})
		}
	}
	for _, t := range targets {
		u, err := unitRF(model, t, rfOpts, sta)
		if err != nil {
			return err
		}
		res.ReceptiveFields = append(res.ReceptiveFields, u)
	}
	return nil
}

// attribution splits the responses to the attribution stimulus a over each layer's channels by
// integrated gradients (igSteps steps; 0: 32), within frames [a.From, a.To).
func attribution(layers []LayerInfo, model *retina.Model, in analysis.Input, a *AttributionStimulus, igSteps int, logf func(string, ...any)) (*AttributionResult, error) {
	ar := &AttributionResult{Stimulus: a}
	if igSteps <= 0 {
		igSteps = 32
	}
	for _, l := range layers {
		logf("integrated gradients of the responses to %s over the channels of %s", a.Name, l.Name)
		full, err := analysis.IntegratedGradients(model, a.Stimulus, nil, analysis.IGOptions{Layer: l.Name, Steps: igSteps})
		if err != nil {
			return nil, err
		}
		ar.Layers = append(ar.Layers, shares(full, a.From-in.History, a.To-in.History))
	}
	return ar, nil
}

// similarityToControl compares the trained and untrained layers on 2000 frames of binary white
// noise.
func similarityToControl(model, control *retina.Model, in analysis.Input, opts ProbeOptions) ([]analysis.LayerSimilarity, error) {
	movie := datasets.NewMovie(2000+in.History, in.H, in.W)
	analysis.NoiseWindows(movie.Data, 1, true, rand.New(rand.NewPCG(7, 7)))
	for i, z := range movie.Data {
		movie.Data[i] = in.Raw(z)
	}
	return analysis.CompareModels(analysis.ModelUnits(model), analysis.ModelUnits(control), movie,
		analysis.SimilarityOptions{PreNonlinearity: !opts.Compare.AfterNonlinearity})
}

// LayerInfo names a hidden layer and the shape of its units [C, H, W].
type LayerInfo struct {
	Name  string `json:"name"`
	Shape [3]int `json:"shape"`
}

func layerInfos(ls []retina.Layer) []LayerInfo {
	out := make([]LayerInfo, len(ls))
	for i, l := range ls {
		out[i] = LayerInfo{Name: l.Name, Shape: l.Shape}
	}
	return out
}

func sameArchitecture(a, b nn.ModelConfig) bool {
	return a.Type == b.Type && a.NCells == b.NCells && a.ImgShape == b.ImgShape &&
		slices.Equal(a.Chans, b.Chans) && slices.Equal(a.KSizes, b.KSizes)
}

// unitRF maps and summarises the gradient receptive field of t.
func unitRF(m *retina.Model, t analysis.Target, opts analysis.RFOptions, sta *analysis.ClassicalLN) (UnitRF, error) {
	rf, err := analysis.GradientRF(m, t, opts)
	if err != nil {
		return UnitRF{}, err
	}
	u := UnitRF{Target: t.String(), Layer: t.Layer, Index: t.Channel, Row: t.Row, Col: t.Col, RF: rf}
	if t.Layer == "" {
		u.Index = t.Cell
	}
	if u.Sep, err = rf.Decompose(); err != nil {
		// A unit whose gradient vanishes everywhere has no receptive field to fit.
		u.Explained, u.PeakLagMS = math.NaN(), math.NaN()
		u.Gaussian = analysis.Gaussian2D{Amplitude: math.NaN(), Offset: math.NaN(), CentreY: math.NaN(), CentreX: math.NaN(),
			SigmaU: math.NaN(), SigmaV: math.NaN(), Angle: math.NaN(), R2: math.NaN()}
		return u, nil
	}
	u.Explained = u.Sep.Explained
	if u.Gaussian, err = analysis.FitGaussian2D(u.Sep.Spatial, rf.H, rf.W); err != nil {
		return UnitRF{}, fmt.Errorf("receptive field of %s: %w", t, err)
	}
	u.PeakLagMS = float64(rf.History-peakIndex(u.Sep.Temporal)) * 1000 / m.Meta.FrameRate
	if t.Layer == "" && sta != nil && t.Cell < len(sta.Filters) {
		u.STA = analysis.Float64s(sta.Filters[t.Cell])
		r, err := metrics.Pearson(sta.Filters[t.Cell], float32s(rf.Data))
		if err == nil {
			u.RecordedSTA = &r
		}
	}
	return u, nil
}

func float32s(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// shares sums each cell's channel attributions over windows [from, to) and normalises them.
func shares(a *analysis.Attribution, from, to int) LayerAttribution {
	la := LayerAttribution{Layer: a.Layer, Residual: a.Residual(), Full: a}
	from, to = max(0, from), min(len(a.Output[0]), to)
	nc := len(a.Channels[0][0])
	la.MeanShare = make([]float64, nc)
	for k := range a.Cells {
		s := make([]float64, nc)
		for t := from; t < to; t++ {
			for c, v := range a.Channels[k][t] {
				s[c] += v
			}
		}
		var tot float64
		for _, v := range s {
			tot += math.Abs(v)
		}
		for c := range s {
			if tot > 0 {
				s[c] /= tot
			}
			la.MeanShare[c] += s[c] / float64(len(a.Cells))
		}
		la.Share = append(la.Share, s)
	}
	order := analysis.AllWindows(nc)
	sort.SliceStable(order, func(i, j int) bool { return la.MeanShare[order[i]] > la.MeanShare[order[j]] })
	la.TopChannel = order[0]
	return la
}
