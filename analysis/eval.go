package analysis

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/jsonnull"
	"github.com/deepretina/deepretina/metrics"
	"github.com/deepretina/deepretina/retina"
)

// Evaluation scores a model on a recording's test set, cell by cell, next to the LN baseline and
// the retina's own reliability. Its JSON form is the run's evaluation summary.
type Evaluation struct {
	Run      string `json:"run"`
	Model    string `json:"model"`
	Baseline string `json:"ln_baseline"` // which LN model ln_* refers to
	Data     string `json:"data"`

	Cells      []int     `json:"cells"`
	CNNPearson []float64 `json:"cnn_pearson"`
	LNPearson  []float64 `json:"ln_pearson"`
	// Ceiling: the r a perfect model (the noiseless rate) would reach against the trial mean,
	// from the split-half reliability stepped up by Spearman–Brown (SplitHalfCeiling), the
	// number to read the model's r against; CeilingMethod says so. SplitHalf is the uncorrected
	// split-half r (even vs odd trials) the papers print, CeilingNoise the noise-corrected
	// estimate of the same ceiling (NoiseCorrectedCeiling).
	Ceiling       []float64 `json:"ceiling"`
	CeilingMethod string    `json:"ceiling_method"`
	SplitHalf     []float64 `json:"split_half_r"`
	CeilingNoise  []float64 `json:"ceiling_noise_corrected"`
	FEV           []float64 `json:"fev"` // fraction of explainable variance explained by the model
	LNFEV         []float64 `json:"ln_fev"`
	BitsPerSpike  []float64 `json:"bits_per_spike"`
	LNBits        []float64 `json:"ln_bits_per_spike"`

	CNNPearsonMean   float64 `json:"cnn_pearson_mean"`
	LNPearsonMean    float64 `json:"ln_pearson_mean"`
	CeilingMean      float64 `json:"ceiling_mean"`
	SplitHalfMean    float64 `json:"split_half_r_mean"`
	CeilingNoiseMean float64 `json:"ceiling_noise_corrected_mean"`
	FEVMean          float64 `json:"fev_mean"`
	LNFEVMean        float64 `json:"ln_fev_mean"`
}

// CeilingSpearmanBrown is Evaluation.CeilingMethod.
const CeilingSpearmanBrown = "Spearman-Brown corrected split-half: the r of the noiseless rate with the trial mean"

// LNPredictor is any baseline that predicts rates [T−history, N] for test windows: a trained
// dense LN model (*retina.Model) or a ClassicalLN.
type LNPredictor interface {
	Predict(w *datasets.Windows) (datasets.Matrix, error)
}

// RunBaseline adapts a trained model (e.g. the dense LN of torch-deep-retina) to LNPredictor.
type RunBaseline struct{ Model *retina.Model }

// Predict implements LNPredictor.
func (r RunBaseline) Predict(w *datasets.Windows) (datasets.Matrix, error) {
	return r.Model.Predict(w.Stim)
}

