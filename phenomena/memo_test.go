package phenomena

import (
	"math"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/phenomena/stimuli"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// TestBatchedTrialsMatchSeparateRuns: a windowed responder (here an LN surrogate) gives the same
// rates for trials joined with grey gaps in one call as for one call per trial.
func TestBatchedTrialsMatchSeparateRuns(t *testing.T) {
	l, err := FitLNSurrogate(newPlanted("ln"), 3)
	if err != nil {
		t.Fatal(err)
	}
	checkBatched(t, l)
}

// TestBatchedTrialsMatchSeparateRunsOnAModel: the same for a model (an untrained BNCNN of the
// small retina's shape), the responder batching is for.
func TestBatchedTrialsMatchSeparateRunsOnAModel(t *testing.T) {
	cfg := runconfig.SmallConfig()
	cfg.Chans = []int{4, 4}
	m, err := retina.NewModel(cfg.ModelConfig(3), datasets.NormStats{Mean: 0, Std: 1}, 1, retina.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkBatched(t, ModelResponder{Model: m})
}

func checkBatched(t *testing.T, r Responder) {
	t.Helper()
	h, w := r.InputShape()[1], r.InputShape()[2]
	stims := []datasets.Movie{
		stimuli.Flash(h, w, 10, 2, 60, -2),
		stimuli.WhiteNoise(h, w, 90, 1, 1, false, 4),
		stimuli.Step(h, w, 5, 30, 20, 1),
	}
	if _, ok := r.(windowed); !ok {
		t.Fatalf("%T is not windowed", r)
	}
	batched, err := runTrials(r, stims...)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range stims {
		m, err := Run(r, s)
		if err != nil {
			t.Fatal(err)
		}
		for c, want := range cellsOf(m) {
			for k, v := range want {
				if got := batched[i][c][k]; math.Abs(got-v) > 1e-4*(1+math.Abs(v)) {
					t.Fatalf("trial %d cell %d frame %d: batched %g, separate %g", i, c, k, got, v)
				}
			}
		}
	}
}

// TestReceptiveFieldsMappedOncePerSeed: a subject's receptive-field maps are computed once per
// seed and shared by the experiments that need them.
func TestReceptiveFieldsMappedOncePerSeed(t *testing.T) {
	calls := &countingResponder{Responder: newPlanted("ln")}
	m := newMemo(calls)
	a, err := receptiveFieldCentres(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	n := calls.n
	b, err := receptiveFieldCentres(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	if calls.n != n || len(a) != len(b) || a[0] != b[0] {
		t.Errorf("the second mapping of seed 1 ran the responder again (%d → %d calls)", n, calls.n)
	}
	if _, err := receptiveFieldCentres(m, 2); err != nil || calls.n != n+1 {
		t.Errorf("seed 2 must be mapped anew: %v, %d calls", err, calls.n)
	}
}

type countingResponder struct {
	Responder
	n int
}

func (c *countingResponder) Respond(stim datasets.Movie) (datasets.Matrix, error) {
	c.n++
	return c.Responder.Respond(stim)
}
