package phenomena

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/phenomena/stimuli"
)

// respondsToRaw checks that r, shown z (the battery's z-scored units), responds exactly as the
// plain simulated retina (Norm nil: the simulator's own units) responds to mean + std·z: both
// through Respond (every frame mapped) and through Run, whose grey padding (z = 0) must reach
// the retina as the mean too. It returns the first difference, nil when there is none.
func respondsToRaw(r Responder, plain *SimResponder, norm datasets.NormStats, z datasets.Movie) error {
	toRaw := func(v float32) float32 { return float32(norm.Mean + norm.Std*float64(v)) }
	raw := datasets.NewMovie(z.T, z.H, z.W)
	for i, v := range z.Data {
		raw.Data[i] = toRaw(v)
	}
	got, err := r.Respond(z)
	if err != nil {
		return err
	}
	want, err := plain.Respond(raw)
	if err != nil {
		return err
	}
	if err := sameRates("Respond", got, want); err != nil {
		return err
	}

	got, err = Run(r, z)
	if err != nil {
		return err
	}
	fs := z.H * z.W
	padded := datasets.NewMovie(plain.History+z.T, z.H, z.W)
	for i := range plain.History * fs {
		padded.Data[i] = toRaw(0)
	}
	copy(padded.Data[plain.History*fs:], raw.Data)
	if want, err = plain.Respond(padded); err != nil {
		return err
	}
	return sameRates("Run (grey padding)", got, want)
}

// sameRates reports the first value in which got and want differ (bit for bit).
func sameRates(what string, got, want datasets.Matrix) error {
	if got.Rows != want.Rows || got.Cols != want.Cols {
		return fmt.Errorf("%s: rates [%d, %d]; expected [%d, %d]", what, got.Rows, got.Cols, want.Rows, want.Cols)
	}
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			return fmt.Errorf("%s: frame %d cell %d: %v; the plain retina on mean + std·z gives %v", what, i/want.Cols, i%want.Cols, got.Data[i], want.Data[i])
		}
	}
	return nil
}

// greyAtZero maps z to raw but leaves grey (z = 0) at the simulator's 0: a normalisation
// that forgets the grey padding (planted, to show that respondsToRaw checks it; the white
// noise it is shown holds no exact 0).
type greyAtZero struct {
	*SimResponder
	norm datasets.NormStats
}

func (g greyAtZero) Respond(stim datasets.Movie) (datasets.Matrix, error) {
	raw := datasets.NewMovie(stim.T, stim.H, stim.W)
	for i, v := range stim.Data {
		if v != 0 {
			raw.Data[i] = float32(g.norm.Mean + g.norm.Std*float64(v))
		}
	}
	return g.SimResponder.Respond(raw)
}

// TestSimResponderNorm: a simulated retina with a normalisation {Mean m, Std s} responds to z
// exactly as the plain one to m + s·z, grey padding included; the plain one (the identity, the
// truth's units before issue 19's fix) and one that leaves the padding at 0 fail the same
// check; a normalisation that is not finite and positive is refused.
func TestSimResponderNorm(t *testing.T) {
	base := simTruth(t)
	plain := &SimResponder{Retina: base.Retina, History: base.History, Cells: []int{0, 3, 6}}
	z := stimuli.WhiteNoise(20, 20, 60, 1, 2, false, 11)
	// The crange4 data's normalisation (SD 0.546), with a mean far enough from the simulator's
	// grey (0) that padding it wrongly shows.
	norm := datasets.NormStats{Mean: 0.3, Std: 0.546}
	normed := &SimResponder{Retina: plain.Retina, History: plain.History, Cells: plain.Cells, Norm: &norm}
	if err := respondsToRaw(normed, plain, norm, z); err != nil {
		t.Errorf("with Norm %+v: %v", norm, err)
	}
	// Identity units: Norm nil and Norm {0, 1} are the same responder.
	identity := &SimResponder{Retina: plain.Retina, History: plain.History, Cells: plain.Cells, Norm: &datasets.NormStats{Mean: 0, Std: 1}}
	if err := respondsToRaw(identity, plain, datasets.NormStats{Mean: 0, Std: 1}, z); err != nil {
		t.Errorf("Norm {0, 1} is not the identity: %v", err)
	}

	// Planted: the old truth (z taken as the simulator's units) fails, and so does a mapping
	// that forgets the grey padding.
	if err := respondsToRaw(plain, plain, norm, z); err == nil || !strings.Contains(err.Error(), "Respond") {
		t.Errorf("the identity passed as the normalisation %+v (%v): the check cannot tell them apart", norm, err)
	}
	if err := respondsToRaw(greyAtZero{plain, norm}, plain, norm, z); err == nil || !strings.Contains(err.Error(), "padding") {
		t.Errorf("grey padded at the simulator's 0 instead of mean %v passed (%v): the check does not see the padding", norm.Mean, err)
	}

	for _, bad := range []datasets.NormStats{{Mean: 0, Std: 0}, {Mean: 0, Std: -1}} {
		r := &SimResponder{Retina: plain.Retina, History: plain.History, Norm: &bad}
		if _, err := r.Respond(z); err == nil || !strings.Contains(err.Error(), "normalisation") {
			t.Errorf("Norm %+v: %v; expected an error naming the normalisation", bad, err)
		}
	}
}

