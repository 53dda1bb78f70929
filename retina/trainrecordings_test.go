package retina

import (
	stdcontext "context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/datasets/simretina"
	"github.com/deepretina/deepretina/internal/tensorconv"
	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/metrics"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// tinyRetina simulates a small retina of the built-in simulator (10×10 pixels, 4 cells, 30 s
// of white noise, a 4 s test segment repeated 4 times): each seed draws its own cell
// positions and types.
func tinyRetina(t testing.TB, seed uint64) *datasets.Recording {
	t.Helper()
	return tinyRetinaUnder(t, seed, datasets.WhiteNoise)[datasets.WhiteNoise]
}

// tinyRetinaUnder simulates tinyRetina's retina under each of the stimulus types.
func tinyRetinaUnder(t testing.TB, seed uint64, stims ...string) map[string]*datasets.Recording {
	t.Helper()
	sc, err := simretina.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	sc.Seed, sc.H, sc.W, sc.NCells = seed, 10, 10, 4
	sc.TrainSeconds, sc.TestSeconds, sc.Repeats, sc.InterneuronSeconds = 30, 4, 4, 2
	sim, err := simretina.Simulate(sc, stims, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sim.Recordings
}

// multiConfig trains a BNCNN core on the tiny retinas with seeds, named r<seed>.
func multiConfig(seeds ...uint64) runconfig.Config {
	c := runconfig.SmallConfig()
	c.ExpName, c.Dataset, c.StimType = "multi", "sim-small", datasets.WhiteNoise
	c.ImgShape, c.KSizes, c.Chans = []int{20, 10, 10}, []int{5, 3}, []int{4, 4}
	c.BatchSize, c.NEpochs, c.LR = 32, 2, 5e-3
	for _, s := range seeds {
		c.Recordings = append(c.Recordings, runconfig.RecordingSpec{Name: "r" + string(rune('0'+s)), SimSeed: s})
	}
	return c
}

func tinyRetinas(t testing.TB, seeds ...uint64) []*datasets.Recording {
	recs := make([]*datasets.Recording, len(seeds))
	for i, s := range seeds {
		recs[i] = tinyRetina(t, s)
	}
	return recs
}

func TestMultiRecordingTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	backend := testutil.XLABackend(t)
	recs := tinyRetinas(t, 1, 2, 3)
	cfg := multiConfig(1, 2, 3)
	dir := t.TempDir()
	meta, err := Train(stdcontext.Background(), cfg, dir, TrainOptions{Recordings: recs, Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.Recordings) != 3 || len(meta.History) != 2 || len(meta.CoreRecordings) != 3 {
		t.Fatalf("run description: %d recordings, %d epochs, %d core recordings", len(meta.Recordings), len(meta.History), len(meta.CoreRecordings))
	}
	// Each recording is scored on its own test set, and the run's score is their mean.
	last := meta.History[1]
	mean := 0.0
	for i, r := range last.Recordings {
		if r.Name != cfg.Recordings[i].Name || math.IsNaN(r.TestCorr) {
			t.Fatalf("epoch 2, recording %d: %+v", i, r)
		}
		// A readout trained on a retina's data predicts that retina: a single-recording run
		// of this size reaches test r 0.30 in two epochs.
		if best := meta.Recordings[i].TestCorrAtBest; !(best > 0.15) {
			t.Errorf("recording %s: test r %.3f at the best epoch; its readout did not learn", r.Name, best)
		}
		mean += r.TestCorr / 3
	}
	if math.Abs(mean-last.TestCorr) > 1e-12 {
		t.Errorf("run test r %.6f, mean of its recordings %.6f", last.TestCorr, mean)
	}
	t.Logf("per-recording test r after 2 epochs: %+v", last.Recordings)

	// The run serves one recording at a time; with several, LoadModel asks which.
	_, err = LoadModel(dir, LoadOptions{Backend: backend})
	var choice *RecordingChoiceError
	if !errors.As(err, &choice) || !strings.Contains(err.Error(), "r1, r2, r3") {
		t.Fatalf("LoadModel without a recording: %v; want the list of recordings", err)
	}
	if _, err := LoadModel(dir, LoadOptions{Backend: backend, Recording: "r9"}); !errors.As(err, &choice) {
		t.Fatalf("LoadModel of an unknown recording: %v", err)
	}
	for i, name := range []string{"r1", "r2", "r3"} {
		model, err := LoadModel(dir, LoadOptions{Backend: backend, Recording: name})
		if err != nil {
			t.Fatal(err)
		}
		m := model.Meta
		if m.Recording() != name || m.Model.ReadoutScope != "readout/"+name || m.Config.SimSeed != uint64(i+1) ||
			!slices.Equal(m.CellIDs, recs[i].CellIDs) || m.NormStats != datasets.ComputeNormStats(recs[i].Train.Stimulus) {
			t.Fatalf("recording %s described as %+v", name, m)
		}
		if err := CheckSameData(m, recs[i]); err != nil {
			t.Errorf("recording %s: %v", name, err)
		}
		if err := CheckSameData(m, recs[(i+1)%3]); err == nil {
			t.Errorf("recording %s accepted another retina's data", name)
		}
		// The loaded readout reproduces the test score logged for it at the best epoch.
		pred, err := model.Predict(recs[i].Test.Stimulus)
		if err != nil {
			t.Fatal(err)
		}
		h := cfg.ImgShape[0]
		target := datasets.Matrix{Rows: pred.Rows, Cols: pred.Cols, Data: recs[i].Test.Rates.Data[h*pred.Cols:]}
		r := metrics.Mean(metrics.PearsonPerCell(pred.Data, target.Data, pred.Cols))
		if math.Abs(r-m.TestCorrAtBest) > 1e-4 {
			t.Errorf("recording %s: reloaded model scores %.6f, the trainer logged %.6f", name, r, m.TestCorrAtBest)
		}
	}
}

// TestMultiRecordingSameSeedSameCurveAndResume: the same config trains the same curve, and a
// run interrupted mid-epoch resumes onto it.
func TestMultiRecordingSameSeedSameCurveAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	backend := testutil.XLABackend(t)
	recs := tinyRetinas(t, 1, 2)
	cfg := multiConfig(1, 2)
	cfg.Readout, cfg.MaxTrainWindows = nn.ReadoutFactorised, 160
	train := func(dir string, ctx stdcontext.Context, opts TrainOptions) (*RunMeta, error) {
		opts.Recordings, opts.Backend = recs, backend
		return Train(ctx, cfg, dir, opts)
	}
	a, err := train(t.TempDir(), stdcontext.Background(), TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := train(t.TempDir(), stdcontext.Background(), TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// 2 × 160 training windows / 32 = 10 steps per epoch: stop inside the second epoch.
	ctx, opts := stopAfterSteps(13, TrainOptions{})
	if _, err := train(dir, ctx, opts); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("expected ErrInterrupted, got %v", err)
	}
	c, err := train(dir, stdcontext.Background(), TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for e := range a.History {
		for _, other := range []*RunMeta{b, c} {
			x, y := a.History[e], other.History[e]
			if x.TrainLoss != y.TrainLoss || !slices.Equal(x.Recordings, y.Recordings) {
				t.Errorf("epoch %d: %+v vs %+v", e+1, x, y)
			}
		}
	}
}

// TestReadoutOnlyKeepsTheCore fine-tunes a fourth retina's readout on the core of a run on
// three: every core variable (running statistics included) stays bit-identical while the
// readout learns; with unfreeze_after the core then trains too.
func TestReadoutOnlyKeepsTheCore(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	backend := testutil.XLABackend(t)
	base := t.TempDir()
	from := filepath.Join(base, "core")
	cfg := multiConfig(1, 2, 3)
	cfg.NEpochs = 1
	if _, err := Train(stdcontext.Background(), cfg, from, TrainOptions{Recordings: tinyRetinas(t, 1, 2, 3), Backend: backend}); err != nil {
		t.Fatal(err)
	}
	fine := multiConfig(4)
	fine.ExpName, fine.FromRun, fine.ReadoutOnly, fine.NEpochs = "fine", from, true, 2
	fourth := []*datasets.Recording{tinyRetina(t, 4)}
	dir := filepath.Join(base, "fine")
	meta, err := Train(stdcontext.Background(), fine, dir, TrainOptions{Recordings: fourth, Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	before := bestVariables(t, from)
	after := bestVariables(t, dir)
	core := 0
	for path, v := range before {
		if strings.HasPrefix(path, "/model/conv") || strings.HasPrefix(path, "/model/bn") {
			core++
			if !v.Equal(after[path]) {
				t.Errorf("core variable %s changed in readout-only training", path)
			}
		}
	}
	if core < 8 {
		t.Fatalf("found %d core variables", core)
	}
	// The source keeps running statistics per recording; the new recording's start from their
	// mean over r1–r3 (its counter from r1's) and stay there while the core is frozen.
	srcVars, fineVars := bestFloats(t, from), bestFloats(t, dir)
	for _, bn := range []string{"bn1", "bn2"} {
		for _, name := range []string{"running_mean", "running_var"} {
			got := fineVars["/model/readout/r4/"+bn+"/"+name]
			if got == nil || srcVars["/model/"+bn+"/"+name] != nil {
				t.Fatalf("%s/%s: per-recording statistics missing from the fine-tuned run, or shared ones in the source", bn, name)
			}
			for j := range got {
				mean := 0.0
				for _, r := range []string{"r1", "r2", "r3"} {
					mean += srcVars["/model/readout/"+r+"/"+bn+"/"+name][j] / 3
				}
				if math.Abs(got[j]-mean) > 1e-6*max(1, math.Abs(mean)) {
					t.Fatalf("r4's %s/%s[%d] = %v; the mean over the core's recordings is %v", bn, name, j, got[j], mean)
				}
			}
		}
	}
	if _, ok := after["/model/readout/r1/dense/kernel"]; ok {
		t.Error("the fine-tuned run carries the old run's readouts")
	}
	if first := meta.History[0].Recordings[0].TestCorr; !(first > 0.1) {
		t.Errorf("readout-only: the new retina's test r after one epoch is %.3f; the readout did not learn", first)
	}
	t.Logf("readout-only test r by epoch: %.3f, %.3f", meta.History[0].TestCorr, meta.History[1].TestCorr)
	names := func(cs []CoreRecording) (out []string) {
		for _, c := range cs {
			out = append(out, c.Run+":"+c.Name)
		}
		return out
	}
	if got := names(meta.CoreRecordings); !slices.Equal(got, []string{from + ":r1", from + ":r2", from + ":r3"}) {
		t.Errorf("core recordings %v", got)
	}
	if meta.CoreFrom == nil || meta.CoreFrom.Run != from || meta.CoreFrom.Epoch != 1 {
		t.Errorf("core origin %+v", meta.CoreFrom)
	}
	// The fine-tuned run's one recording is served without naming it.
	if m, err := LoadModel(dir, LoadOptions{Backend: backend}); err != nil || m.Meta.Recording() != "r4" {
		t.Fatalf("LoadModel of a one-recording run: %v", err)
	}

	// Unfreezing after one epoch: the second epoch changes the core, and says so.
	fine.ExpName, fine.UnfreezeAfter = "unfrozen", 1
	dir = filepath.Join(base, "unfrozen")
	meta, err = Train(stdcontext.Background(), fine, dir, TrainOptions{Recordings: fourth, Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	last := lastVariables(t, dir) // the best epoch may be the first: read the last

	if last["/model/conv1/kernel"].Equal(before["/model/conv1/kernel"]) {
		t.Error("unfreeze_after 1: the core did not change in epoch 2")
	}
	if got := names(meta.CoreRecordings); !slices.Contains(got, ":r4") {
		t.Errorf("unfrozen: core recordings %v lack this run's r4", got)
	}
}

// bestFloats reads the float variables of a run's best checkpoint.
func bestFloats(t *testing.T, runDir string) map[string][]float64 {
	t.Helper()
	dir, err := bestCheckpoint(runDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	vars, err := CheckpointVariables(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float64{}
	for path, v := range vars {
		if v.DType().IsFloat() {
			if out[path], err = tensorconv.Float64s(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

func bestVariables(t *testing.T, runDir string) map[string]tensorLike {
	t.Helper()
	dir, err := bestCheckpoint(runDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return checkpointValues(t, dir)
}

func lastVariables(t *testing.T, runDir string) map[string]tensorLike {
	t.Helper()
	ref, _, err := latestGoodCheckpoint(runDir, nil)
	if err != nil || ref == nil {
		t.Fatalf("no checkpoint in %s: %v", runDir, err)
	}
	return checkpointValues(t, ref.Dir)
}

// tensorLike is a variable's value as bytes, compared bit for bit.
type tensorLike struct{ data string }

func (a tensorLike) Equal(b tensorLike) bool { return a.data == b.data }

func checkpointValues(t *testing.T, dir string) map[string]tensorLike {
	t.Helper()
	vars, err := CheckpointVariables(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]tensorLike{}
	for path, v := range vars {
		var data string
		if err := v.ConstBytes(func(b []byte) { data = string(b) }); err != nil {
			t.Fatal(err)
		}
		out[path] = tensorLike{data}
	}
	return out
}
