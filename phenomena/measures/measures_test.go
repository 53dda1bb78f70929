package measures

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepretina/deepretina/phenomena/stimuli"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// bump is a Gaussian response of the given amplitude on a baseline, centred at frame c.
func bump(n int, baseline, amp, c, sd float64) []float64 {
	r := make([]float64, n)
	for t := range r {
		r[t] = baseline + amp*math.Exp(-(float64(t)-c)*(float64(t)-c)/(2*sd*sd))
	}
	return r
}

func TestLatencyOfDelayedResponse(t *testing.T) {
	for _, tc := range []struct {
		rate, delayMS float64
	}{{100, 30}, {100, 50}, {100, 120}, {200, 30}, {50, 60}} {
		onset := 20
		c := float64(onset) + tc.delayMS*tc.rate/1000
		r := bump(200, 4, 30, c, tc.rate/100) // entirely after the onset, symmetric about c
		got := Latency(r, onset, 150, 4, 3, tc.rate)
		if !near(got, tc.delayMS, 1e-9) {
			t.Errorf("rate %g Hz, delay %g ms: latency %g ms", tc.rate, tc.delayMS, got)
		}
	}
	// Nothing 3 Hz above baseline: no latency.
	if got := Latency(bump(100, 4, 2.5, 40, 3), 20, 60, 4, 3, 100); !math.IsNaN(got) {
		t.Errorf("sub-threshold response: latency %g, want NaN", got)
	}
}

func TestHarmonicRatio(t *testing.T) {
	const rate, f = 100.0, 2.0
	n := 200 // 4 whole cycles of 2 Hz
	sig := func(a1, a2 float64) []float64 {
		r := make([]float64, n)
		for i := range r {
			tt := float64(i) / rate
			r[i] = 10 + a1*math.Sin(2*math.Pi*f*tt+0.3) + a2*math.Sin(2*math.Pi*2*f*tt+1.1)
		}
		return r
	}
	if got := Amplitude(sig(1.5, 0), f, rate); !near(got, 1.5, 1e-9) {
		t.Errorf("amplitude of a 1.5-amplitude sinusoid: %g", got)
	}
	if got := HarmonicRatio(sig(0, 2), f, rate); !math.IsInf(got, 1) {
		t.Errorf("pure second harmonic: F2/F1 = %g, want +Inf", got)
	}
	if got := HarmonicRatio(sig(2, 0), f, rate); !near(got, 0, 1e-9) {
		t.Errorf("pure first harmonic: F2/F1 = %g, want 0", got)
	}
	if got := HarmonicRatio(sig(0.5, 1.5), f, rate); !near(got, 3, 1e-9) {
		t.Errorf("F2/F1 of amplitudes 1.5 and 0.5: %g, want 3", got)
	}
	if got := HarmonicRatio(sig(0, 0), f, rate); !math.IsNaN(got) {
		t.Errorf("flat response: F2/F1 = %g, want NaN", got)
	}
}

func TestOMSIndex(t *testing.T) {
	for _, tc := range []struct {
		global, differential []float64
		want                 float64
	}{
		{[]float64{5, 5, 5}, []float64{10, 10, 10}, 0.5},
		{[]float64{2, 4, 6}, []float64{2, 4, 6}, 1},
		{[]float64{12, 8}, []float64{4, 6}, 2},
	} {
		if got := OMSIndex(tc.global, tc.differential); !near(got, tc.want, 1e-12) {
			t.Errorf("OMSIndex(%v, %v) = %g, want %g", tc.global, tc.differential, got, tc.want)
		}
	}
}

func TestReverseCorrelateRecoversFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	h := []float64{0, 2, 5, 3, -1, -2, -0.5, 0}
	for _, c := range []float64{0.1, 1} { // the estimate is per unit intensity at any contrast
		s := make([]float64, 40000)
		for i := range s {
			s[i] = c * rng.NormFloat64()
		}
		r := Convolve(s, h)
		for i := range r {
			r[i] += 7
		}
		f := ReverseCorrelate(r, s, len(h))
		for k := range h {
			if !near(f[k], h[k], 0.06) {
				t.Errorf("contrast %g: filter[%d] = %.3f, want %.3f", c, k, f[k], h[k])
			}
		}
	}
}

