package retina

import (
	"bytes"
	stdcontext "context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/metrics"
	"github.com/deepretina/deepretina/retina/runconfig"
)

func tinyTrainConfig() runconfig.Config {
	c := runconfig.SmallConfig()
	c.ExpName, c.Dataset = "tiny", "synthetic"
	c.ImgShape, c.KSizes, c.Chans = []int{6, 8, 8}, []int{3, 3}, []int{3, 3}
	c.BatchSize, c.NEpochs, c.LR = 32, 2, 5e-3
	return c
}

func TestTrainSaveLoadPredictsIdentically(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	testutil.ForEachEngine(t, testTrainSaveLoadPredictsIdentically)
}

func testTrainSaveLoadPredictsIdentically(t *testing.T, backend compute.Backend) {
	rec := testutil.Synthetic(t)
	dir := t.TempDir()
	meta, err := Train(stdcontext.Background(), tinyTrainConfig(), dir, TrainOptions{Data: rec, Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	if meta.Epoch != 2 || len(meta.History) != 2 || meta.Stopped != "completed" {
		t.Fatalf("meta after training: epoch %d history %d stopped %q", meta.Epoch, len(meta.History), meta.Stopped)
	}
	if meta.History[1].TestCorr < 0.3 {
		t.Errorf("the model did not learn the synthetic cells: test r %.3f", meta.History[1].TestCorr)
	}
	// The loaded best checkpoint reproduces the test correlation the trainer logged for it.
	model, err := LoadModel(dir, LoadOptions{Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	pred, err := model.Predict(rec.Test.Stimulus)
	if err != nil {
		t.Fatal(err)
	}
	if pred.Rows != rec.Test.Stimulus.T-6 || pred.Cols != 2 {
		t.Fatalf("prediction shape [%d,%d]", pred.Rows, pred.Cols)
	}
	r := metrics.Mean(metrics.PearsonPerCell(pred.Data, rec.Test.Rates.Data[6*2:], 2))
	if math.Abs(r-model.Meta.TestCorrAtBest) > 1e-5 {
		t.Fatalf("reloaded model scores %.6f, the trainer logged %.6f", r, model.Meta.TestCorrAtBest)
	}
	// Self-describing: the checkpoint knows its data.
	if model.Meta.NormStats.Std <= 0 || model.Meta.InputShape != [3]int{6, 8, 8} || len(model.Meta.CellIDs) != 2 || model.Meta.FrameRate != 100 {
		t.Fatalf("checkpoint metadata incomplete: %+v", model.Meta)
	}
	// Hidden units are readable by name, after and before their nonlinearity.
	acts, err := model.Hidden(rec.Test.Stimulus, HiddenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 2 || acts[0].Layer != "conv1" || acts[1].Layer != "conv2" {
		t.Fatalf("hidden layers %v", acts)
	}
	if acts[0].Shape != [4]int{pred.Rows, 3, 6, 6} || acts[1].Shape != [4]int{pred.Rows, 3, 4, 4} {
		t.Fatalf("hidden shapes %v %v", acts[0].Shape, acts[1].Shape)
	}
	pre, err := model.Hidden(rec.Test.Stimulus, HiddenOptions{Layers: []string{"conv2"}, PreNonlinearity: true})
	if err != nil {
		t.Fatal(err)
	}
	negative := 0
	for i, v := range pre[0].Data {
		if want := max(v, 0); acts[1].Data[i] != want {
			t.Fatalf("conv2 unit %d: ReLU(pre) = %g, post = %g", i, want, acts[1].Data[i])
		}
		if v < 0 {
			negative++
		}
	}
	if negative == 0 {
		t.Error("no pre-nonlinearity value is negative: they are not read before the ReLU")
	}
	// Compiled once per layer set and input shape: stimuli whose lengths fall in the same
	// bucket (up to 256 frames here) reuse the two graphs built so far; a longer one needs one more.
	for _, n := range []int{150, 160} {
		if _, err := model.Hidden(rec.Test.Stimulus.Slice(0, n), HiddenOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if b := model.hidden.builds.Load(); b != 2 {
		t.Errorf("%d graphs built for two layer sets on stimuli of one length bucket, want 2", b)
	}
	if _, err := model.Hidden(datasets.NewMovie(400, 8, 8), HiddenOptions{}); err != nil {
		t.Fatal(err)
	}
	if b := model.hidden.builds.Load(); b != 3 {
		t.Errorf("%d graphs built after a stimulus of a new length bucket, want 3", b)
	}
	if _, err := model.Hidden(rec.Test.Stimulus, HiddenOptions{Layers: []string{"conv9"}}); err == nil || !strings.Contains(err.Error(), "conv1, conv2") {
		t.Fatalf("unknown layer: %v", err)
	}
}

func TestTrainSameSeedSameCurve(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	testutil.ForEachEngine(t, testTrainSameSeedSameCurve)
}

func testTrainSameSeedSameCurve(t *testing.T, backend compute.Backend) {
	rec := testutil.Synthetic(t)
	cfg := tinyTrainConfig()
	cfg.NEpochs = 1
	a, err := Train(stdcontext.Background(), cfg, t.TempDir(), TrainOptions{Data: rec, Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(stdcontext.Background(), cfg, t.TempDir(), TrainOptions{Data: rec, Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	if a.History[0].TrainLoss != b.History[0].TrainLoss || a.History[0].ValCorr != b.History[0].ValCorr {
		t.Fatalf("same seed, different curves: %+v vs %+v", a.History[0], b.History[0])
	}
	cfg.Seed = 77
	c, err := Train(stdcontext.Background(), cfg, t.TempDir(), TrainOptions{Data: rec, Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	if c.History[0].TrainLoss == a.History[0].TrainLoss {
		t.Fatal("another seed gave the identical curve")
	}
}

func TestTrainInterruptedResumesEpochCount(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	rec := testutil.Synthetic(t)
	dir := t.TempDir()
	cfg := tinyTrainConfig()
	// 694 windows, 5% validation → 659 train / 32 = 20 steps per epoch; stop after 25.
	ctx, opts := stopAfterSteps(25, TrainOptions{Data: rec, Backend: testutil.XLABackend(t)})
	_, err := Train(ctx, cfg, dir, opts)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("expected ErrInterrupted, got %v", err)
	}
	ref, meta, err := latestGoodCheckpoint(dir, nil)
	if err != nil || meta == nil {
		t.Fatalf("no checkpoint after interruption: %v", err)
	}
	if meta.Epoch != 1 || meta.StepInEpoch != 5 || filepath.Base(ref.Dir) != "epoch-0001-step-000005" {
		t.Fatalf("interrupted at epoch %d step %d (%s)", meta.Epoch, meta.StepInEpoch, ref.Dir)
	}
	done, err := Train(stdcontext.Background(), cfg, dir, TrainOptions{Data: rec, Backend: testutil.XLABackend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if done.Epoch != 2 || len(done.History) != 2 || done.History[0].Epoch != 1 || done.History[1].Epoch != 2 {
		t.Fatalf("resumed run: epoch %d, history %+v", done.Epoch, done.History)
	}
	// A cancelled context stops the same way.
	cancelled, cancel := stdcontext.WithCancel(stdcontext.Background())
	cancel()
	cfg.NEpochs = 3
	if _, err := Train(cancelled, cfg, dir, TrainOptions{Data: rec, Backend: testutil.XLABackend(t)}); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestTrainRejectsAnotherRunsFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	rec := testutil.Synthetic(t)
	dir := t.TempDir()
	cfg := tinyTrainConfig()
	cfg.NEpochs = 1
	if _, err := Train(stdcontext.Background(), cfg, dir, TrainOptions{Data: rec, Backend: testutil.XLABackend(t)}); err != nil {
		t.Fatal(err)
	}
	cfg.LR = 0.1
	_, err := Train(stdcontext.Background(), cfg, dir, TrainOptions{Data: rec, Backend: testutil.XLABackend(t)})
	if err == nil || !strings.Contains(err.Error(), "holds another run") {
		t.Fatalf("training a different config into the same folder: %v", err)
	}
}

func TestTrainEarlyStoppingStops(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	rec := testutil.Synthetic(t)
	cfg := tinyTrainConfig()
	cfg.NEpochs, cfg.EarlyStopping, cfg.LR, cfg.BNMoment = 10, 1, 1e-12, 1e-9
	meta, err := Train(stdcontext.Background(), cfg, t.TempDir(), TrainOptions{Data: rec, Backend: testutil.XLABackend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if meta.Stopped != "early-stopping" || meta.Epoch >= 10 {
		t.Fatalf("stopped %q after %d epochs; a frozen model must stop early", meta.Stopped, meta.Epoch)
	}
}

func TestSchedulerMaximisesValidationCorrelation(t *testing.T) {
	tr := &trainer{cfg: runconfig.Config{Scheduler: "ReduceLROnPlateau", SchedulerPatience: 1, SchedulerFactor: 0.5},
		meta: &RunMeta{BestValCorr: noCorrelation, LR: 1}, log: nilWriter{}}
	for i, v := range []float64{0.1, 0.2, 0.2, 0.2, 0.3} {
		tr.schedule(EpochRecord{Epoch: i + 1, ValCorr: v})
	}
	if tr.meta.BestEpoch != 5 || tr.meta.BestValCorr != 0.3 {
		t.Fatalf("best %v at %d", tr.meta.BestValCorr, tr.meta.BestEpoch)
	}
	if tr.meta.LR != 0.5 {
		t.Fatalf("lr %v: one plateau longer than the patience must halve it once", tr.meta.LR)
	}
}

type nilWriter struct{}

func (nilWriter) Write(p []byte) (int, error) { return len(p), nil }

func TestTrainNaNLossStopsWithPosition(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	// A learning rate of 1e30 blows the weights up within a step or two.
	rec := testutil.Synthetic(t)
	dir := t.TempDir()
	cfg := tinyTrainConfig()
	cfg.LR = 1e30
	_, err := Train(stdcontext.Background(), cfg, dir, TrainOptions{Data: rec, Backend: testutil.XLABackend(t)})
	if err == nil || !strings.Contains(err.Error(), "epoch 1 step") || !strings.Contains(err.Error(), "loss is") {
		t.Fatalf("NaN loss: %v", err)
	}
	// The diagnosis walks the layers from the input up.
	for _, want := range []string{"Diagnosis", "conv1 max|a|", "conv2 max|a|", "rates max|a|"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("NaN report lacks %q: %v", want, err)
		}
	}
	if _, meta, _ := latestGoodCheckpoint(dir, nil); meta != nil {
		t.Fatalf("a checkpoint was written from a NaN step")
	}
	// The run stopped before its first save: nothing is "kept".
	if !strings.Contains(err.Error(), "no checkpoint exists yet") || strings.Contains(err.Error(), "last good checkpoint is kept") {
		t.Errorf("NaN before the first checkpoint: %v", err)
	}
}

func TestTrainRejectsInvalidData(t *testing.T) {
	rec := testutil.Synthetic(t)
	rec.Train.Rates.Data[10] = float32(math.NaN())
	_, err := Train(stdcontext.Background(), tinyTrainConfig(), t.TempDir(), TrainOptions{Data: rec, Backend: testutil.XLABackend(t)})
	if err == nil || !strings.Contains(err.Error(), "firing_rate_10ms") {
		t.Fatalf("NaN in the data: %v", err)
	}
}

func TestFirstNonFiniteVariable(t *testing.T) {
	ctx := model.NewStore().RootScope()
	ctx.At("model").At("conv1").VariableWithValue("kernel", []float32{1, 2})
	v := ctx.At("model").At("bn1").VariableWithValue("weight", []float32{1, 2})
	if name := firstNonFiniteVariable(ctx.Store()); name != "" {
		t.Fatalf("finite variables reported: %s", name)
	}
	if err := v.SetValue(tensors.FromValue([]float32{1, float32(math.Inf(1))})); err != nil {
		t.Fatal(err)
	}
	if name := firstNonFiniteVariable(ctx.Store()); !strings.Contains(name, "bn1") {
		t.Fatalf("reported %q, want the bn1 weight", name)
	}
}

// TestEnginesAgreeOnTestCorrelation trains the same configuration with the same seed on the
// pure-Go and the XLA engine: float rounding differs, so the curves differ in detail, but the
// test correlation they reach must agree within noise.
func TestEnginesAgreeOnTestCorrelation(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains whole runs end to end; runs in the full tier, scripts/test.sh")
	}
	rec := testutil.Synthetic(t)
	cfg := tinyTrainConfig()
	cfg.NEpochs = 3
	var scores []float64
	for _, e := range testutil.Engines(t) {
		meta, err := Train(stdcontext.Background(), cfg, t.TempDir(), TrainOptions{Data: rec, Backend: e.Backend})
		if err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		scores = append(scores, meta.History[len(meta.History)-1].TestCorr)
		t.Logf("%s: test r %.4f, loss %.5f", e.Name, scores[len(scores)-1], meta.History[len(meta.History)-1].TrainLoss)
	}
	if d := math.Abs(scores[0] - scores[1]); d > 0.03 {
		t.Errorf("test r on XLA %.4f vs pure Go %.4f: differ by %.4f > 0.03", scores[0], scores[1], d)
	}
}

// stopAfterSteps returns a context that training cancels itself after n steps, the way a user's
// OnStep callback would, and the options that do it.
func stopAfterSteps(n int, opts TrainOptions) (stdcontext.Context, TrainOptions) {
	ctx, cancel := stdcontext.WithCancel(stdcontext.Background())
	steps := 0
	opts.OnStep = func(StepInfo) {
		if steps++; steps >= n {
			cancel()
		}
	}
	return ctx, opts
}

// TestLoadModelSaysWhenTheBestCheckpointIsMissing: LoadModel falls back to the newest good
// checkpoint when the best one is gone, and says so on the caller's writer (never on stderr).
func TestLoadModelSaysWhenTheBestCheckpointIsMissing(t *testing.T) {
	rec := testutil.Synthetic(t)
	dir := t.TempDir()
	cfg := tinyTrainConfig()
	if _, err := Train(stdcontext.Background(), cfg, dir, TrainOptions{Data: rec, Backend: testutil.GoBackend(t)}); err != nil {
		t.Fatal(err)
	}
	latest := filepath.Join(dir, checkpointsDir, checkpointDirName(2, 0))
	data, err := os.ReadFile(filepath.Join(latest, metaFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["best_epoch"] = 1 // as if epoch 1 had been the best, and then lost
	data, _ = json.Marshal(m)
	if err := os.WriteFile(filepath.Join(latest, metaFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, checkpointsDir, checkpointDirName(1, 0))); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	model, err := LoadModel(dir, LoadOptions{Backend: testutil.GoBackend(t), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(model.Dir) != "epoch-0002" {
		t.Errorf("loaded %s, want the newest good checkpoint epoch-0002", model.Dir)
	}
	if !strings.Contains(log.String(), "best checkpoint (epoch 1) is unusable") || !strings.Contains(log.String(), "epoch-0002") {
		t.Errorf("the fallback was not announced on the caller's writer: %q", log.String())
	}
}

// TestMultiStepLRAndSaveEveryEpochInTraining trains 3 epochs with milestones after epochs 1
// and 2: the learning rate halves twice, and every epoch's checkpoint is kept.
func TestMultiStepLRAndSaveEveryEpochInTraining(t *testing.T) {
	cfg := tinyTrainConfig()
	cfg.NEpochs, cfg.Scheduler, cfg.SchedulerMilestones, cfg.SchedulerFactor = 3, "MultiStepLR", []int{1, 2}, 0.5
	cfg.SaveEveryEpoch, cfg.MaxTrainWindows = true, 64
	dir := t.TempDir()
	meta, err := Train(stdcontext.Background(), cfg, dir, TrainOptions{Data: testutil.Synthetic(t), Backend: testutil.GoBackend(t), Keep: 1})
	if err != nil {
		t.Fatal(err)
	}
	var lrs []float64
	for _, h := range meta.History {
		lrs = append(lrs, h.LR)
	}
	if want := []float64{cfg.LR, cfg.LR / 2, cfg.LR / 4}; !slices.Equal(lrs, want) {
		t.Errorf("learning rates per epoch %v, want %v", lrs, want)
	}
	refs, err := listCheckpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 3 {
		t.Errorf("save_every_epoch kept %d checkpoints, want 3", len(refs))
	}
}

// TestTrainWithReferenceModelKeys trains a LinearStackedBNCNN with every model-changing key
// set (drop_p, softplus false with log_poisson, gc_bias, bias false): the training graph builds,
// the loss stays finite, and the saved run reloads with that model.
func TestTrainWithReferenceModelKeys(t *testing.T) {
	cfg := tinyTrainConfig()
	cfg.ModelType, cfg.KSizes, cfg.NEpochs, cfg.MaxTrainWindows = "LinearStackedBNCNN", []int{5, 3}, 1, 64
	cfg.DropP, cfg.GCBias, cfg.Softplus, cfg.LogPoisson, cfg.Bias = 0.2, true, new(false), true, new(false)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	meta, err := Train(stdcontext.Background(), cfg, dir, TrainOptions{Data: testutil.Synthetic(t), Backend: testutil.GoBackend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if l := meta.History[0].TrainLoss; l != l || l > 1e6 {
		t.Fatalf("training loss %v", l)
	}
	m := meta.Model
	if m.DropP != 0.2 || !m.ExpOutput || !m.DenseBias || !m.NoConvBias {
		t.Fatalf("trained model %+v", m)
	}
	model, err := LoadModel(dir, LoadOptions{Backend: testutil.GoBackend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := model.Predict(testutil.Synthetic(t).Test.Stimulus); err != nil {
		t.Fatal(err)
	}
}
