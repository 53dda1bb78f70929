// Package measures holds the response measures of the retinal phenomena battery (package
// phenomena): latency, Fourier amplitudes and harmonic ratios, the object-motion index,
// reverse correlation, peak times and centre frequencies of filters, direction selectivity,
// motion anticipation, binned static nonlinearities, and the small statistics the experiments
// share (Mean, Median, Span, PeakExcess, MaxExcess). A response is the rate of one cell in Hz,
// one value per frame. They are public so that users apply them to their own stimuli.
package measures

import (
	"math"
	"math/cmplx"
	"sort"

	"gonum.org/v1/gonum/floats"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/metrics"
)

// Measures of responses, shared by the experiments and public so that users can apply them to
// their own stimuli. Responses are rates of one cell in Hz, one value per frame.

// Latency is the centre of mass, in ms after frame onset, of the part of response r that
// exceeds baseline+threshold within frames [onset, onset+window): the reference's latency
// (centre of mass of the response above 3 Hz), measured from the cell's own baseline. NaN when
// nothing exceeds it.
func Latency(r []float64, onset, window int, baseline, threshold, frameRate float64) float64 {
	var sw, swt float64
	for t := max(onset, 0); t < min(onset+window, len(r)); t++ {
		if e := r[t] - baseline - threshold; e > 0 {
			sw += e
			swt += e * float64(t-onset)
		}
	}
	if sw == 0 {
		return math.NaN()
	}
	return swt / sw * 1000 / frameRate
}

// Amplitude is the amplitude of the Fourier component of r at freqHz (a sinusoid A·sin(2πft+φ)
// gives A); r should span a whole number of cycles.
func Amplitude(r []float64, freqHz, frameRate float64) float64 {
	var s complex128
	for t, v := range r {
		s += complex(v, 0) * cmplx.Exp(complex(0, -2*math.Pi*freqHz*float64(t)/frameRate))
	}
	return 2 * cmplx.Abs(s) / float64(len(r))
}

// HarmonicRatio is F2/F1: the amplitude of r at 2·freqHz over that at freqHz. A response with
// no first harmonic (pure frequency doubling) gives +Inf, a flat one NaN.
func HarmonicRatio(r []float64, freqHz, frameRate float64) float64 {
	return Ratio(Amplitude(r, 2*freqHz, frameRate), Amplitude(r, freqHz, frameRate), ScaleOf(r))
}

// Ratio is a/b, with b counted as zero when it is below 1e-9 of scale (round-off of a zero
// Fourier component): +Inf when only b vanishes, NaN when both do.
func Ratio(a, b, scale float64) float64 {
	eps := 1e-9 * math.Max(scale, 1e-300)
	switch {
	case b <= eps && a <= eps:
		return math.NaN()
	case b <= eps:
		return math.Inf(1)
	}
	return a / b
}

// ScaleOf is the largest |value| of r (0 for an empty r), the scale against which Ratio
// counts a denominator as zero.
func ScaleOf(r []float64) float64 {
	s := 0.0
	for _, v := range r {
		s = math.Max(s, math.Abs(v))
	}
	return s
}

// OMSIndex is the object-motion-sensitivity index of the reference: the mean response to
// global (coherent) motion over the mean response to differential motion of the centre. Cells
// that prefer differential motion have an index below 1.
func OMSIndex(global, differential []float64) float64 {
	return Mean(global) / Mean(differential)
}

// ReverseCorrelate estimates a cell's linear temporal filter from its rate r and a full-field
// stimulus s (same length, e.g. Gaussian white noise): filter[k] = Σ_t (r[t]−r̄)(s[t−k]−s̄) /
// Σ_t (s[t]−s̄)², k = 0 … lags−1. For white noise this is the linear gain of the cell at that
// lag (Hz per unit intensity), so filters at different contrasts compare directly.
func ReverseCorrelate(r, s []float64, lags int) []float64 {
	rm, sm := Mean(r), Mean(s)
	var ss float64
	for _, v := range s {
		ss += (v - sm) * (v - sm)
	}
	f := make([]float64, lags)
	if ss == 0 {
		for k := range f {
			f[k] = math.NaN()
		}
		return f
	}
	for k := range f {
		var acc float64
		for t := k; t < len(r); t++ {
			acc += (r[t] - rm) * (s[t-k] - sm)
		}
		f[k] = acc / ss * float64(len(s)) / float64(len(r)-k)
	}
	return f
}

