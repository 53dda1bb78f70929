package retina

import (
	stdcontext "context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph ops read best unqualified
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/progress"
	"github.com/deepretina/deepretina/metrics"
)

// ModelScope is the context scope under which every model variable lives.
const ModelScope = "model"

// noCorrelation is the best validation score before any epoch: below every Pearson r, and
// (unlike −Inf) representable in JSON.
const noCorrelation = -2.0

// TrainOptions control how (not what) a run trains; what it trains is the Config.
type TrainOptions struct {
	Backend backends.Backend    // nil: NewBackend
	Log     io.Writer           // progress and notices; nil discards them
	Data    *datasets.Recording // the recording to train on; nil: LoadData(cfg)
	Cancel  stdcontext.Context  // when done, training saves a checkpoint and returns ErrInterrupted
	Keep    int                 // checkpoints kept besides the best one (default 2)
	// CheckNaN checks every variable for NaN/Inf after each step and names the first one a step
	// broke (slower; in the spirit of PyTorch's detect_anomaly).
	CheckNaN bool
	// StopAfterSteps stops (and checkpoints) after this many training steps in this process;
	// 0 = no limit. Used to test interrupted runs.
	StopAfterSteps int
}

// ErrInterrupted is returned when training stopped on request after saving a checkpoint.
var ErrInterrupted = errors.New("training interrupted (checkpoint saved; run the same command again to resume)")

// Train trains cfg into runDir, resuming from the newest good checkpoint there if any. It
// returns the run description of the final checkpoint.
func Train(cfg Config, runDir string, opts TrainOptions) (*RunMeta, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	if opts.Keep <= 0 {
		opts.Keep = 2
	}
	if opts.Cancel == nil {
		opts.Cancel = stdcontext.Background()
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, fmt.Errorf("run folder: %w", err)
	}
	ref, meta, err := latestGoodCheckpoint(runDir, log)
	if err != nil {
		return nil, err
	}
	if meta != nil {
		if err := sameRun(meta.Config, cfg); err != nil {
			return nil, fmt.Errorf("run folder %s holds another run: %w (use another --out)", runDir, err)
		}
		meta.Config.NEpochs = cfg.NEpochs // extending a run is allowed
		if meta.Stopped != "" && (meta.Stopped != "completed" || meta.Epoch >= cfg.NEpochs) {
			fmt.Fprintf(log, "%s: already finished (%s after %d epochs)\n", runDir, meta.Stopped, meta.Epoch)
			return meta, nil
		}
		meta.Stopped = ""
	}

	rec := opts.Data
	if rec == nil {
		if rec, err = LoadData(cfg, log); err != nil {
			return nil, err
		}
	}
	if err := rec.Validate(); err != nil {
		return nil, fmt.Errorf("data %s/%s: %w", rec.Expt, rec.Stim, err)
	}
	t, err := newTrainer(cfg, rec, meta, opts)
	if err != nil {
		return nil, err
	}
	if ref != nil {
		if err := loadVariables(t.ctx, ref.Dir, false); err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "resuming %s from %s\n", runDir, filepath.Base(ref.Dir))
	}
	if err := t.build(runDir); err != nil {
		return nil, err
	}
	return t.run()
}

