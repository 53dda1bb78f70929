package main

import (
	"math"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/phenomena"
	"github.com/deepretina/deepretina/phenomena/stimuli"
)

// filterResponder is a responder with a finite memory: the full-field mean luminance at each
// frame weighted by kernel (kernel[0] the current frame), plus a baseline. It keeps no state,
// so cutting it to a window at least as long as its kernel must change nothing.
type filterResponder struct {
	history int
	kernel  []float64
}

func (f filterResponder) InputShape() [3]int   { return [3]int{f.history, 4, 4} }
func (f filterResponder) FrameRate() float64   { return 100 }
func (f filterResponder) PixelSizeUM() float64 { return 50 }
func (f filterResponder) Respond(stim datasets.Movie) (datasets.Matrix, error) {
	fs := stim.H * stim.W
	mean := make([]float64, stim.T)
	for t := range stim.T {
		for _, v := range stim.Data[t*fs : (t+1)*fs] {
			mean[t] += float64(v) / float64(fs)
		}
	}
	out := datasets.NewMatrix(stim.T-f.history, 1)
	for t := range out.Rows {
		k := t + f.history
		y := 1.0
		for j, w := range f.kernel {
			if k-j >= 0 {
				y += w * mean[k-j]
			}
		}
		out.Data[t] = float32(y)
	}
	return out, nil
}

// TestWindowedSeesOnlyItsWindow: each output frame depends on the window's frames alone,
// [k − window, k), not on frame k or anything before the window; and a responder whose memory
// fits in the window is unchanged (rows aligned as phenomena.Run aligns them).
func TestWindowedSeesOnlyItsWindow(t *testing.T) {
	kernel := []float64{0, 0.5, -0.25, 0.125} // frames k, k−1, k−2, k−3
	inner := filterResponder{history: 2, kernel: kernel}
	stim := stimuli.WhiteNoise(4, 4, 60, 1, 4, false, 7)
	full, err := phenomena.Run(filterResponder{history: 5, kernel: kernel}, stim)
	if err != nil {
		t.Fatal(err)
	}
	got, err := phenomena.Run(Windowed{Inner: inner, Window: 5}, stim)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rows != full.Rows || got.Cols != 1 {
		t.Fatalf("windowed rates [%d, %d]; want [%d, 1]", got.Rows, got.Cols, full.Rows)
	}
	for i := range full.Data {
		if math.Abs(float64(got.Data[i]-full.Data[i])) > 1e-6 {
			t.Fatalf("frame %d: windowed %v, the responder itself %v (its memory of 3 frames fits the window of 5)", i, got.Data[i], full.Data[i])
		}
	}
	// A kernel reaching further back than the window, and one weighting frame k: the windowed
	// responder must drop both contributions.
	long := []float64{1, 0, 0, 0, 0, 0, 0, 0.5}
	full, _ = phenomena.Run(filterResponder{history: 8, kernel: long}, stim)
	got, err = phenomena.Run(Windowed{Inner: filterResponder{history: 0, kernel: long}, Window: 5}, stim)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rows != full.Rows {
		t.Fatalf("windowed %d rows, want %d", got.Rows, full.Rows)
	}
	changed := 0
	for i := range got.Data {
		if math.Abs(float64(got.Data[i]-1)) > 1e-6 {
			t.Fatalf("frame %d: windowed %v; want the baseline 1 (frame k and frame k−7 are both outside the window [k−5, k))", i, got.Data[i])
		}
		if math.Abs(float64(full.Data[i]-1)) > 1e-3 {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("the unwindowed responder never left its baseline: the check above is empty")
	}
}

// TestWindowedTruthMatchesTheTruthOnAShortStimulus: on a stimulus that is grey except within
// the window, the windowed truth is the truth (its rest state is the grey-adapted state); on a
// stimulus longer than the window it differs, because the truth adapts to contrast over a
// longer time (ContrastTauMS 200 ms, with the bipolar filters' tails).
func TestWindowedTruthMatchesTheTruthOnAShortStimulus(t *testing.T) {
	truth, err := phenomena.NewSimResponder("small", 1, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	truth.LeadIn = 0 // from rest, as Windowed runs each window
	cfg := truth.Retina.Config()
	const window = 40
	noise := stimuli.WhiteNoise(cfg.H, cfg.W, window, 0.7, 4, false, 3)
	short, err := stimuli.Concat(stimuli.Grey(200, cfg.H, cfg.W), noise, stimuli.Grey(1, cfg.H, cfg.W))
	if err != nil {
		t.Fatal(err)
	}
	w := Windowed{Inner: truth, Window: window}
	full, err := truth.Respond(short)
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.Respond(short)
	if err != nil {
		t.Fatal(err)
	}
	last, want := got.Row(got.Rows-1), full.Row(full.Rows-1)
	for c := range want {
		if d := math.Abs(float64(last[c] - want[c])); d > 1e-3*math.Max(1, math.Abs(float64(want[c]))) {
			t.Errorf("cell %d after a stimulus inside the window: windowed %v, truth %v", c, last[c], want[c])
		}
	}
	// The same 40 frames after 2 s of high-contrast flicker: the truth has adapted (lower gain),
	// the windowed truth has not.
	pre := stimuli.WhiteNoise(cfg.H, cfg.W, 200, 2, 20, false, 4)
	long, err := stimuli.Concat(pre, noise, stimuli.Grey(1, cfg.H, cfg.W))
	if err != nil {
		t.Fatal(err)
	}
	full, _ = truth.Respond(long)
	got, err = w.Respond(long)
	if err != nil {
		t.Fatal(err)
	}
	last, adapted := got.Row(got.Rows-1), full.Row(full.Rows-1)
	differ := 0
	for c := range adapted {
		if math.Abs(float64(last[c]-want[c])) > 1e-3*math.Max(1, math.Abs(float64(want[c]))) {
			t.Errorf("cell %d: the windowed truth saw frames before its window (%v, against %v with grey before)", c, last[c], want[c])
		}
		if math.Abs(float64(adapted[c]-want[c])) > 0.5 {
			differ++
		}
	}
	if differ == 0 {
		t.Error("the truth after 2 s of flicker answers the last 40 frames as it does after grey: no memory beyond the window to test")
	}
}

// TestWindowCorrelationsAlignsFrames: row t of the windowed rates is frame t + w of the full
// ones; a windowed copy of the full rates correlates at 1, one shifted by a frame does not.
func TestWindowCorrelationsAlignsFrames(t *testing.T) {
	const T, w = 50, 5
	full := datasets.NewMatrix(T, 1)
	for k := range T {
		full.Data[k] = float32(math.Sin(float64(k) * 0.7))
	}
	win := datasets.NewMatrix(T-w, 1)
	copy(win.Data, full.Data[w:])
	if r := windowCorrelations(full, win, w)[0]; math.Abs(r-1) > 1e-6 {
		t.Errorf("aligned copy: r = %v, want 1", r)
	}
	copy(win.Data, full.Data[w-1:])
	if r := windowCorrelations(full, win, w)[0]; r > 0.9 {
		t.Errorf("copy shifted by one frame: r = %v; the alignment is not checked", r)
	}
}