// PeakTime is the time, in ms, of the largest |filter| value, refined between frames by a
// parabola through the peak and its neighbours.
func PeakTime(filter []float64, frameRate float64) float64 {
	k := ArgmaxAbs(filter)
	if k < 0 {
		return math.NaN()
	}
	pos := float64(k)
	if k > 0 && k < len(filter)-1 {
		a, b, c := math.Abs(filter[k-1]), math.Abs(filter[k]), math.Abs(filter[k+1])
		if d := a - 2*b + c; d < 0 {
			pos += 0.5 * (a - c) / d
		}
	}
	return pos * 1000 / frameRate
}

// PeakTimeSigned is the time, in ms, of the largest value of the given sign (+1 or −1) of a
// filter, refined as PeakTime: comparing filters, the same lobe is timed in each (PeakTime
// may jump to the other lobe when the lobes' sizes change). NaN when no value has that sign.
func PeakTimeSigned(filter []float64, sign, frameRate float64) float64 {
	k, best := -1, 0.0
	for i, v := range filter {
		if sv := sign * v; sv > best {
			k, best = i, sv
		}
	}
	if k < 0 {
		return math.NaN()
	}
	pos := float64(k)
	if k > 0 && k < len(filter)-1 {
		a, b, c := sign*filter[k-1], sign*filter[k], sign*filter[k+1]
		if d := a - 2*b + c; d < 0 {
			pos += 0.5 * (a - c) / d
		}
	}
	return pos * 1000 / frameRate
}

// PowerCentreFrequency is the centre of mass, in Hz, of the power spectrum |F(f)|² of a filter
// sampled at frameRate, over the DFT frequencies k·frameRate/len up to maxHz (the reference's
// newer measure: the first 7 bins, 0–15 Hz, of a 40-frame filter at 100 Hz). NaN for a zero
// filter.
func PowerCentreFrequency(filter []float64, frameRate, maxHz float64) float64 {
	n := len(filter)
	var sw, swf float64
	for k := 0; k <= n/2; k++ {
		f := float64(k) * frameRate / float64(n)
		if f > maxHz {
			break
		}
		var s complex128
		for t, v := range filter {
			s += complex(v, 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(k*t)/float64(n)))
		}
		p := real(s)*real(s) + imag(s)*imag(s)
		sw += p
		swf += p * f
	}
	if sw == 0 {
		return math.NaN()
	}
	return swf / sw
}

// PeakGain is the largest |filter| value.
func PeakGain(filter []float64) float64 {
	k := ArgmaxAbs(filter)
	if k < 0 {
		return math.NaN()
	}
	return math.Abs(filter[k])
}

// ArgmaxAbs is the index of the largest |x[i]|, NaN skipped (the first of equals; −1 when
// there is none).
func ArgmaxAbs(x []float64) int {
	best, k := -1.0, -1
	for i, v := range x {
		if a := math.Abs(v); a > best && !math.IsNaN(v) {
			best, k = a, i
		}
	}
	return k
}

// CentreFrequency is the centre of mass, in Hz, of the amplitude spectrum of a filter sampled
// at frameRate (DFT bins 0 … len/2): filters that speed up move it to higher frequencies.
func CentreFrequency(filter []float64, frameRate float64) float64 {
	n := len(filter)
	var sw, swf float64
	for k := 0; k <= n/2; k++ {
		var s complex128
		for t, v := range filter {
			s += complex(v, 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(k*t)/float64(n)))
		}
		a := cmplx.Abs(s)
		sw += a
		swf += a * float64(k) * frameRate / float64(n)
	}
	if sw == 0 {
		return math.NaN()
	}
	return swf / sw
}

// DirectionSelectivity returns the direction and orientation selectivity indices of responses
// to motion in the given directions (degrees): DSI = |Σ r e^{iθ}| / Σ r and OSI = |Σ r e^{2iθ}|
// / Σ r (vector sums; 0 = untuned, 1 = responds in one direction or orientation only).
func DirectionSelectivity(anglesDeg, responses []float64) (dsi, osi float64) {
	var d, o complex128
	var sum float64
	for i, a := range anglesDeg {
		th := a * math.Pi / 180
		d += complex(responses[i], 0) * cmplx.Exp(complex(0, th))
		o += complex(responses[i], 0) * cmplx.Exp(complex(0, 2*th))
		sum += responses[i]
	}
	if sum <= 0 {
		return math.NaN(), math.NaN()
	}
	return cmplx.Abs(d) / sum, cmplx.Abs(o) / sum
}