// sameRun reports whether two configs describe the same run (n_epochs may differ).
func sameRun(a, b Config) error {
	a.NEpochs, b.NEpochs = 0, 0
	if reflect.DeepEqual(a, b) {
		return nil
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return fmt.Errorf("its config %s differs from %s", ja, jb)
}

// trainer holds one run's state between epochs.
type trainer struct {
	cfg     Config
	opts    TrainOptions
	log     io.Writer
	meta    *RunMeta
	backend backends.Backend
	ctx     *context.Context

	trainW, testW *datasets.Windows
	trainIdx      []int
	valIdx        []int

	gomlx   *train.Trainer
	predict *context.Exec
	ckpt    *checkpointer
	steps   int // steps taken in this process
}

func newTrainer(cfg Config, rec *datasets.Recording, meta *RunMeta, opts TrainOptions) (*trainer, error) {
	history, h, w := cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2]
	if rec.Train.Stimulus.H != h || rec.Train.Stimulus.W != w {
		return nil, fmt.Errorf("config img_shape %v: the data's frames are %d×%d", cfg.ImgShape, rec.Train.Stimulus.H, rec.Train.Stimulus.W)
	}
	norm := datasets.ComputeNormStats(rec.Train.Stimulus)
	if meta != nil {
		norm = meta.NormStats
	}
	trainW, err := datasets.NewWindows(rec.Train.Stimulus, norm, rec.Train.Rates, history)
	if err != nil {
		return nil, fmt.Errorf("training data: %w", err)
	}
	testW, err := datasets.NewWindows(rec.Test.Stimulus, norm, rec.Test.Rates, history)
	if err != nil {
		return nil, fmt.Errorf("test data: %w", err)
	}
	trainIdx, valIdx := datasets.SplitTrainVal(trainW.Len(), cfg.Seed)
	if cfg.MaxTrainWindows > 0 && len(trainIdx) > cfg.MaxTrainWindows {
		trainIdx = trainIdx[:cfg.MaxTrainWindows]
	}
	if len(trainIdx) < cfg.BatchSize {
		return nil, fmt.Errorf("batch_size %d: only %d training windows", cfg.BatchSize, len(trainIdx))
	}
	backend := opts.Backend
	if backend == nil {
		if backend, err = NewBackend(opts.Log); err != nil {
			return nil, err
		}
	}
	if meta == nil {
		meta = &RunMeta{
			Format: MetaFormat, Config: cfg, Model: cfg.ModelConfig(rec.NCells()), NormStats: norm,
			CellIDs: rec.CellIDs, InputShape: [3]int{history, h, w}, FrameRate: rec.FrameRate,
			PixelSizeUM: rec.PixelSizeUM, Data: rec.Provenance, DataSource: sourceOf(rec), LR: cfg.LR, BestEpoch: 0,
			BestValCorr: noCorrelation,
		}
	}
	meta.Backend = backend.Name()
	if meta.Model.NCells != rec.NCells() {
		return nil, fmt.Errorf("checkpoint has %d cells, data has %d", meta.Model.NCells, rec.NCells())
	}
	ctx := context.New()
	if err := ctx.SetRNGStateFromSeed(int64(cfg.Seed)); err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	return &trainer{cfg: cfg, opts: opts, log: log, meta: meta, backend: backend, ctx: ctx,
		trainW: trainW, testW: testW, trainIdx: trainIdx, valIdx: valIdx}, nil
}

// build creates the GoMLX trainer, the prediction executable and the checkpointer.
func (t *trainer) build(runDir string) error {
	mcfg := t.meta.Model
	t.ctx.SetParam(optimizers.ParamLearningRate, t.meta.LR)
	modelFn := func(ctx *context.Context, _ any, inputs []*Node) []*Node {
		out := Forward(ctx.In(ModelScope), mcfg, inputs[0])
		if ctx.IsTraining(inputs[0].Graph()) && t.cfg.L2 > 0 {
			train.AddLoss(ctx, weightDecay(ctx.In(ModelScope), inputs[0].Graph(), t.cfg.L2))
		}
		return []*Node{out.Rates}
	}
	l1 := t.cfg.L1
	lossFn := func(labels, predictions []*Node) *Node {
		return PoissonLoss(predictions[0], labels[0], l1)
	}
	opt := optimizers.Adam().LearningRate(t.meta.LR).Done()
	t.gomlx = train.NewTrainer(t.backend, t.ctx, modelFn, lossFn, opt, nil, nil)
	t.setLR(t.meta.LR)
	var err error
	t.predict, err = context.NewExec(t.backend, t.ctx.Checked(false), func(ctx *context.Context, x *Node) *Node {
		return Forward(ctx.In(ModelScope), mcfg, x).Rates
	})
	if err != nil {
		return fmt.Errorf("build prediction graph: %w", err)
	}
	if t.meta.Epoch == 0 && t.meta.StepInEpoch == 0 {
		if err := t.initOutput(); err != nil {
			return err
		}
	}
	t.ckpt, err = newCheckpointer(t.ctx, runDir, t.opts.Keep)
	return err
}

// initOutput creates the model's variables (by predicting one batch) and starts the output
// layer at the training targets' statistics.
func (t *trainer) initOutput() error {
	if _, err := predictWindows(t.predict, t.trainW, t.trainIdx[:1], t.cfg.BatchSize, t.meta.Model.NCells); err != nil {
		return err
	}
	return initOutputToRates(t.ctx, t.meta.Model, t.trainW.Targets)
}

// PoissonLoss is the reference's objective: mean(pred − y·log(pred + 1e-8)) plus the activity
// penalty l1·Σ|pred|. pred, y: [B, N].
func PoissonLoss(pred, y *Node, l1 float64) *Node {
	nll := ReduceAllMean(Sub(pred, Mul(y, Log(AddScalar(pred, 1e-8)))))
	if l1 == 0 {
		return nll
	}
	return Add(nll, MulScalar(ReduceAllSum(Abs(pred)), l1))
}