// baseNorm is the normalisation of the base natural-scene data of the small preset (sim seed
// 1), as /tmp/recipe7-out/default/runs/bncnn-small/run.json holds it: the grey the truth of the
// README main job is shown is 0.018 above the simulator's rest.
var baseNorm = datasets.NormStats{Mean: 0.0183874040936212, Std: 1.0351521266239938}

// TestSimResponderLeadIn: the truth adapted to the grey it is shown (SimResponder.LeadIn, as
// NewSimResponder sets it) answers a stimulus the same, bit for bit, whatever history it is
// read out with, and is at rest on grey from the first frame; started from rest with only
// Run's padding (LeadIn 0, the truth before session 9) it answers a 40- and a 60-frame
// history differently by Hz, and drifts on grey, because its rest is adapted to 0, not to the
// mean of 0.018.
func TestSimResponderLeadIn(t *testing.T) {
	stim := stimuli.WhiteNoise(20, 20, 100, 1, 2, false, 3)
	grey := stimuli.Grey(100, 20, 20)
	// rates runs stim and grey on a truth with the base normalisation and the given history
	// and lead-in (−1: NewSimResponder's).
	rates := func(history, leadIn int) (datasets.Matrix, datasets.Matrix) {
		t.Helper()
		r, err := NewSimResponder("small", 1, history, []int{0, 2, 3, 4})
		if err != nil {
			t.Fatal(err)
		}
		norm := baseNorm
		r.Norm = &norm
		if leadIn >= 0 {
			r.LeadIn = leadIn
		}
		s, err := Run(r, stim)
		if err != nil {
			t.Fatal(err)
		}
		g, err := Run(r, grey)
		if err != nil {
			t.Fatal(err)
		}
		return s, g
	}
	maxDiff := func(a, b datasets.Matrix) float64 {
		d := 0.0
		for i := range a.Data {
			d = math.Max(d, math.Abs(float64(a.Data[i]-b.Data[i])))
		}
		return d
	}
	// driftOnGrey is the largest change of any cell's rate over a grey screen.
	driftOnGrey := func(g datasets.Matrix) float64 {
		d := 0.0
		for t := range g.Rows {
			for c := range g.Cols {
				d = math.Max(d, math.Abs(float64(g.At(t, c)-g.At(g.Rows-1, c))))
			}
		}
		return d
	}

	want, wantGrey := rates(40, -1)
	if d := driftOnGrey(wantGrey); d != 0 {
		t.Errorf("adapted truth: its rate drifts by %.3g Hz on grey; expected constant rates from the first frame", d)
	}
	for _, h := range []int{30, 50, 60} {
		got, _ := rates(h, -1)
		if err := sameRates(fmt.Sprintf("history %d against 40", h), got, want); err != nil {
			t.Error(err)
		}
	}

	// Planted: the truth from rest (LeadIn 0).
	old40, oldGrey := rates(40, 0)
	old60, _ := rates(60, 0)
	if d := maxDiff(old40, old60); d < 1 {
		t.Errorf("from rest, histories 40 and 60 differ by at most %.3g Hz; expected Hz (the check cannot see the lead-in)", d)
	}
	if d := driftOnGrey(oldGrey); d < 0.1 {
		t.Errorf("from rest, the rate drifts by only %.3g Hz on grey after 40 frames; expected the settling to the mean grey to show", d)
	}
}