// Evaluate scores model (and the baseline, if not nil) on rec's test split.
//
// The model must model this recording: the same cells (ids and order) and the frame size it was
// trained on; a baseline must predict the same cells from the same history. Any mismatch is an
// error naming both sides. With fewer than two test repeats the reliability ceiling and the FEV
// are unavailable (NaN; null in JSON, "n/a" in the table); bits per spike needs the recording's
// count convention (Split.CountTrials) and is NaN without it.
func Evaluate(model *retina.Model, baseline LNPredictor, baselineName string, rec *datasets.Recording) (*Evaluation, error) {
	if err := checkModelFits(model, rec); err != nil {
		return nil, err
	}
	if rb, ok := baseline.(RunBaseline); ok {
		if err := checkSameTask("the LN baseline", rb.Model, model); err != nil {
			return nil, err
		}
	}
	pred, err := model.Predict(rec.Test.Stimulus)
	if err != nil {
		return nil, err
	}
	h := model.Meta.InputShape[0]
	n := rec.NCells()
	if pred.Rows != rec.Test.Len()-h || pred.Cols != n {
		return nil, fmt.Errorf("the model predicts [%d, %d], the test set needs [%d, %d] ([T−history, cells])", pred.Rows, pred.Cols, rec.Test.Len()-h, n)
	}
	ev := &Evaluation{Run: model.Dir, Model: model.Meta.Config.ModelType, Baseline: baselineName,
		Data: rec.Provenance, Cells: rec.CellIDs, CeilingMethod: CeilingSpearmanBrown, LNFEVMean: math.NaN()}
	target := rec.Test.Rates.Data[h*n:]
	ev.CNNPearson = metrics.PearsonPerCell(pred.Data, target, n)
	dt := 1 / rec.FrameRate
	for c := 0; c < n; c++ {
		reps := trimRepeats(repeatsOf(rec, c), h)
		ev.Ceiling = append(ev.Ceiling, SplitHalfCeiling(reps))
		ev.SplitHalf = append(ev.SplitHalf, metrics.SplitHalfReliability(reps))
		ev.CeilingNoise = append(ev.CeilingNoise, NoiseCorrectedCeiling(reps))
		p := metrics.Column(pred.Data, n, c)
		ev.FEV = append(ev.FEV, metrics.FEV(p, reps))
		ev.BitsPerSpike = append(ev.BitsPerSpike, bits(p, rec, c, h, dt))
	}
	if baseline != nil {
		w, err := model.Windows(rec.Test.Stimulus, datasets.Matrix{})
		if err != nil {
			return nil, err
		}
		lnPred, err := baseline.Predict(w)
		if err != nil {
			return nil, fmt.Errorf("evaluate LN baseline: %w", err)
		}
		if lnPred.Rows != pred.Rows || lnPred.Cols != pred.Cols {
			return nil, fmt.Errorf("the LN baseline (%s) predicts [%d, %d], the model %s predicts [%d, %d]",
				baselineName, lnPred.Rows, lnPred.Cols, where(model), pred.Rows, pred.Cols)
		}
		ev.LNPearson = metrics.PearsonPerCell(lnPred.Data, target, n)
		for c := 0; c < n; c++ {
			p := metrics.Column(lnPred.Data, n, c)
			ev.LNFEV = append(ev.LNFEV, metrics.FEV(p, trimRepeats(repeatsOf(rec, c), h)))
			ev.LNBits = append(ev.LNBits, bits(p, rec, c, h, dt))
		}
		ev.LNPearsonMean = metrics.Mean(ev.LNPearson)
		ev.LNFEVMean = meanFinite(ev.LNFEV)
	}
	ev.CNNPearsonMean = metrics.Mean(ev.CNNPearson)
	ev.CeilingMean = meanFinite(ev.Ceiling)
	ev.SplitHalfMean = meanFinite(ev.SplitHalf)
	ev.CeilingNoiseMean = meanFinite(ev.CeilingNoise)
	ev.FEVMean = meanFinite(ev.FEV)
	return ev, nil
}

// checkModelFits checks that model models rec: same cells in the same order, same frame size,
// and a test stimulus longer than the model's history.
func checkModelFits(model *retina.Model, rec *datasets.Recording) error {
	m := model.Meta
	data := fmt.Sprintf("the recording %s/%s", rec.Expt, rec.Stim)
	if len(m.CellIDs) != rec.NCells() {
		return fmt.Errorf("the model %s predicts %d cells, %s holds %d cells", where(model), len(m.CellIDs), data, rec.NCells())
	}
	if !slices.Equal(m.CellIDs, rec.CellIDs) {
		return fmt.Errorf("the model %s predicts cells %v, %s holds cells %v", where(model), m.CellIDs, data, rec.CellIDs)
	}
	st := rec.Test.Stimulus
	if st.H != m.InputShape[1] || st.W != m.InputShape[2] {
		return fmt.Errorf("the model %s expects frames of %d×%d, the test stimulus of %s has %d×%d", where(model), m.InputShape[1], m.InputShape[2], data, st.H, st.W)
	}
	if st.T <= m.InputShape[0] {
		return fmt.Errorf("the model %s needs more than its history of %d frames, the test stimulus of %s has %d", where(model), m.InputShape[0], data, st.T)
	}
	if rec.Test.Rates.Rows != st.T || rec.Test.Rates.Cols != rec.NCells() {
		return fmt.Errorf("%s: test rates are [%d, %d], expected [%d, %d]", data, rec.Test.Rates.Rows, rec.Test.Rates.Cols, st.T, rec.NCells())
	}
	return nil
}

// where names a model in messages: its checkpoint folder, or "in memory" for one built by
// retina.NewModel.
func where(m *retina.Model) string {
	if m.Dir == "" {
		return "in memory"
	}
	return m.Dir
}