func TestPeakTimeAndGain(t *testing.T) {
	// A parabolic (negative) peak at lag 3.3 frames: the interpolated peak time is exact.
	f := make([]float64, 10)
	for k := range f {
		f[k] = -math.Max(0, 10-(float64(k)-3.3)*(float64(k)-3.3))
	}
	if got := PeakTime(f, 100); !near(got, 33, 1e-9) {
		t.Errorf("peak time %g ms, want 33", got)
	}
	if got := PeakGain([]float64{1, -4, 2}); got != 4 {
		t.Errorf("peak gain %g, want 4", got)
	}
}

func TestCentreFrequency(t *testing.T) {
	n := 40
	cosine := func(cycles int) []float64 {
		f := make([]float64, n)
		for k := range f {
			f[k] = math.Cos(2 * math.Pi * float64(cycles*k) / float64(n))
		}
		return f
	}
	for _, m := range []int{2, 5, 9} {
		want := float64(m) * 100 / float64(n)
		if got := CentreFrequency(cosine(m), 100); !near(got, want, 1e-9) {
			t.Errorf("%d cycles in %d samples at 100 Hz: centre %g Hz, want %g", m, n, got, want)
		}
	}
	// A filter twice as fast has twice the centre frequency.
	slow, fast := make([]float64, n), make([]float64, n)
	for k := range slow {
		tt := float64(k)
		slow[k] = tt * math.Exp(-tt/6)
		fast[k] = 2 * tt * math.Exp(-tt/3)
	}
	cs, cf := CentreFrequency(slow, 100), CentreFrequency(fast, 100)
	if !(cf > 1.5*cs) {
		t.Errorf("centre frequencies: slow %g Hz, fast %g Hz", cs, cf)
	}
}

func TestDirectionSelectivity(t *testing.T) {
	angles := []float64{0, 45, 90, 135, 180, 225, 270, 315}
	for _, tc := range []struct {
		name     string
		resp     []float64
		dsi, osi float64
	}{
		{"one direction", []float64{0, 0, 5, 0, 0, 0, 0, 0}, 1, 1},
		{"untuned", []float64{3, 3, 3, 3, 3, 3, 3, 3}, 0, 0},
		{"one orientation", []float64{4, 0, 0, 0, 4, 0, 0, 0}, 0, 1},
		{"half", []float64{3, 1, 1, 1, 1, 1, 1, 1}, 0.2, 0.2},
	} {
		dsi, osi := DirectionSelectivity(angles, tc.resp)
		if !near(dsi, tc.dsi, 1e-12) || !near(osi, tc.osi, 1e-12) {
			t.Errorf("%s: DSI %g OSI %g, want %g %g", tc.name, dsi, osi, tc.dsi, tc.osi)
		}
	}
}

func TestAnticipationLead(t *testing.T) {
	const rf = 10.0
	positions := func(x0, x1 float64) []float64 { return stimuli.BarPositions(x0, x1, 0.1) }
	resp := func(pos []float64, peakAt float64) []float64 {
		r := make([]float64, len(pos))
		for i, x := range pos {
			r[i] = 2 + 40*math.Exp(-(x-peakAt)*(x-peakAt)/2)
		}
		return r
	}
	for _, tc := range []struct {
		name           string
		x0, x1, peakAt float64
		dir, want      float64
	}{
		{"right, leads by 1.5 px", 0, 20, rf - 1.5, 1, 1.5},
		{"left, leads by 1.5 px", 20, 0, rf + 1.5, -1, 1.5},
		{"right, lags by 0.5 px", 0, 20, rf + 0.5, 1, -0.5},
		{"left, lags by 2 px", 20, 0, rf - 2, -1, -2},
	} {
		pos := positions(tc.x0, tc.x1)
		got := AnticipationLead(rf, pos, resp(pos, tc.peakAt), 2, tc.dir)
		if !near(got, tc.want, 1e-6) {
			t.Errorf("%s: lead %g px, want %g", tc.name, got, tc.want)
		}
	}
	// The receptive-field centre from a flash profile.
	xs := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8}
	prof := []float64{0, 0, 1, 4, 9, 4, 1, 0, 0}
	if got := PeakCentroid(xs, prof, 0); !near(got, 4, 1e-12) {
		t.Errorf("profile centre %g, want 4", got)
	}
	if got := PeakCentroid(xs, make([]float64, len(xs)), 0); !math.IsNaN(got) {
		t.Errorf("flat profile centre %g, want NaN", got)
	}
}

