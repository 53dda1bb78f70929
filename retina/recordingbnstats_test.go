package retina

import (
	stdcontext "context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/metrics"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// tinyRetinaBoth simulates tinyRetina's retina under natural scenes and white noise.
func tinyRetinaBoth(t testing.TB, seed uint64) (ns, wn *datasets.Recording) {
	t.Helper()
	recs := tinyRetinaUnder(t, seed, datasets.NaturalScene, datasets.WhiteNoise)
	return recs[datasets.NaturalScene], recs[datasets.WhiteNoise]
}

// channelSDs is the SD of each channel of a hidden layer's activations over time and space.
func channelSDs(a Activations) []float64 {
	T, C, H, W := a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3]
	out := make([]float64, C)
	for c := range C {
		var sum, sq float64
		for ti := range T {
			for y := range H {
				for x := range W {
					v := float64(a.At(ti, c, y, x))
					sum, sq = sum+v, sq+v*v
				}
			}
		}
		n := float64(T * H * W)
		out[c] = math.Sqrt(sq/n - (sum/n)*(sum/n))
	}
	return out
}

// TestRecordingBNStatsMatchEvaluationToTraining trains one core on natural scenes and white
// noise of one retina (the recipe search's "mix" runs, in small) and compares each core
// channel's pre-ReLU SD at evaluation on the two recordings' test stimuli. In training every
// channel has SD |γ| on either recording (each batch is normalised by its own statistics);
// with per-recording running statistics evaluation does the same, so the ratio is near 1;
// with shared ones (every run before them) natural scenes, whose spatially correlated pixels
// drive the convolutions harder than white noise, are normalised by statistics that white
// noise pulled down, and the ratio is far from 1 (1.8–4.5 on the recipe search's mix runs,
// docs/multirecording.md). The SDs are taken over each recording's training stimulus, the
// distribution the running statistics estimate: the 4-s test segment holds only a few natural
// images, whose variance is below it (on it the per-recording ratios were 0.18–0.70 when this
// test was written, the shared ones 0.77–3.05).
func TestRecordingBNStatsMatchEvaluationToTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	backend := testutil.XLABackend(t)
	ns, wn := tinyRetinaBoth(t, 1)
	cfg := multiConfig()
	cfg.Recordings = []runconfig.RecordingSpec{
		{Name: "ns", StimType: datasets.NaturalScene, SimSeed: 1},
		{Name: "wn", StimType: datasets.WhiteNoise, SimSeed: 1},
	}
	// The reference's momentum (0.01) leaves two epochs of 30 s mostly at the initial
	// statistics (0, 1): 0.99^20 ≈ 0.82 of them after 20 batches. 0.2 makes the running
	// statistics those of the recent batches, as the long runs' are.
	cfg.BNMoment = 0.2
	base := t.TempDir()
	ratios := map[string][]float64{}
	for _, mode := range []string{runconfig.CoreBNStatsRecording, runconfig.CoreBNStatsShared} {
		c := cfg
		c.CoreBNStats = mode
		dir := filepath.Join(base, mode)
		meta, err := Train(stdcontext.Background(), c, dir, TrainOptions{Recordings: []*datasets.Recording{ns, wn}, Backend: backend})
		if err != nil {
			t.Fatal(err)
		}
		if got := meta.Recordings[0].Model.RecordingBNStats; got != (mode == runconfig.CoreBNStatsRecording) {
			t.Fatalf("core_bn_stats %q: RecordingBNStats %v in the run description", mode, got)
		}
		sds := map[string][]Activations{}
		for name, rec := range map[string]*datasets.Recording{"ns": ns, "wn": wn} {
			m, err := LoadModel(dir, LoadOptions{Backend: backend, Recording: name})
			if err != nil {
				t.Fatal(err)
			}
			if sds[name], err = m.Hidden(rec.Train.Stimulus, HiddenOptions{PreNonlinearity: true}); err != nil {
				t.Fatal(err)
			}
		}
		for l := range sds["ns"] {
			a, b := channelSDs(sds["ns"][l]), channelSDs(sds["wn"][l])
			for c := range a {
				ratios[mode] = append(ratios[mode], a[c]/b[c])
			}
		}
		t.Logf("core_bn_stats %q: pre-ReLU SD natural scenes / white noise, conv1 then conv2 channels: %s", mode, fmtRatios(ratios[mode]))
	}
	for _, r := range ratios[runconfig.CoreBNStatsRecording] {
		if !(r > 1/1.25 && r < 1.25) {
			t.Errorf("per-recording statistics: SD ratio %.2f; want within 25%% of 1 on every channel", r)
		}
	}
	if worst := maxFold(ratios[runconfig.CoreBNStatsShared]); !(worst > 1.5) {
		t.Errorf("shared statistics: largest SD ratio %.2f-fold; want the mismatch they were replaced for (> 1.5)", worst)
	}
}

func fmtRatios(rs []float64) string {
	s := ""
	for _, r := range rs {
		s += fmt.Sprintf(" %.2f", r)
	}
	return s
}

// maxFold is the largest max(r, 1/r).
func maxFold(rs []float64) float64 {
	m := 0.0
	for _, r := range rs {
		m = max(m, r, 1/r)
	}
	return m
}

// TestSharedBNStatsCheckpointLoadsAsBefore loads a two-recording run written before
// per-recording statistics existed (commit fdad6be: testdata/multirun-shared-bnstats, the
// tiny retinas 1 and 2, one epoch of 96 windows each), whose core shares one set of running
// statistics: each recording's model reads them and scores on its test set what the trainer
// logged for it then.
func TestSharedBNStatsCheckpointLoadsAsBefore(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: simulates two retinas; runs in the full tier, scripts/test.sh")
	}
	backend := testutil.XLABackend(t)
	dir := filepath.Join("testdata", "multirun-shared-bnstats")
	for i, rec := range tinyRetinas(t, 1, 2) {
		name := fmt.Sprintf("r%d", i+1)
		m, err := LoadModel(dir, LoadOptions{Backend: backend, Recording: name})
		if err != nil {
			t.Fatal(err)
		}
		if m.Meta.Model.RecordingBNStats {
			t.Fatalf("recording %s: an old run described as keeping per-recording statistics", name)
		}
		if m.Store().GetVariable("/model/bn1/running_mean") == nil {
			t.Fatalf("recording %s: the shared running statistics were not loaded", name)
		}
		if err := CheckSameData(m.Meta, rec); err != nil {
			t.Fatalf("recording %s: %v (the simulator changed: rewrite the test data)", name, err)
		}
		pred, err := m.Predict(rec.Test.Stimulus)
		if err != nil {
			t.Fatal(err)
		}
		h := m.Meta.InputShape[0]
		r := metrics.Mean(metrics.PearsonPerCell(pred.Data, rec.Test.Rates.Data[h*pred.Cols:], pred.Cols))
		if math.Abs(r-m.Meta.TestCorrAtBest) > 1e-4 {
			t.Errorf("recording %s: the old checkpoint scores %.6f, its trainer logged %.6f", name, r, m.Meta.TestCorrAtBest)
		}
	}
}