// weightDecay is ½·l2·Σw² over the model's trainable variables: its gradient l2·w is what
// PyTorch's Adam(weight_decay=l2) adds.
func weightDecay(ctx *context.Context, g *Graph, l2 float64) *Node {
	var total *Node
	for v := range ctx.IterVariablesInScope() {
		if !v.Trainable {
			continue
		}
		sq := ReduceAllSum(Square(v.ValueGraph(g)))
		if total == nil {
			total = sq
		} else {
			total = Add(total, sq)
		}
	}
	if total == nil {
		return ScalarZero(g, dtypes.Float32)
	}
	return MulScalar(total, 0.5*l2)
}

// firstNonFiniteVariable names the first variable holding a NaN or Inf, or "" if none does.
func firstNonFiniteVariable(ctx *context.Context) string {
	for v := range ctx.IterVariables() {
		val := v.MustValue()
		if val.DType() != dtypes.Float32 {
			continue
		}
		for _, x := range tensors.MustCopyFlatData[float32](val) {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return v.ParameterName()
			}
		}
	}
	return ""
}

func (t *trainer) setLR(lr float64) {
	if t.ctx != nil {
		v := optimizers.LearningRateVar(t.ctx, dtypes.Float32, lr)
		v.MustSetValue(tensors.FromScalar(float32(lr)))
	}
	t.meta.LR = lr
}

// run trains epoch after epoch until n_epochs, early stopping, cancellation or a NaN.
func (t *trainer) run() (*RunMeta, error) {
	m := t.meta
	fmt.Fprintf(t.log, "training %s: %s, %d cells, input %v, %d train / %d val / %d test windows, batch %d, backend %s\n",
		t.cfg.ExpName, t.cfg.ModelType, m.Model.NCells, m.InputShape, len(t.trainIdx), len(t.valIdx), t.testW.Len(), t.cfg.BatchSize, m.Backend)
	for m.Epoch < t.cfg.NEpochs {
		start := time.Now()
		loss, interrupted, err := t.trainEpoch()
		if err != nil {
			return m, err
		}
		if interrupted {
			if _, err := t.ckpt.save(m); err != nil {
				return m, err
			}
			return m, ErrInterrupted
		}
		m.Epoch++
		m.StepInEpoch, m.LossSum = 0, 0
		rec := EpochRecord{Epoch: m.Epoch, TrainLoss: loss, LR: m.LR}
		if rec.ValCorr, err = t.score(t.trainW, t.valIdx, t.trainW.Targets); err != nil {
			return m, err
		}
		if rec.TestCorr, err = t.score(t.testW, allIndices(t.testW.Len()), t.testW.Targets); err != nil {
			return m, err
		}
		rec.Seconds = time.Since(start).Seconds()
		m.History = append(m.History, rec)
		t.schedule(rec)
		fmt.Fprintf(t.log, "epoch %3d  loss %.4f  val r %.3f  test r %.3f  lr %.2g  (%.0fs)\n",
			rec.Epoch, rec.TrainLoss, rec.ValCorr, rec.TestCorr, rec.LR, rec.Seconds)
		if m.Epoch >= t.cfg.NEpochs {
			m.Stopped = "completed"
		}
		if t.cfg.EarlyStopping > 0 && m.SinceBest >= t.cfg.EarlyStopping {
			m.Stopped = "early-stopping"
			fmt.Fprintf(t.log, "early stopping: no validation improvement for %d epochs (best %.3f at epoch %d)\n",
				m.SinceBest, m.BestValCorr, m.BestEpoch)
		}
		if _, err := t.ckpt.save(m); err != nil {
			return m, err
		}
		if m.Stopped != "" {
			break
		}
	}
	return m, nil
}

// schedule updates the best score, early-stopping counter and the plateau LR schedule, which
// maximises the validation correlation (the reference fed a correlation to a 'min' scheduler).
func (t *trainer) schedule(rec EpochRecord) {
	m := t.meta
	const threshold = 1e-4
	if rec.ValCorr > m.BestValCorr+threshold {
		m.BestValCorr, m.BestEpoch, m.TestCorrAtBest = rec.ValCorr, rec.Epoch, rec.TestCorr
		m.SinceBest, m.SinceLRChange = 0, 0
		return
	}
	m.SinceBest++
	m.SinceLRChange++
	if t.cfg.Scheduler == "ReduceLROnPlateau" && m.SinceLRChange > t.cfg.SchedulerPatience {
		t.setLR(m.LR * t.cfg.SchedulerFactor)
		m.SinceLRChange = 0
		fmt.Fprintf(t.log, "validation correlation plateaued: learning rate → %.2g\n", m.LR)
	}
}

