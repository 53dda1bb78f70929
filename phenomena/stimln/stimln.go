// Package stimln fits linear–nonlinear (LN) models in a stimulus's own coordinates: the
// reference against which the phenomena battery (package phenomena) judges a cell in the
// experiments where an LN model fitted on white noise is a poor control.
//
// A verdict is only as good as its control. The battery's LN surrogate is fitted on white noise
// and extrapolated to each experiment's stimulus. Where the stimulus drives the surrogate
// barely above grey (a fine jittering grating averages out under a linear filter), the
// surrogate's metric divides by noise and the control is unstable. The models here are
// fitted on the cell's own responses to the stimulus family of the experiment, in regressors
// that span every linear function of that family's frames (e.g. the phase of a jittering
// grating), so the reference is "an LN cell seeing exactly this stimulus": whatever an LN
// model can do with this stimulus, the reference does, and what it cannot do is the cell's.
// Predictions are cross-validated (fitted on the other trials), so the reference does not
// copy the cell's own trial-to-trial structure.
package stimln

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/phenomena/measures"
)

// Trial is one stimulus presentation: the regressors of each frame (X: [T][P], e.g. from
// Lagged) and the cell's rate in Hz at each frame (Y: [T]).
type Trial struct {
	X [][]float64
	Y []float64
	// Predicted marks a trial that is only predicted, never fitted on (the condition whose
	// response an LN model identified on the other condition would give).
	Predicted bool
}

// Model is an LN model: generator = W·x + Bias, rate = the binned nonlinearity at the
// generator (interpolated linearly, extrapolated along the outer bins' slope, never below 0 Hz).
type Model struct {
	W        []float64
	Bias     float64
	NLX, NLY []float64 // bin centres along the generator (ascending) and mean rates
}

// Lagged returns one trial's regressors: each signal (one value per frame; 0 before the trial,
// which starts from grey) convolved causally with each temporal basis function.
//
//	signals: [S][T]; basis: [B][lags]; return: [T][S·B]
func Lagged(signals [][]float64, basis [][]float64) [][]float64 {
	if len(signals) == 0 {
		return nil
	}
	t := len(signals[0])
	out := make([][]float64, t)
	p := len(signals) * len(basis)
	for i := range out {
		out[i] = make([]float64, p)
	}
	for s, sig := range signals {
		for b, f := range basis {
			g := measures.Convolve(sig, f)
			for i, v := range g {
				out[i][s*len(basis)+b] = v
			}
		}
	}
	return out
}

// PhaseSignals returns, for a path of whole-pixel offsets of a grating of the given period in
// pixels, one indicator per phase: signal p is 1 in the frames where the offset is p modulo the
// period. A grating shifted by whole pixels is one of `period` frames, so every linear function
// of the movie's pixels is a linear function of these indicators.
//
//	path: [T]; return: [period][T]
func PhaseSignals(path []float64, period int) [][]float64 {
	out := make([][]float64, period)
	for p := range out {
		out[p] = make([]float64, len(path))
	}
	for t, x := range path {
		p := int(math.Round(x)) % period
		if p < 0 {
			p += period
		}
		out[p][t] = 1
	}
	return out
}

// gram is a trial's sufficient statistics for least squares with a constant regressor appended:
// XᵀX and XᵀY of [X 1].
type gram struct {
	xtx *mat.SymDense
	xty *mat.VecDense
}

// trialGram is a trial's statistics for the weighted least-squares (Gauss–Newton) step of the
// squared error of lin's rates, linearised at lin: each frame's row and target are scaled by
// the nonlinearity's slope d there, the target being d·g + (y − f(g)). With lin nil it is plain
// least squares of the rates on the regressors.
func trialGram(tr Trial, p int, lin *Model) gram {
	x := mat.NewDense(len(tr.X), p+1, nil)
	y := mat.NewVecDense(len(tr.Y), nil)
	for i, row := range tr.X {
		d, t := 1.0, tr.Y[i]
		if lin != nil {
			g := lin.generator(tr.X[i : i+1])[0]
			d = lin.slope(g)
			t = d*g + tr.Y[i] - lin.nl(g)
		}
		xr := x.RawRowView(i)
		for j, v := range row {
			xr[j] = d * v
		}
		xr[p] = d
		y.SetVec(i, t)
	}
	g := gram{mat.NewSymDense(p+1, nil), mat.NewVecDense(p+1, nil)}
	g.xtx.SymOuterK(1, x.T())
	g.xty.MulVec(x.T(), y)
	return g
}