// PeakCentroid locates the peak of a response r over positions x: the centroid of the
// contiguous run of samples around the maximum whose excess over baseline is at least half of
// the maximum excess. NaN when r never exceeds baseline.
func PeakCentroid(x, r []float64, baseline float64) float64 {
	k, best := -1, 0.0
	for i, v := range r {
		if e := v - baseline; e > best {
			k, best = i, e
		}
	}
	if k < 0 {
		return math.NaN()
	}
	lo, hi := k, k
	for lo > 0 && r[lo-1]-baseline >= best/2 {
		lo--
	}
	for hi < len(r)-1 && r[hi+1]-baseline >= best/2 {
		hi++
	}
	var sw, swx float64
	for i := lo; i <= hi; i++ {
		e := r[i] - baseline
		sw += e
		swx += e * x[i]
	}
	return swx / sw
}

// AnticipationLead is how far ahead of the bar a cell's response to a moving bar is, in
// pixels: the cell's receptive-field centre (rfCentre, e.g. the PeakCentroid of its responses
// to flashed bars) minus the bar position at which its response to the moving bar peaks
// (PeakCentroid over barPos), signed by the direction of motion (+1: increasing x). A cell that
// only lags by its latency L gives −speed·L; anticipation makes it larger.
func AnticipationLead(rfCentre float64, barPos, moving []float64, baseline, direction float64) float64 {
	return (rfCentre - PeakCentroid(barPos, moving, baseline)) * direction
}

// BinnedNonlinearity sorts (generator, rate) pairs into bins of equal count along the generator
// and returns each bin's mean generator value and mean rate (the nonlinearity of an LN model).
func BinnedNonlinearity(generator, rate []float64, bins int) (x, y []float64) {
	return metrics.EqualCountBins(generator, rate, bins)
}

// Convolve returns the causal convolution of s with filter: g[t] = Σ_k filter[k]·s[t−k].
func Convolve(s, filter []float64) []float64 {
	g := make([]float64, len(s))
	ConvolveAdd(g, s, filter)
	return g
}

// ConvolveAdd adds the causal convolution of s with filter to g (len(g) = len(s)): one
// vectorised g[k:] += f·s[:n−k] per filter tap, zero taps skipped (the surrogate's raised-cosine
// bases are mostly zero).
func ConvolveAdd(g, s, filter []float64) {
	n := len(s)
	for k, f := range filter {
		if f == 0 || k >= n {
			continue
		}
		floats.AddScaled(g[k:n], f, s[:n-k])
	}
}

// Column returns column c of a rate matrix as float64.
func Column(m datasets.Matrix, c int) []float64 {
	out := make([]float64, m.Rows)
	for t := range out {
		out[t] = float64(m.Data[t*m.Cols+c])
	}
	return out
}

// Mean is the arithmetic mean of x (NaN when x is empty).
func Mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// Slope is the least-squares slope of y against x (NaN when x does not vary or is empty).
func Slope(x, y []float64) float64 {
	mx, my := Mean(x), Mean(y)
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	if !(sxx > 0) {
		return math.NaN()
	}
	return sxy / sxx
}

// Median of the non-NaN values (NaN when there are none).
func Median(x []float64) float64 {
	var v []float64
	for _, a := range x {
		if !math.IsNaN(a) {
			v = append(v, a)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	if math.IsInf(v[n/2-1], 0) || math.IsInf(v[n/2], 0) {
		if v[n/2-1] == v[n/2] {
			return v[n/2]
		}
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// PeakExcess returns the largest |r − baseline| within frames [from, to) with its sign, and its
// frame.
func PeakExcess(r []float64, from, to int, baseline float64) (float64, int) {
	best, at := 0.0, -1
	for t := max(from, 0); t < min(to, len(r)); t++ {
		if e := r[t] - baseline; math.Abs(e) > math.Abs(best) || at < 0 {
			best, at = e, t
		}
	}
	return best, at
}

// MaxExcess returns the largest r − baseline within frames [from, to) and its frame.
func MaxExcess(r []float64, from, to int, baseline float64) (float64, int) {
	best, at := math.Inf(-1), -1
	for t := max(from, 0); t < min(to, len(r)); t++ {
		if e := r[t] - baseline; e > best {
			best, at = e, t
		}
	}
	return best, at
}

// Span is x[from:to] clipped to x's bounds.
func Span(x []float64, from, to int) []float64 { return x[max(from, 0):min(to, len(x))] }