// checkSameTask checks that a baseline model predicts the same cells from the same history and
// frames as the model it is compared with.
func checkSameTask(what string, base, model *retina.Model) error {
	b, m := base.Meta, model.Meta
	if b.InputShape != m.InputShape {
		return fmt.Errorf("%s %s reads a history of %d frames of %d×%d, the model %s a history of %d frames of %d×%d",
			what, where(base), b.InputShape[0], b.InputShape[1], b.InputShape[2], where(model), m.InputShape[0], m.InputShape[1], m.InputShape[2])
	}
	if !slices.Equal(b.CellIDs, m.CellIDs) {
		return fmt.Errorf("%s %s predicts cells %v, the model %s cells %v", what, where(base), b.CellIDs, where(model), m.CellIDs)
	}
	return nil
}

// repeatsOf is cell c's test repeats (none when the recording has no repeats).
func repeatsOf(rec *datasets.Recording, c int) [][]float32 {
	if c < len(rec.Test.Repeats) {
		return rec.Test.Repeats[c]
	}
	return nil
}

// bits scores a prediction of cell c in bits/spike against the test spike counts, when the
// recording has them and says how many trials they sum (Split.CountTrials); NaN otherwise.
func bits(pred []float32, rec *datasets.Recording, c, h int, dt float64) float64 {
	if rec.Test.Counts.Data == nil || rec.Test.CountTrials < 1 {
		return math.NaN()
	}
	counts := metrics.Column(rec.Test.Counts.Data, rec.NCells(), c)[h:]
	return metrics.BitsPerSpike(pred, counts, dt, rec.Test.CountTrials)
}

// trimRepeats drops the first h frames of each repeat: they have no prediction.
func trimRepeats(reps [][]float32, h int) [][]float32 {
	out := make([][]float32, len(reps))
	for i, r := range reps {
		out[i] = r[h:]
	}
	return out
}

func meanFinite(xs []float64) float64 {
	var s float64
	var k int
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			s += x
			k++
		}
	}
	if k == 0 {
		return math.NaN()
	}
	return s / float64(k)
}

// WriteTable prints the per-cell scores and their means as an aligned table, the fraction of
// explainable variance explained first (it is corrected for the trial-to-trial noise, so 1 is
// a perfect model whatever the cell's reliability), then Pearson r beside its ceiling (the r
// of a perfect model, Spearman–Brown corrected) and the uncorrected split-half r the papers
// print; unavailable scores read "n/a". The model's own columns are labelled by what it is (CNN
// or LN).
func (ev *Evaluation) WriteTable(w io.Writer) error {
	self, base := "CNN", "LN"
	if ev.isLN() {
		self, base = "LN", "baseline"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "cell\t%s FEV\t%s FEV\t%s r\t%s r\tceiling r\tsplit-half r\t%s bits/spk\t\n", self, base, self, base, self)
	for i, id := range ev.Cells {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", id, score(ev.FEV, i), dash(ev.LNFEV, i), score(ev.CNNPearson, i), dash(ev.LNPearson, i),
			score(ev.Ceiling, i), score(ev.SplitHalf, i), score(ev.BitsPerSpike, i))
	}
	ln, lnFEV := "-", "-"
	if ev.LNPearson != nil {
		ln, lnFEV = scoreOf(ev.LNPearsonMean), scoreOf(ev.LNFEVMean)
	}
	fmt.Fprintf(tw, "mean\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", scoreOf(ev.FEVMean), lnFEV, scoreOf(ev.CNNPearsonMean), ln, scoreOf(ev.CeilingMean), scoreOf(ev.SplitHalfMean), "")
	if err := tw.Flush(); err != nil {
		return err
	}
	if ev.Baseline != "" {
		fmt.Fprintf(w, "%s: %s\n", base, ev.Baseline)
	}
	_, err := fmt.Fprintln(w, "ceiling r: the r a perfect (noiseless) model reaches against the trial mean (split-half r, Spearman–Brown corrected)")
	return err
}

// isLN reports whether the evaluated model is the LN model (model_type "LN", any case).
func (ev *Evaluation) isLN() bool { return strings.EqualFold(ev.Model, "LN") }

func scoreOf(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", x)
}

func score(xs []float64, i int) string {
	if i >= len(xs) {
		return "n/a"
	}
	return scoreOf(xs[i])
}

// dash is score for an optional column: "-" when there is no such column at all.
func dash(xs []float64, i int) string {
	if xs == nil {
		return "-"
	}
	return score(xs, i)
}

// MarshalJSON writes undefined scores (NaN: no explainable variance, no spikes, a constant
// prediction), per cell and averaged, as null, which JSON has instead of NaN.
func (ev Evaluation) MarshalJSON() ([]byte, error) {
	type plain Evaluation // without this method
	return jsonnull.Marshal(plain(ev))
}