// trainEpoch trains the batches of epoch m.Epoch+1 from m.StepInEpoch on. It returns the mean
// batch loss, or interrupted=true when asked to stop (the position is kept in meta).
func (t *trainer) trainEpoch() (loss float64, interrupted bool, err error) {
	m := t.meta
	order := datasets.EpochOrder(t.trainIdx, t.cfg.Seed, m.Epoch+1)
	nBatches := len(order) / t.cfg.BatchSize
	order = order[m.StepInEpoch*t.cfg.BatchSize : nBatches*t.cfg.BatchSize]
	cctx, cancel := stdcontext.WithCancel(t.opts.Cancel)
	defer cancel()
	bar := progress.New(t.log, fmt.Sprintf("epoch %d/%d", m.Epoch+1, t.cfg.NEpochs), nBatches, m.StepInEpoch)
	defer bar.Finish()
	h, w := m.InputShape[1], m.InputShape[2]
	for batch := range t.trainW.Batches(cctx, order, t.cfg.BatchSize, 2, true) {
		if t.stopRequested() {
			return 0, true, nil
		}
		x := tensors.FromFlatDataAndDimensions(batch.X, t.cfg.BatchSize, m.InputShape[0], h, w)
		y := tensors.FromFlatDataAndDimensions(batch.Y, t.cfg.BatchSize, m.Model.NCells)
		out, err := t.gomlx.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
		if err != nil {
			return 0, false, fmt.Errorf("epoch %d step %d: %w", m.Epoch+1, m.StepInEpoch+1, err)
		}
		l := scalarOf(out[0])
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return 0, false, fmt.Errorf("epoch %d step %d: loss is %v; stopping, %s (lower lr, or rerun with --check-nan to stop at the step that first breaks a weight). Diagnosis on this batch: %s",
				m.Epoch+1, m.StepInEpoch+1, l, t.ckpt.keptNote(), t.diagnoseNonFinite(x))
		}
		if t.opts.CheckNaN {
			if name := firstNonFiniteVariable(t.ctx); name != "" {
				return 0, false, fmt.Errorf("epoch %d step %d: variable %s became NaN/Inf in this step (loss %v); stopping, %s",
					m.Epoch+1, m.StepInEpoch+1, name, l, t.ckpt.keptNote())
			}
		}
		m.LossSum += l
		m.StepInEpoch++
		t.steps++
		status := fmt.Sprintf("loss %.4f", m.LossSum/float64(m.StepInEpoch))
		if n := len(m.History); n > 0 {
			status += fmt.Sprintf("  val r %.3f (epoch %d)", m.History[n-1].ValCorr, m.History[n-1].Epoch)
		}
		bar.Step(status)
	}
	if t.stopRequested() && m.StepInEpoch < nBatches {
		return 0, true, nil
	}
	return m.LossSum / float64(max(1, m.StepInEpoch)), false, nil
}

func (t *trainer) stopRequested() bool {
	if t.opts.StopAfterSteps > 0 && t.steps >= t.opts.StopAfterSteps {
		return true
	}
	return t.opts.Cancel.Err() != nil
}

// score is the mean over cells of the Pearson correlation between predictions and targets on
// the windows idx.
func (t *trainer) score(w *datasets.Windows, idx []int, targets datasets.Matrix) (float64, error) {
	pred, err := predictWindows(t.predict, w, idx, t.cfg.BatchSize, t.meta.Model.NCells)
	if err != nil {
		return 0, err
	}
	n := t.meta.Model.NCells
	target := make([]float32, len(idx)*n)
	for i, j := range idx {
		w.CopyY(target[i*n:(i+1)*n], j)
	}
	return metrics.Mean(metrics.PearsonPerCell(pred.Data, target, n)), nil
}

// predictWindows runs the model on windows idx in fixed-size batches (the last one padded) and
// returns the rates [len(idx), nCells].
func predictWindows(exec *context.Exec, w *datasets.Windows, idx []int, batchSize, nCells int) (datasets.Matrix, error) {
	out := datasets.NewMatrix(len(idx), nCells)
	x := make([]float32, batchSize*w.XSize())
	for start := 0; start < len(idx); start += batchSize {
		end := min(start+batchSize, len(idx))
		clear(x)
		w.Fill(x, nil, idx[start:end])
		res, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, batchSize, w.History, w.Stim.H, w.Stim.W))
		if err != nil {
			return out, fmt.Errorf("predict: %w", err)
		}
		rates := tensors.MustCopyFlatData[float32](res[0])
		copy(out.Data[start*nCells:end*nCells], rates[:(end-start)*nCells])
	}
	return out, nil
}

func allIndices(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

func scalarOf(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	}
	return math.NaN()
}