// gaussNewtonSteps is the number of Gauss–Newton steps on all trials after the plain
// least-squares start: least squares on rectified rates does not recover an LN cell's filter
// for a non-Gaussian stimulus (the bias that Bussgang's theorem rules out only for Gaussian
// ones), so the filter is refined against the squared error of the LN model's own rates.
const gaussNewtonSteps = 4

// CrossPredict predicts each trial of each group from an LN model fitted on the trials outside
// that group that are not Predicted (trials in no group are always fitted on): the ridge
// penalty is lambda × the mean diagonal of XᵀX (the constant is not penalised), the
// nonlinearity has `bins` equal-count bins of the training data. The filter is first refined
// by Gauss–Newton steps on all non-Predicted trials; each group's model then takes its last
// step, and bins its nonlinearity, on its own training trials alone. So a group's held-out
// non-Predicted trials shaped only the point that last step starts from (8 pairs: an eighth
// of it); Predicted trials shape nothing.
//
//	trials: [N]; groups: trial indices; return: [N][T] predictions (nil for trials in no
//	group) and each group's model
func CrossPredict(trials []Trial, groups [][]int, lambda float64, bins int) ([][]float64, []*Model, error) {
	if len(trials) == 0 || len(trials[0].X) == 0 {
		return nil, nil, fmt.Errorf("stimln: no trials to fit")
	}
	p := len(trials[0].X[0])
	for i, tr := range trials {
		if len(tr.X) != len(tr.Y) {
			return nil, nil, fmt.Errorf("stimln: trial %d has %d rows of regressors and %d rates", i, len(tr.X), len(tr.Y))
		}
	}
	var all []int
	for i, tr := range trials {
		if !tr.Predicted {
			all = append(all, i)
		}
	}
	var lin *Model
	grams := make([]gram, len(trials))
	for step := 0; step <= gaussNewtonSteps+1; step++ {
		for _, i := range all {
			grams[i] = trialGram(trials[i], p, lin)
		}
		if step == gaussNewtonSteps+1 {
			break
		}
		m, err := fitOn(trials, grams, all, p, lambda, bins)
		if err != nil {
			return nil, nil, fmt.Errorf("stimln: all trials: %w", err)
		}
		lin = m
	}
	out := make([][]float64, len(trials))
	models := make([]*Model, len(groups))
	for gi, group := range groups {
		held := map[int]bool{}
		for _, i := range group {
			held[i] = true
		}
		var train []int
		for _, i := range all {
			if !held[i] {
				train = append(train, i)
			}
		}
		m, err := fitOn(trials, grams, train, p, lambda, bins)
		if err != nil {
			return nil, nil, fmt.Errorf("stimln: group %d: %w", gi, err)
		}
		models[gi] = m
		for _, i := range group {
			out[i] = m.Predict(trials[i].X)
		}
	}
	return out, models, nil
}

// fitOn fits the model on the trials train from their summed Gram matrices.
func fitOn(trials []Trial, grams []gram, train []int, p int, lambda float64, bins int) (*Model, error) {
	a := mat.NewSymDense(p+1, nil)
	b := mat.NewVecDense(p+1, nil)
	for _, i := range train {
		a.AddSym(a, grams[i].xtx)
		b.AddVec(b, grams[i].xty)
	}
	var diag float64
	for j := 0; j < p; j++ {
		diag += a.At(j, j) / float64(p)
	}
	for j := 0; j < p; j++ {
		a.SetSym(j, j, a.At(j, j)+lambda*diag+1e-12)
	}
	var ch mat.Cholesky
	if !ch.Factorize(a) {
		return nil, fmt.Errorf("XᵀX + penalty is not positive definite (%d regressors)", p)
	}
	var w mat.VecDense
	if err := ch.SolveVecTo(&w, b); err != nil {
		return nil, err
	}
	m := &Model{W: make([]float64, p), Bias: w.AtVec(p)}
	for j := range m.W {
		m.W[j] = w.AtVec(j)
	}
	var gen, rate []float64
	for _, i := range train {
		gen = append(gen, m.generator(trials[i].X)...)
		rate = append(rate, trials[i].Y...)
	}
	m.NLX, m.NLY = measures.BinnedNonlinearity(gen, rate, bins)
	return m, nil
}

