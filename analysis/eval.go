package analysis

import (
	"fmt"
	"io"
	"math"
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

	Cells        []int     `json:"cells"`
	CNNPearson   []float64 `json:"cnn_pearson"`
	LNPearson    []float64 `json:"ln_pearson"`
	Ceiling      []float64 `json:"ceiling"` // split-half reliability of the test repeats
	FEV          []float64 `json:"fev"`     // fraction of explainable variance explained by the model
	LNFEV        []float64 `json:"ln_fev"`
	BitsPerSpike []float64 `json:"bits_per_spike"`
	LNBits       []float64 `json:"ln_bits_per_spike"`

	CNNPearsonMean float64 `json:"cnn_pearson_mean"`
	LNPearsonMean  float64 `json:"ln_pearson_mean"`
	CeilingMean    float64 `json:"ceiling_mean"`
	FEVMean        float64 `json:"fev_mean"`
}

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
func Evaluate(model *retina.Model, baseline LNPredictor, baselineName string, rec *datasets.Recording) (*Evaluation, error) {
	if len(rec.Test.Repeats) != rec.NCells() {
		return nil, fmt.Errorf("evaluate: the test set of %s/%s has no repeats for its %d cells", rec.Expt, rec.Stim, rec.NCells())
	}
	pred, err := model.Predict(rec.Test.Stimulus)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	h := model.Meta.InputShape[0]
	n := rec.NCells()
	ev := &Evaluation{Run: model.Dir, Model: model.Meta.Config.ModelType, Baseline: baselineName,
		Data: rec.Provenance, Cells: rec.CellIDs}
	target := rec.Test.Rates.Data[h*n:]
	ev.CNNPearson = metrics.PearsonPerCell(pred.Data, target, n)
	dt := 1 / rec.FrameRate
	for c := 0; c < n; c++ {
		reps := trimRepeats(rec.Test.Repeats[c], h)
		ev.Ceiling = append(ev.Ceiling, metrics.SplitHalfReliability(reps))
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
		ev.LNPearson = metrics.PearsonPerCell(lnPred.Data, target, n)
		for c := 0; c < n; c++ {
			p := metrics.Column(lnPred.Data, n, c)
			ev.LNFEV = append(ev.LNFEV, metrics.FEV(p, trimRepeats(rec.Test.Repeats[c], h)))
			ev.LNBits = append(ev.LNBits, bits(p, rec, c, h, dt))
		}
		ev.LNPearsonMean = metrics.Mean(ev.LNPearson)
	}
	ev.CNNPearsonMean = metrics.Mean(ev.CNNPearson)
	ev.CeilingMean = metrics.Mean(ev.Ceiling)
	ev.FEVMean = meanFinite(ev.FEV)
	return ev, nil
}

// bits scores a prediction of cell c in bits/spike against the test spike counts, when the
// recording has them.
func bits(pred []float32, rec *datasets.Recording, c, h int, dt float64) float64 {
	if rec.Test.Counts.Data == nil {
		return math.NaN()
	}
	counts := metrics.Column(rec.Test.Counts.Data, rec.NCells(), c)[h:]
	return metrics.BitsPerSpike(pred, counts, dt, max(1, len(rec.Test.Repeats[c])))
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

// WriteTable prints the per-cell scores and their means as an aligned table.
func (ev *Evaluation) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "cell\tCNN r\tLN r\tceiling\tCNN FEV\tCNN bits/spk\t")
	for i, id := range ev.Cells {
		fmt.Fprintf(tw, "%d\t%.3f\t%s\t%.3f\t%.3f\t%.3f\t\n", id, ev.CNNPearson[i], at(ev.LNPearson, i), ev.Ceiling[i], ev.FEV[i], ev.BitsPerSpike[i])
	}
	ln := "-"
	if ev.LNPearson != nil {
		ln = fmt.Sprintf("%.3f", ev.LNPearsonMean)
	}
	fmt.Fprintf(tw, "mean\t%.3f\t%s\t%.3f\t%.3f\t%s\t\n", ev.CNNPearsonMean, ln, ev.CeilingMean, ev.FEVMean, "")
	return tw.Flush()
}

func at(xs []float64, i int) string {
	if xs == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", xs[i])
}

// MarshalJSON writes undefined scores (NaN: no explainable variance, no spikes, a constant
// prediction), per cell and averaged, as null, which JSON has instead of NaN.
func (ev Evaluation) MarshalJSON() ([]byte, error) {
	type plain Evaluation // without this method
	return jsonnull.Marshal(plain(ev))
}