// TestTruthFilterFrames: the truth's filter span (SimResponder.FilterFrames) covers the
// circuit's own response to a weak full-field flash (all but 2 % of its integral, every cell,
// either sign), which 40 frames (a model's window, the truth's span before session 9) do not
// (the slow cells keep over 10 % beyond it). It does not depend on the history the truth is
// read out with, and its LN surrogate, its filter estimates and its receptive-field maps use it.
func TestTruthFilterFrames(t *testing.T) {
	truth := simTruth(t)
	span := truth.FilterFrames
	if span != TruthFilterFrames(truth.Retina.Circuit(), truth.FrameRate()) {
		t.Fatalf("NewSimResponder's FilterFrames %d; TruthFilterFrames gives %d", span, TruthFilterFrames(truth.Retina.Circuit(), truth.FrameRate()))
	}
	for _, h := range []int{30, 60} {
		r, err := NewSimResponder("small", 1, h, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.FilterFrames != span || geometryOf(r).filterLags() != span || geometryOf(newMemo(r)).filterLags() != span {
			t.Errorf("history %d: filter span %d, estimated filters of %d frames (memo %d); expected %d, as at history %d", h, r.FilterFrames, geometryOf(r).filterLags(), geometryOf(newMemo(r)).filterLags(), span, truth.History)
		}
	}
	const n = 300
	for _, amp := range []float32{0.1, -0.1} {
		flash := stimuli.Grey(n, 20, 20)
		for i := range 20 * 20 {
			flash.Data[i] = amp
		}
		g, err := Run(truth, stimuli.Grey(n, 20, 20))
		if err != nil {
			t.Fatal(err)
		}
		f, err := Run(truth, flash)
		if err != nil {
			t.Fatal(err)
		}
		worst40 := 0.0
		for c := range f.Cols {
			total, beyond, beyond40 := 0.0, 0.0, 0.0
			for k := range n {
				d := math.Abs(float64(f.At(k, c) - g.At(k, c)))
				total += d
				if k >= span {
					beyond += d
				}
				if k >= 40 {
					beyond40 += d
				}
			}
			if beyond > 0.02*total {
				t.Errorf("flash %v, cell %d: %.1f %% of the response comes after the filter span of %d frames; expected at most 2 %%", amp, c, 100*beyond/total, span)
			}
			worst40 = math.Max(worst40, beyond40/total)
		}
		if worst40 < 0.1 {
			t.Errorf("flash %v: at most %.1f %% of any cell's response comes after 40 frames; expected a slow cell's filter to outlast a 40-frame window (the check cannot tell the spans apart)", amp, 100*worst40)
		}
	}
	// An LN surrogate of a responder that states its span (as the truth does) has a filter of
	// that span, which its own experiments use in turn.
	l, err := FitLNSurrogate(spanned{meanResponder{history: 20, h: 20, w: 20, n: 2}, span}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if l.lags != span || geometryOf(l).filterLags() != span || geometryOf(newMemo(l)).filterLags() != span {
		t.Errorf("LN surrogate: filter of %d frames, estimated filters of %d (memo %d); expected the responder's span %d", l.lags, geometryOf(l).filterLags(), geometryOf(newMemo(l)).filterLags(), span)
	}
	// A model's window stays the span of a responder that states none.
	m := meanResponder{history: 50, h: 20, w: 20, n: 1}
	if got := geometryOf(m).filterLags(); got != 50 {
		t.Errorf("a model with 50 frames of history: estimated filters of %d frames; expected 50", got)
	}
	// Slower time constants, a longer span.
	c := truth.Retina.Circuit()
	c.SlowTau1MS, c.SlowTau2MS, c.SlowGanglionMS = 2*c.SlowTau1MS, 2*c.SlowTau2MS, 2*c.SlowGanglionMS
	if got := TruthFilterFrames(c, truth.FrameRate()); got < span*3/2 {
		t.Errorf("slow pathway twice as slow: span %d frames; expected well over the default %d", got, span)
	}
}

// spanned is a responder that states its own filter span, as the simulated truth does.
type spanned struct {
	meanResponder
	span int
}

func (s spanned) filterFrames() int { return s.span }