func (m *Model) generator(x [][]float64) []float64 {
	g := make([]float64, len(x))
	for i, row := range x {
		v := m.Bias
		for j, w := range m.W {
			v += w * row[j]
		}
		g[i] = v
	}
	return g
}

// Predict returns the model's rate at each row of regressors.
func (m *Model) Predict(x [][]float64) []float64 {
	g := m.generator(x)
	for i, v := range g {
		g[i] = m.nl(v)
	}
	return g
}

// slope is the nonlinearity's slope at g (that of the outer segment beyond the bins), floored at
// a thousandth of its steepest so that no frame loses all weight in a Gauss–Newton step.
func (m *Model) slope(g float64) float64 {
	n := len(m.NLX)
	if n < 2 {
		return 1
	}
	seg := func(i int) float64 {
		d := m.NLX[i] - m.NLX[i-1]
		if d <= 0 {
			return 0
		}
		return math.Max(0, (m.NLY[i]-m.NLY[i-1])/d)
	}
	steepest := 0.0
	for i := 1; i < n; i++ {
		steepest = math.Max(steepest, seg(i))
	}
	i := min(max(sort.SearchFloat64s(m.NLX, g), 1), n-1)
	return math.Max(seg(i), 1e-3*steepest+1e-12)
}

// nl interpolates the binned nonlinearity linearly and extrapolates it along the slope of its
// outer sixth of bins (as the battery's surrogate does: a response beyond the fitted range,
// e.g. a moving bar's longer drive than a flash's, keeps rising), never below 0 Hz.
func (m *Model) nl(g float64) float64 {
	n := len(m.NLX)
	if n == 0 {
		return 0
	}
	if n == 1 {
		return math.Max(0, m.NLY[0])
	}
	k := max(1, n/6)
	var v float64
	switch i := sort.SearchFloat64s(m.NLX, g); {
	case i == 0:
		v = m.NLY[0] + (g-m.NLX[0])*outerSlope(m.NLX[:k+1], m.NLY[:k+1])
	case i >= n:
		v = m.NLY[n-1] + (g-m.NLX[n-1])*outerSlope(m.NLX[n-1-k:], m.NLY[n-1-k:])
	default:
		d := m.NLX[i] - m.NLX[i-1]
		if d <= 0 {
			v = m.NLY[i]
		} else {
			v = m.NLY[i-1] + (m.NLY[i]-m.NLY[i-1])*(g-m.NLX[i-1])/d
		}
	}
	return math.Max(0, v)
}

// outerSlope is the least-squares slope of y on x (0 when x does not vary).
func outerSlope(x, y []float64) float64 {
	if s := measures.Slope(x, y); !math.IsNaN(s) {
		return s
	}
	return 0
}

// TStat is the one-sample t statistic of x against 0: mean / (SD / √n). NaN for fewer than 2
// values; ±Inf when all values are equal and non-zero.
func TStat(x []float64) float64 {
	n := float64(len(x))
	if n < 2 {
		return math.NaN()
	}
	mu := measures.Mean(x)
	var ss float64
	for _, v := range x {
		ss += (v - mu) * (v - mu)
	}
	sd := math.Sqrt(ss / (n - 1))
	if sd == 0 {
		if mu == 0 {
			return math.NaN()
		}
		return math.Copysign(math.Inf(1), mu)
	}
	return mu / (sd / math.Sqrt(n))
}

