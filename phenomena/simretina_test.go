package phenomena

import (
	"fmt"
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
