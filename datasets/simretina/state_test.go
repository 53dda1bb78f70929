package simretina

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/datasets"
)

// tinyRetina is the circuit of tinyConfig (16×18 px, 5 cells).
func tinyRetina(t *testing.T) *Retina {
	t.Helper()
	ret, err := New(tinyConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return ret
}

// concatMovies is the movies one after the other.
func concatMovies(h, w int, ms ...datasets.Movie) datasets.Movie {
	n := 0
	for _, m := range ms {
		n += m.T
	}
	out := datasets.NewMovie(n, h, w)
	at := 0
	for _, m := range ms {
		copy(out.Data[at:], m.Data)
		at += len(m.Data)
	}
	return out
}

// uniformMovie is T frames of the value v.
func uniformMovie(h, w, T int, v float32) datasets.Movie {
	m := datasets.NewMovie(T, h, w)
	for i := range m.Data {
		m.Data[i] = v
	}
	return m
}

// flashes is T frames of full-field flashes of ±c, `on` frames long every `period` frames, on
// grey.
func flashes(h, w, T, period, on int, c float32) datasets.Movie {
	m := datasets.NewMovie(T, h, w)
	for t := range T {
		if t%period >= on {
			continue
		}
		v := c
		if (t/period)%2 == 1 {
			v = -c
		}
		f := m.Frame(t)
		for i := range f {
			f[i] = v
		}
	}
	return m
}

// sameResponse says which of the response's matrices differ from want's (bit for bit), or "".
func sameResponse(got, want Response) string {
	var bad []string
	for _, c := range []struct {
		name      string
		got, want datasets.Matrix
	}{
		{"rates", got.Rates, want.Rates}, {"spikes", got.Spikes, want.Spikes},
		{"bipolar", got.Bipolar, want.Bipolar}, {"amacrine", got.Amacrine, want.Amacrine},
	} {
		if c.got.Rows != c.want.Rows || c.got.Cols != c.want.Cols || !equalF32(c.got.Data, c.want.Data) {
			bad = append(bad, c.name)
		}
	}
	return strings.Join(bad, ", ")
}

// TestRunFromContinues: running stimuli one after another, each continued from the state the
// previous one left (RunFrom), gives each the outputs of one Run of them all from rest, bit for
// bit: rates, spikes (the same rng, drawn on through the pieces), bipolar and amacrine
// potentials, ganglion-only runs (RunGanglionFrom) included, across the simulator's 512-frame
// chunks. The reference is Run on the concatenated movie. Planted: continuing from rest instead
// of the state, or from the state with any one part of it (filter cascades, contrast estimates,
// amacrines, ganglion membranes, refractory history) at rest, changes the outputs, so every part
// is carried and the comparison would catch one left out.
func TestRunFromContinues(t *testing.T) {
	ret := tinyRetina(t)
	cfg := ret.Config()
	h, w := cfg.H, cfg.W
	caught := map[string]int{} // planted continuations told apart, over all cases
	followers := 0             // pieces that follow a non-empty one
	noise := func(T int, seed uint64) datasets.Movie {
		return whiteNoiseMovie(cfg, T, false, rand.New(rand.NewPCG(seed, 3)))
	}
	for _, tc := range []struct {
		name   string
		pieces []datasets.Movie
	}{
		{"grey, then flashes", []datasets.Movie{uniformMovie(h, w, 200, 0.3), flashes(h, w, 150, 30, 5, 1)}},
		{"white noise across a chunk, then a grating", []datasets.Movie{noise(700, 1), reversingGrating(h, w, 120, 10, 4, 8, false, 0.8)}},
		{"flicker, white noise, flashes", []datasets.Movie{flicker(h, w, 90, 0.5, rand.New(rand.NewPCG(4, 5))), noise(60, 2), flashes(h, w, 80, 20, 3, 0.7)}},
		{"nothing, then white noise", []datasets.Movie{datasets.NewMovie(0, h, w), noise(100, 6)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const seedA, seedB = 11, 12
			whole := concatMovies(h, w, tc.pieces...)
			want := mustRun(t, ret, whole, rand.New(rand.NewPCG(seedA, seedB)))
			wantG, err := ret.RunGanglion(whole, nil)
			if err != nil {
				t.Fatal(err)
			}
			src := rand.NewPCG(seedA, seedB)
			rng := rand.New(src)
			var s, sG *State
			at := 0
			for k, p := range tc.pieces {
				ref := Response{Rates: rowsOf(want.Rates, at, p.T), Spikes: rowsOf(want.Spikes, at, p.T),
					Bipolar: rowsOf(want.Bipolar, at, p.T), Amacrine: rowsOf(want.Amacrine, at, p.T)}
				pos := *src // the source's position before p, for the planted runs
				got, next, err := ret.RunFrom(s, p, rng)
				if err != nil {
					t.Fatal(err)
				}
				if bad := sameResponse(got, ref); bad != "" {
					t.Errorf("piece %d (frames %d…%d): %s differ from one run from rest", k, at, at+p.T, bad)
				}
				gotG, nextG, err := ret.RunGanglionFrom(sG, p, nil)
				if err != nil {
					t.Fatal(err)
				}
				if bad := sameResponse(gotG, Response{Rates: rowsOf(wantG.Rates, at, p.T)}); bad != "" {
					t.Errorf("piece %d, ganglion only: %s differ from one run from rest", k, bad)
				}
				if k > 0 && tc.pieces[k-1].T > 0 {
					// Planted: what the state carries matters here.
					plantedDiffers(t, ret, s, p, ref, pos, caught)
					followers++
				}
				at += p.T
				s, sG = next, nextG
				if s.Frames() != at || sG.Frames() != at {
					t.Errorf("after piece %d: the states are %d and %d frames past rest; expected %d", k, s.Frames(), sG.Frames(), at)
				}
			}
		})
	}
	// The refractory history decays in 15 ms, so only a piece that ends in spikes tells it
	// apart; each part must be told apart somewhere.
	for _, pl := range plantedResets(len(ret.locs)) {
		if caught[pl.name] == 0 {
			t.Errorf("planted %s: no continuation changed; the comparison cannot tell that part of the state apart", pl.name)
		}
	}
	t.Logf("planted continuations told apart, of %d pieces that follow another: %v", followers, caught)
}

// rowsOf is rows [from, from+n) of m (m itself when it has no rows: an unrecorded matrix).
func rowsOf(m datasets.Matrix, from, n int) datasets.Matrix {
	if m.Rows == 0 {
		return m
	}
	out := datasets.NewMatrix(n, m.Cols)
	copy(out.Data, m.Data[from*m.Cols:(from+n)*m.Cols])
	return out
}

// planted is a planted continuation: from the state with part of it reset to rest (reset nil:
// from rest).
type planted struct {
	name  string
	reset func(*State)
}

// plantedResets are the planted continuations on a circuit of nLoc subunit locations: from
// rest, and from the state with one part of it at rest.
func plantedResets(nLoc int) []planted {
	return []planted{
		{"from rest", nil},
		{"filter cascades at rest", func(s *State) { clear(s.st.bip[:12*nLoc]) }},
		{"contrast estimates at rest", func(s *State) { clear(s.st.bip[12*nLoc:]) }},
		{"amacrines at rest", func(s *State) { clear(s.st.am) }},
		{"ganglion membranes at rest", func(s *State) { clear(s.st.gang) }},
		{"refractory history at rest", func(s *State) { clear(s.spikeHist) }},
	}
}

// plantedDiffers counts in caught each planted continuation of p that does not give ref. pos
// is the random source at the position a run of everything before p leaves it; each try draws
// from its own copy.
func plantedDiffers(t *testing.T, ret *Retina, s *State, p datasets.Movie, ref Response, pos rand.PCG, caught map[string]int) {
	t.Helper()
	for _, pl := range plantedResets(len(ret.locs)) {
		var from *State
		if pl.reset != nil {
			from = ret.clone(s)
			pl.reset(from)
		}
		src := pos
		got, _, err := ret.RunFrom(from, p, rand.New(&src))
		if err != nil {
			t.Fatal(err)
		}
		if sameResponse(got, ref) != "" {
			caught[pl.name]++
		}
	}
}

// equalStates: the two states hold the same values, bit for bit.
func equalStates(a, b *State) bool {
	return a.retina == b.retina && a.frames == b.frames && equalF32(a.st.bip, b.st.bip) &&
		equalF32(a.st.am, b.st.am) && equalF32(a.st.gang, b.st.gang) &&
		slices.Equal(a.spikeHist, b.spikeHist) && (a.spikeHist == nil) == (b.spikeHist == nil)
}

// TestStateNotAliased: a state is not changed by running from it, running from it twice gives
// the same outputs and the same next state, and the next state shares no memory with it
// (changing the next state leaves it as it was).
func TestStateNotAliased(t *testing.T) {
	ret := tinyRetina(t)
	cfg := ret.Config()
	for _, spikes := range []bool{false, true} {
		newRNG := func() *rand.Rand {
			if !spikes {
				return nil
			}
			return rand.New(rand.NewPCG(7, 8))
		}
		_, s, err := ret.RunFrom(nil, whiteNoiseMovie(cfg, 120, false, rand.New(rand.NewPCG(1, 1))), newRNG())
		if err != nil {
			t.Fatal(err)
		}
		before := ret.clone(s)
		if !equalStates(before, s) {
			t.Fatal("clone differs from the state it copies")
		}
		stim := flashes(cfg.H, cfg.W, 90, 30, 4, 0.8)
		r1, n1, err := ret.RunFrom(s, stim, newRNG())
		if err != nil {
			t.Fatal(err)
		}
		if !equalStates(before, s) {
			t.Errorf("spikes %v: running from the state changed it", spikes)
		}
		r2, n2, err := ret.RunFrom(s, stim, newRNG())
		if err != nil {
			t.Fatal(err)
		}
		if bad := sameResponse(r2, r1); bad != "" {
			t.Errorf("spikes %v: running from the state twice: %s differ", spikes, bad)
		}
		if !equalStates(n1, n2) {
			t.Errorf("spikes %v: running from the state twice gives different next states", spikes)
		}
		if equalStates(n1, s) {
			t.Fatalf("spikes %v: the next state equals the state; the stimulus moved nothing", spikes)
		}
		for _, x := range [][]float32{n1.st.bip, n1.st.am, n1.st.gang} {
			for i := range x {
				x[i] = 99
			}
		}
		for i := range n1.spikeHist {
			n1.spikeHist[i] = 99
		}
		if !equalStates(before, s) {
			t.Errorf("spikes %v: changing the next state changed the state it came from", spikes)
		}
		r3, _, err := ret.RunFrom(s, stim, newRNG())
		if err != nil {
			t.Fatal(err)
		}
		if bad := sameResponse(r3, r1); bad != "" {
			t.Errorf("spikes %v: after the next state was changed, running from the state: %s differ", spikes, bad)
		}
	}
}

// TestRunFromErrors: a state of another retina, spikes from a state reached without them, and a
// stimulus of the wrong size are errors saying so; from rest (nil) an rng is fine.
func TestRunFromErrors(t *testing.T) {
	ret, other := tinyRetina(t), tinyRetina(t)
	cfg := ret.Config()
	stim := flashes(cfg.H, cfg.W, 40, 20, 3, 0.5)
	_, quiet, err := ret.RunGanglionFrom(nil, stim, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.RunFrom(quiet, stim, nil); err == nil || !strings.Contains(err.Error(), "not one this retina made") {
		t.Errorf("another retina's state: %v", err)
	}
	if _, _, err := ret.RunFrom(quiet, stim, rand.New(rand.NewPCG(1, 2))); err == nil || !strings.Contains(err.Error(), "without drawing spikes") {
		t.Errorf("spikes from a state reached without them: %v", err)
	}
	if _, _, err := ret.RunFrom(quiet, stim, nil); err != nil {
		t.Errorf("on without spikes: %v", err)
	}
	if _, _, err := ret.RunFrom(nil, stim, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Errorf("spikes from rest: %v", err)
	}
	if _, _, err := ret.RunFrom(quiet, datasets.NewMovie(3, cfg.H+1, cfg.W), nil); err == nil || !strings.Contains(err.Error(), "expects") {
		t.Errorf("a stimulus of the wrong size: %v", err)
	}
}