func TestBinnedNonlinearity(t *testing.T) {
	// rate = 2·g + 1 exactly: every bin's mean lies on the line.
	var g, r []float64
	for i := 0; i < 100; i++ {
		x := float64((i*37)%100) / 10
		g, r = append(g, x), append(r, 2*x+1)
	}
	xs, ys := BinnedNonlinearity(g, r, 10)
	if len(xs) != 10 {
		t.Fatalf("%d bins, want 10", len(xs))
	}
	for i := range xs {
		if !near(ys[i], 2*xs[i]+1, 1e-12) || (i > 0 && xs[i] <= xs[i-1]) {
			t.Errorf("bin %d: (%g, %g)", i, xs[i], ys[i])
		}
	}
}

func TestMedian(t *testing.T) {
	if got := Median([]float64{3, math.NaN(), 1, 2}); got != 2 {
		t.Errorf("median %g, want 2", got)
	}
	if got := Median([]float64{math.NaN()}); !math.IsNaN(got) {
		t.Errorf("median of NaN %g", got)
	}
	if got := Median([]float64{1, math.Inf(1), math.Inf(1)}); !math.IsInf(got, 1) {
		t.Errorf("median with infinities %g, want +Inf", got)
	}
}

// TestPeakTimeSignedStaysOnItsLobe: a biphasic filter whose negative lobe outgrows its positive
// one moves PeakTime to the other lobe; PeakTimeSigned keeps timing the same lobe.
func TestPeakTimeSignedStaysOnItsLobe(t *testing.T) {
	f := []float64{0, 1, 3, 1, 0, -1, -4, -1, 0} // positive lobe at 2 frames, larger negative at 6
	if got := PeakTime(f, 100); math.Abs(got-60) > 1e-9 {
		t.Errorf("PeakTime %v ms, want 60 (the larger lobe)", got)
	}
	if got := PeakTimeSigned(f, 1, 100); math.Abs(got-20) > 1e-9 {
		t.Errorf("PeakTimeSigned(+1) %v ms, want 20", got)
	}
	if got := PeakTimeSigned(f, -1, 100); math.Abs(got-60) > 1e-9 {
		t.Errorf("PeakTimeSigned(−1) %v ms, want 60", got)
	}
	if got := PeakTimeSigned([]float64{0, -1, -2}, 1, 100); !math.IsNaN(got) {
		t.Errorf("no positive value: %v, want NaN", got)
	}
}

// TestPowerCentreFrequency: closed forms. A cosine at DFT bin k has all its power at k·rate/n;
// two cosines of amplitudes a and b at bins j and k give (a²·fj + b²·fk)/(a² + b²); bins above
// maxHz are left out.
func TestPowerCentreFrequency(t *testing.T) {
	const n, rate = 40, 100.0
	cosine := func(k int, a float64) []float64 {
		f := make([]float64, n)
		for i := range f {
			f[i] = a * math.Cos(2*math.Pi*float64(k*i)/n)
		}
		return f
	}
	if got := PowerCentreFrequency(cosine(3, 1), rate, 15); math.Abs(got-7.5) > 1e-9 {
		t.Errorf("one cosine at 7.5 Hz: %v", got)
	}
	two := cosine(2, 1)
	for i, v := range cosine(5, 2) {
		two[i] += v
	}
	want := (1*5.0 + 4*12.5) / 5
	if got := PowerCentreFrequency(two, rate, 15); math.Abs(got-want) > 1e-9 {
		t.Errorf("two cosines: %v, want %v", got, want)
	}
	if got := PowerCentreFrequency(two, rate, 10); math.Abs(got-5) > 1e-9 {
		t.Errorf("the 12.5-Hz cosine above maxHz 10 must be left out: %v", got)
	}
}

func TestSlope(t *testing.T) {
	for _, c := range []struct {
		x, y []float64
		want float64 // NaN: undefined
	}{
		{[]float64{1, 2, 3, 4}, []float64{5, 3, 1, -1}, -2},
		{[]float64{0, 1, 2}, []float64{1, 2, 6}, 2.5}, // (−1·−2 + 0 + 1·3) / 2
		{[]float64{2, 2, 2}, []float64{1, 2, 3}, math.NaN()},
		{nil, nil, math.NaN()},
	} {
		got := Slope(c.x, c.y)
		if math.IsNaN(c.want) != math.IsNaN(got) || (!math.IsNaN(c.want) && math.Abs(got-c.want) > 1e-12) {
			t.Errorf("Slope(%v, %v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}