// OMSCell is one cell's object-motion measurement over independent pairs of object and
// background paths (Ölveczky et al. 2003), rates in Hz above the cell's rate at grey.
type OMSCell struct {
	GlobalHz, DifferentialHz float64 // mean over the pairs
	// Index is max(0, GlobalHz) / DifferentialHz (NaN when differential motion does not raise
	// the rate): below 1, global motion suppresses the cell.
	Index float64
	// LNIndex is the same index of the cell's LN model in the grating's coordinates, each pair
	// predicted by a model fitted on the other pairs' differential trials (CrossPredict), its
	// rates taken above the cell's own rate at grey (ObjectMotion says why).
	LNIndex float64
	// T is the one-sided t statistic, over the pairs, of the cell's differential-minus-global
	// response beyond its LN model's: positive when global motion suppresses the cell more than
	// any LN model of it on this stimulus.
	T float64
}

// OMSInput is one cell's responses to the object-motion stimuli and the paths behind them.
type OMSInput struct {
	Grey []float64 // the cell's rate in a grey trial; its second half is the rate at grey, the zero of both indices
	// Global[k] and Differential[k] are the responses to pair k: the whole field on Centre[k],
	// or the disc on Centre[k] and the background on Surround[k].
	Global, Differential [][]float64
	Centre, Surround     [][]float64
	Period               int         // the grating's period in whole pixels
	Skip                 int         // frames discarded at the start of each trial
	Basis                [][]float64 // temporal basis of the LN model's filters
}

// OMSPairs is the number of independent pairs of object and background paths the battery's
// object motion is averaged over; OMSTCrit is the one-sided t at p = 0.01 with OMSPairs − 1 = 7
// degrees of freedom that a cell's suppression by global motion beyond its LN model (OMSCell.T)
// must reach, so that one lucky pair does not make a verdict.
const (
	OMSPairs = 8
	OMSTCrit = 2.998
)

// omsLambda is the object-motion LN models' ridge penalty relative to the mean diagonal of XᵀX;
// omsBins their nonlinearity's equal-count bins. Ten bins, not the white-noise surrogate's 30:
// on the simulated truth's cells (sim seed 1, 13 normalisations, battery seeds 1 and 2) the
// held-out error of the differential trials is lowest at 10–15 bins for the OMS cell (0.70 of
// the response's variance, against 0.89 at 30 bins) and flat (0.77–0.79) for the others; the
// coarser of the best keeps 240 frames a bin, so that the nonlinearity, and the slopes the
// Gauss–Newton steps weight frames by, do not follow the noise of 80-frame bins
// (docs/validation.md, "The object-motion reference (session 9)").
const (
	omsLambda = 1e-3
	omsBins   = 10
)

// fitLambda and fitBins are FitPredict's penalty and bins (motion anticipation's reference).
const (
	fitLambda = 1e-3
	fitBins   = 30
)

