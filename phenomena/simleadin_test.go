package phenomena

import (
	"fmt"
	"sync"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/phenomena/stimuli"
)

// respondPrepended is SimResponder.Respond as it was before session 10, kept as the
// independent reference: the lead-in is simulated before every stimulus, by prepending LeadIn
// frames of grey (z = 0 through Norm) and running the whole from rest, then dropping them.
func respondPrepended(t *testing.T, s *SimResponder, stim datasets.Movie) datasets.Matrix {
	t.Helper()
	c := s.Retina.Config()
	grey := float32(0)
	if s.Norm != nil {
		stim = rawStimulus(*s.Norm, stim)
		grey = rawStimulus(*s.Norm, datasets.NewMovie(1, 1, 1)).Data[0]
	}
	fs := c.H * c.W
	full := datasets.NewMovie(s.LeadIn+stim.T, c.H, c.W)
	for i := range s.LeadIn * fs {
		full.Data[i] = grey
	}
	copy(full.Data[s.LeadIn*fs:], stim.Data)
	resp, err := s.Retina.RunGanglion(full, nil)
	if err != nil {
		t.Fatal(err)
	}
	cells := s.Cells
	if cells == nil {
		for i := range resp.Rates.Cols {
			cells = append(cells, i)
		}
	}
	skip := s.LeadIn + s.History
	out := datasets.NewMatrix(full.T-skip, len(cells))
	for r := range out.Rows {
		for j, cell := range cells {
			out.Set(r, j, resp.Rates.At(r+skip, cell))
		}
	}
	return out
}

// TestSimResponderAdaptsOnce: the truth that simulates its lead-in once and continues from the
// state it leaves answers, bit for bit, what simulating the lead-in before every stimulus
// answered (respondPrepended), on flashes, white noise and a grating, with lead-ins of 0, 37
// and 500 frames, with and without Norm, any history and cells. One responder is taken through
// the table with its public fields changed between calls, as a caller may, so a cache that did
// not notice a change of LeadIn or Norm would answer with the wrong adaptation and fail.
// Planted: the adapted truth differs from the truth at rest on these stimuli (the comparison
// can tell whether the lead-in was run).
func TestSimResponderAdaptsOnce(t *testing.T) {
	truth, err := NewSimResponder("small", 1, 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := truth.Retina.Config()
	h, w := c.H, c.W
	other := datasets.NormStats{Mean: -0.3, Std: 0.5}
	stims := map[string]datasets.Movie{
		"flashes":     stimuli.FlashTrain(h, w, 30, 4, 25, 3, 20, 1),
		"white noise": stimuli.WhiteNoise(h, w, 120, 1, 2, false, 5),
		"grating":     stimuli.ReversingGrating(h, w, 100, 10, 4, 0.7),
	}
	s := &SimResponder{Retina: truth.Retina, FilterFrames: truth.FilterFrames}
	for _, tc := range []struct {
		leadIn, history int
		norm            *datasets.NormStats
		cells           []int
	}{
		{500, 20, nil, nil},
		{500, 20, &baseNorm, nil},
		{500, 40, &baseNorm, []int{3, 0, 5}},
		{37, 40, &baseNorm, nil},
		{0, 20, &baseNorm, []int{1}},
		{500, 20, &other, nil},
		{37, 10, nil, []int{2, 7}},
		{0, 20, nil, nil},
		{500, 40, &baseNorm, nil}, // back to a lead-in used before
	} {
		s.LeadIn, s.History, s.Norm, s.Cells = tc.leadIn, tc.history, tc.norm, tc.cells
		for _, name := range []string{"flashes", "white noise", "grating"} {
			stim := stims[name]
			what := fmt.Sprintf("lead-in %d, history %d, norm %v, cells %v, %s", tc.leadIn, tc.history, tc.norm, tc.cells, name)
			got, err := s.Respond(stim)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			want := respondPrepended(t, s, stim)
			if err := sameRates(what, got, want); err != nil {
				t.Error(err)
			}
			if tc.leadIn == 500 && tc.norm != nil {
				atRest := &SimResponder{Retina: s.Retina, History: s.History, Cells: s.Cells, Norm: s.Norm}
				rest, err := atRest.Respond(stim)
				if err != nil {
					t.Fatal(err)
				}
				if sameRates(what, rest, want) == nil {
					t.Errorf("%s: the truth at rest answers as the adapted one; the comparison cannot tell the lead-in", what)
				}
			}
		}
		if st := s.adapted.state; tc.leadIn > 0 && st.Frames() != tc.leadIn {
			t.Errorf("lead-in %d: the kept state is %d frames past rest", tc.leadIn, st.Frames())
		}
	}
}

// TestSimResponderAdaptsOnceReused: the lead-in's state is simulated once and reused while
// nothing it depends on changes, and Respond from several goroutines at once (a fresh
// responder, so they race to simulate the lead-in) answers each as the reference does (run
// with -race to check the lock too).
func TestSimResponderAdaptsOnceReused(t *testing.T) {
	s, err := NewSimResponder("small", 1, 20, []int{0, 3})
	if err != nil {
		t.Fatal(err)
	}
	norm := baseNorm
	s.Norm = &norm
	c := s.Retina.Config()
	stims := make([]datasets.Movie, 4)
	for i := range stims {
		stims[i] = stimuli.WhiteNoise(c.H, c.W, 60, 1, 2, false, uint64(10+i))
	}
	got := make([]datasets.Matrix, len(stims))
	errs := make([]error, len(stims))
	var wg sync.WaitGroup
	for i := range stims {
		wg.Go(func() { got[i], errs[i] = s.Respond(stims[i]) })
	}
	wg.Wait()
	for i := range stims {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if err := sameRates(fmt.Sprintf("goroutine %d", i), got[i], respondPrepended(t, s, stims[i])); err != nil {
			t.Error(err)
		}
	}
	first := s.adapted.state
	if _, err := s.Respond(stims[0]); err != nil {
		t.Fatal(err)
	}
	if s.adapted.state != first {
		t.Error("the lead-in was simulated again with nothing it depends on changed")
	}
	moved := norm
	moved.Mean += 1e-6 // a different grey in float32
	s.Norm = &moved
	if _, err := s.Respond(stims[0]); err != nil {
		t.Fatal(err)
	}
	if s.adapted.state == first {
		t.Error("the grey changed and the lead-in was not simulated again")
	}
}
