package retina

import (
	stdcontext "context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// curvesBeforeBNStats holds the curves that the code before per-recording batch-norm statistics
// trained (commit fdad6be, 2026-12-07, XLA CPU engine): a single-recording run and a
// multi-recording run, whose core then shared its running statistics. Written by
//
//	go test ./retina -run TestCurvesAsBeforePerRecordingBNStats -update-curves
//
// run on that commit (with this file, shareCoreBNStats a no-op there).
const curvesBeforeBNStats = "testdata/curves-before-bnstats.json"

var updateCurves = flag.Bool("update-curves", false, "rewrite "+curvesBeforeBNStats+" from this tree's training")

// curvePoint is one epoch of a run's curve.
type curvePoint struct {
	TrainLoss, ValCorr, TestCorr float64
	Recordings                   []RecordingScore `json:",omitempty"`
}

func curveOf(m *RunMeta) []curvePoint {
	out := make([]curvePoint, len(m.History))
	for i, e := range m.History {
		out[i] = curvePoint{TrainLoss: e.TrainLoss, ValCorr: e.ValCorr, TestCorr: e.TestCorr, Recordings: e.Recordings}
	}
	return out
}

// shareCoreBNStats makes a multi-recording config share its core's running statistics, as
// every multi-recording run before per-recording statistics did.
func shareCoreBNStats(c *runconfig.Config) { c.CoreBNStats = runconfig.CoreBNStatsShared }

// TestCurvesAsBeforePerRecordingBNStats: a single-recording run trains the curve it trained
// before per-recording statistics existed (they change nothing there), and so does a
// multi-recording run with core_bn_stats "shared"; with the default (per recording) the same
// multi-recording run trains the same losses (training normalises each batch by its own
// statistics either way) but scores differently (evaluation reads the recording's own).
func TestCurvesAsBeforePerRecordingBNStats(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	backend := testutil.XLABackend(t)
	single := tinyTrainConfig()
	s, err := Train(stdcontext.Background(), single, t.TempDir(), TrainOptions{Data: testutil.Synthetic(t), Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	multi := multiConfig(1, 2)
	multi.MaxTrainWindows = 160
	recs := tinyRetinas(t, 1, 2)
	shared := multi
	shareCoreBNStats(&shared)
	m, err := Train(stdcontext.Background(), shared, t.TempDir(), TrainOptions{Recordings: recs, Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]curvePoint{"single": curveOf(s), "multi-shared": curveOf(m)}
	if *updateCurves {
		data, err := json.MarshalIndent(got, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.FromSlash(curvesBeforeBNStats), append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(filepath.FromSlash(curvesBeforeBNStats))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][]curvePoint
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("%s: %v", curvesBeforeBNStats, err)
	}
	// Bit for bit on the machine that wrote the file; another CPU may round XLA's reductions
	// otherwise, far below what a change of behaviour moves.
	const tol = 1e-6
	for name, curve := range got {
		if len(curve) != len(want[name]) {
			t.Fatalf("%s: %d epochs, %s has %d", name, len(curve), curvesBeforeBNStats, len(want[name]))
		}
		maxDiff := 0.0
		for e, p := range curve {
			w := want[name][e]
			diffs := []float64{p.TrainLoss - w.TrainLoss, p.ValCorr - w.ValCorr, p.TestCorr - w.TestCorr}
			if len(p.Recordings) != len(w.Recordings) {
				t.Fatalf("%s epoch %d: %d recordings scored, before %d", name, e+1, len(p.Recordings), len(w.Recordings))
			}
			for i, r := range p.Recordings {
				diffs = append(diffs, r.ValCorr-w.Recordings[i].ValCorr, r.TestCorr-w.Recordings[i].TestCorr)
			}
			d := maxAbs(diffs)
			maxDiff = max(maxDiff, d)
			if d > tol {
				t.Errorf("%s epoch %d: %+v; before per-recording statistics %+v", name, e+1, p, w)
			}
		}
		t.Logf("%s: largest difference from the curve before per-recording statistics %g", name, maxDiff)
	}

	// The default keeps the statistics per recording: the same training, other scores.
	p, err := Train(stdcontext.Background(), multi, t.TempDir(), TrainOptions{Recordings: recs, Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	if p.History[0].TrainLoss != m.History[0].TrainLoss {
		t.Errorf("epoch 1 training loss %v per recording, %v shared: the statistics changed training", p.History[0].TrainLoss, m.History[0].TrainLoss)
	}
	if p.History[0].ValCorr == m.History[0].ValCorr {
		t.Errorf("epoch 1 validation r %v both per recording and shared: evaluation did not read the recordings' own statistics", p.History[0].ValCorr)
	}
	if !p.Recordings[0].Model.RecordingBNStats || m.Recordings[0].Model.RecordingBNStats {
		t.Errorf("run descriptions: RecordingBNStats %v (default), %v (shared)", p.Recordings[0].Model.RecordingBNStats, m.Recordings[0].Model.RecordingBNStats)
	}
}

func maxAbs(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, math.Abs(x))
	}
	return m
}