// ObjectMotion measures one cell's object-motion sensitivity against its own LN model in the
// grating's coordinates: the regressors are the phase indicators (PhaseSignals) of the disc's
// and of the background's grating, each through the temporal basis, which span every linear
// spatiotemporal filter of these stimuli. The model is identified where the disc and the
// background move independently: it is fitted on the differential trials of all pairs but
// one, and predicts that pair's differential trial and its global trial, which no fold is
// fitted on. Fitting the global trials too would let the model mimic suppression with
// background weights that mirror the disc's phase for phase, a surround matched to this one
// grating rather than a receptive field (Ölveczky et al. 2003: the inhibition of
// object-motion-sensitive cells does not depend on the background grating's phase).
//
// Rates above grey are measured from the cell's own rate at grey, for the cell and for its LN
// model alike. Uniform grey is one stimulus, far from the fitted ones (every fitted frame is a
// contrast-1 grating): an LN model maps it to one generator value, and what its nonlinearity
// does there is an extrapolation in stimulus space that a fit on the gratings does not
// determine. Fitted on a grey trial too, the model's rate at grey came from the one bin that
// grey's frames shared with grating frames, and missed the cell's by 1.3–4.5 Hz, as much as
// the LN model's response above grey (docs/validation.md, "The object-motion reference
// (session 9)"). The comparison the reference serves is between the two motion conditions,
// both inside the fitted family, so both indices take the measured grey rate as their zero.
func ObjectMotion(in OMSInput) (OMSCell, error) {
	k := len(in.Global)
	if k < 2 || len(in.Differential) != k || len(in.Centre) != k || len(in.Surround) != k {
		return OMSCell{}, fmt.Errorf("stimln: object motion needs ≥ 2 pairs with a global and a differential trial and two paths each (got %d, %d, %d, %d)", k, len(in.Differential), len(in.Centre), len(in.Surround))
	}
	if len(in.Grey) == 0 {
		return OMSCell{}, fmt.Errorf("stimln: object motion needs the rates of a grey trial (got none)")
	}
	var trials []Trial
	groups := make([][]int, k)
	for j := 0; j < k; j++ {
		c := PhaseSignals(in.Centre[j], in.Period)
		s := PhaseSignals(in.Surround[j], in.Period)
		trials = append(trials,
			Trial{X: Lagged(append(append([][]float64{}, c...), c...), in.Basis), Y: in.Global[j], Predicted: true},
			Trial{X: Lagged(append(append([][]float64{}, c...), s...), in.Basis), Y: in.Differential[j]})
		groups[j] = []int{2 * j, 2*j + 1}
	}
	pred, _, err := CrossPredict(trials, groups, omsLambda, omsBins)
	if err != nil {
		return OMSCell{}, err
	}
	span := func(y []float64) float64 { return measures.Mean(measures.Span(y, in.Skip, len(y))) }
	// The rate at grey: the grey trial's second half, after any onset transient.
	rest := measures.Mean(in.Grey[len(in.Grey)/2:])
	var out OMSCell
	gl, df, lgl, ldf, e := make([]float64, k), make([]float64, k), make([]float64, k), make([]float64, k), make([]float64, k)
	for j := 0; j < k; j++ {
		gl[j], df[j] = span(in.Global[j])-rest, span(in.Differential[j])-rest
		lgl[j], ldf[j] = span(pred[2*j])-rest, span(pred[2*j+1])-rest
		e[j] = (df[j] - gl[j]) - (ldf[j] - lgl[j])
	}
	out.GlobalHz, out.DifferentialHz = measures.Mean(gl), measures.Mean(df)
	out.Index = omsIndex(out.GlobalHz, out.DifferentialHz)
	out.LNIndex = omsIndex(measures.Mean(lgl), measures.Mean(ldf))
	out.T = TStat(e)
	return out, nil
}

// omsIndex is the OMS index of rates above rest: max(0, global) / differential, NaN unless
// differential motion raises the rate.
func omsIndex(global, differential float64) float64 {
	if !(differential > 0) {
		return math.NaN()
	}
	return math.Max(0, global) / differential
}

// ColumnSignals returns the mean of each column of a movie in each frame: the coordinates of
// full-height bars, in which every linear filter of such a movie is a linear function.
//
//	m: [T, H, W]; return: [W][T]
func ColumnSignals(m datasets.Movie) [][]float64 {
	out := make([][]float64, m.W)
	for c := range out {
		out[c] = make([]float64, m.T)
	}
	for t := 0; t < m.T; t++ {
		f := m.Frame(t)
		for r := 0; r < m.H; r++ {
			for c, v := range f[r*m.W : (r+1)*m.W] {
				out[c][t] += float64(v) / float64(m.H)
			}
		}
	}
	return out
}

// FitPredict fits an LN model (penalty fitLambda, fitBins bins) on the trials fit and
// returns its rates for the regressors of each trial in predict.
//
//	predict: [N][T][P]; return: [N][T]
func FitPredict(fit []Trial, predict [][][]float64) ([][]float64, error) {
	trials := append([]Trial(nil), fit...)
	var group []int
	for _, x := range predict {
		group = append(group, len(trials))
		trials = append(trials, Trial{X: x, Y: make([]float64, len(x)), Predicted: true})
	}
	pred, _, err := CrossPredict(trials, [][]int{group}, fitLambda, fitBins)
	if err != nil {
		return nil, err
	}
	return pred[len(fit):], nil
}
