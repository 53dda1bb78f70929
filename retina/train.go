package retina

import (
	stdcontext "context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph ops read best unqualified
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/progress"
	"github.com/deepretina/deepretina/metrics"
	"github.com/deepretina/deepretina/retina/nn"
)

// ModelScope is the scope (of a GoMLX model.Store) under which every model variable lives.
const ModelScope = nn.ModelScope

// noCorrelation is the best validation score before any epoch: below every Pearson r, and
// (unlike −Inf) representable in JSON.
const noCorrelation = -2.0

// trainer holds one run's state between epochs.
type trainer struct {
	cfg     Config
	opts    TrainOptions
	log     io.Writer
	meta    *RunMeta
	backend compute.Backend
	store   *model.Store

	trainW, testW *datasets.Windows
	trainIdx      []int
	valIdx        []int
	// trainDev, testDev hold the stimuli and responses on the device for the whole run.
	trainDev, testDev *residentWindows

	step    *model.Exec // one Adam step: (stim, targets, starts) → loss
	predict *model.Exec
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
		if backend, err = DefaultBackend(opts.Log); err != nil {
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
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(int64(cfg.Seed)); err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	t := &trainer{cfg: cfg, opts: opts, log: log, meta: meta, backend: backend, store: store,
		trainW: trainW, testW: testW, trainIdx: trainIdx, valIdx: valIdx}
	if t.trainDev, err = uploadWindows(backend, trainW, 0); err != nil {
		return nil, fmt.Errorf("training data: %w", err)
	}
	if t.testDev, err = uploadWindows(backend, testW, 0); err != nil {
		t.free()
		return nil, fmt.Errorf("test data: %w", err)
	}
	return t, nil
}

// free releases the run's device memory.
func (t *trainer) free() {
	for _, r := range []*residentWindows{t.trainDev, t.testDev} {
		if r != nil {
			r.free()
		}
	}
}

// build creates the GoMLX trainer, the prediction executable and the checkpointer.
func (t *trainer) build(runDir string) error {
	mcfg := t.meta.Model
	history, norm := t.meta.InputShape[0], t.meta.NormStats
	t.store.SetParam(optimizer.ParamLearningRate, t.meta.LR)
	l1, l2 := t.cfg.L1, t.cfg.L2
	opt := newAdam(t.meta.LR)
	// inputs: the resident stimulus [T,H,W], the resident responses [T,N] and the window
	// starts [B]; the batch and its targets are gathered on the device. The step is a plain
	// model.Exec rather than GoMLX's train.Trainer because since GoMLX v0.28 the Trainer takes
	// ownership of its input tensors and frees them after the step, and ours stay resident.
	var err error
	t.step, err = newTrainStep(t.backend, t.store, opt, func(scope *model.Scope, inputs []*Node) {
		stim, targets, starts := inputs[0], inputs[1], inputs[2]
		x, y := gatherWindows(stim, starts, history, norm), gatherTargets(targets, starts, history)
		addTrainingLoss(scope, mcfg, x, y, l1, l2)
	})
	if err != nil {
		return fmt.Errorf("build training step: %w", err)
	}
	t.setLR(t.meta.LR)
	if t.predict, err = newResidentPredictor(t.backend, t.store, mcfg, norm); err != nil {
		return fmt.Errorf("build prediction graph: %w", err)
	}
	if t.meta.Epoch == 0 && t.meta.StepInEpoch == 0 {
		if err := t.initOutput(); err != nil {
			return err
		}
	}
	t.ckpt, err = newCheckpointer(t.store, runDir, t.opts.Keep)
	return err
}

// initOutput creates the model's variables (by predicting one batch) and starts the output
// layer at the training targets' statistics.
func (t *trainer) initOutput() error {
	if _, err := predictResident(t.predict, t.trainDev, t.trainIdx[:1], t.cfg.BatchSize, t.meta.Model.NCells); err != nil {
		return err
	}
	return nn.InitOutputToRates(t.store.RootScope(), t.meta.Model, t.trainW.Targets)
}

// newTrainStep compiles one optimiser step on store's variables: objective builds the model in
// training mode on the step's inputs and adds its losses (train.AddMainLoss,
// train.AddRegularizationLoss); the step applies opt to their sum and returns it (a scalar).
// It is a plain model.Exec, not GoMLX's train.Trainer, because since GoMLX v0.28 the Trainer
// takes ownership of its input tensors and frees them after each step, and the training data
// here stays resident on the device for the whole run. Calling the exec never frees its inputs.
func newTrainStep(backend compute.Backend, store *model.Store, opt optimizer.Interface,
	objective func(scope *model.Scope, inputs []*Node)) (*model.Exec, error) {
	return model.NewExec(backend, store, func(scope *model.Scope, inputs []*Node) *Node {
		g := inputs[0].Graph()
		store.SetTraining(g, true)
		objective(scope, inputs)
		loss := train.TotalLoss(g)
		if loss == nil {
			panic("training step: the objective added no loss")
		}
		opt.UpdateGraph(scope, g, loss)
		train.ExecPerStepUpdateGraphFn(g)
		return loss
	})
}

// adamEpsilon is PyTorch's default (GoMLX's is 1e-7), so that a run here follows the
// reference's optimiser step for step.
const adamEpsilon = 1e-8

// newAdam is the reference's optimiser: Adam with PyTorch's defaults (betas 0.9, 0.999; eps
// 1e-8). Its weight decay, torch's Adam(weight_decay=l2), is the gradient of the loss term that
// addTrainingLoss adds.
func newAdam(lr float64) optimizer.Interface {
	return optimizer.Adam().LearningRate(lr).Epsilon(adamEpsilon).Done()
}

// addTrainingLoss runs the model in ctx (training mode) on x [B, History, H, W] and adds the
// reference's objective for targets y [B, N] to the graph's losses (train.AddMainLoss and,
// for the weight decay, train.AddRegularizationLoss): the Poisson loss, the
// activity penalty l1·Σ|pred| and ½·l2·Σw², whose gradient l2·w is the weight decay of the
// reference's Adam. It returns the rates [B, N].
func addTrainingLoss(ctx *model.Scope, mcfg nn.ModelConfig, x, y *Node, l1, l2 float64) *Node {
	out := nn.Forward(ctx.At(ModelScope), mcfg, x)
	train.AddMainLoss(PoissonLoss(out.Rates, y, l1))
	if l2 > 0 {
		train.AddRegularizationLoss(weightDecay(ctx.At(ModelScope), x.Graph(), l2))
	}
	return out.Rates
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
func weightDecay(ctx *model.Scope, g *Graph, l2 float64) *Node {
	var total *Node
	for v := range ctx.IterVariables() {
		if !v.Trainable {
			continue
		}
		sq := ReduceAllSum(Square(v.NodeValue(g)))
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
func firstNonFiniteVariable(store *model.Store) string {
	for v := range store.IterVariables() {
		val := v.MustValue()
		if val.DType() != dtypes.Float32 {
			continue
		}
		for _, x := range tensors.MustCopyFlatData[float32](val) {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return v.Path()
			}
		}
	}
	return ""
}

func (t *trainer) setLR(lr float64) {
	if t.store != nil {
		v := optimizer.LearningRateVar(t.store.RootScope(), dtypes.Float32, lr)
		if err := v.SetValue(tensors.FromScalar(float32(lr))); err != nil {
			panic(err) // a float32 scalar always fits the learning-rate variable
		}
	}
	t.meta.LR = lr
}

// run trains epoch after epoch until n_epochs, early stopping, cancellation of ctx or a NaN.
func (t *trainer) run(ctx stdcontext.Context) (*RunMeta, error) {
	m := t.meta
	fmt.Fprintf(t.log, "training %s: %s, %d cells, input %v, %d train / %d val / %d test windows, batch %d, backend %s\n",
		t.cfg.ExpName, t.cfg.ModelType, m.Model.NCells, m.InputShape, len(t.trainIdx), len(t.valIdx), t.testW.Len(), t.cfg.BatchSize, m.Backend)
	fmt.Fprintf(t.log, "stimulus and responses resident on the device: %s copied once\n", progress.FormatBytes(t.trainDev.bytes+t.testDev.bytes))
	for m.Epoch < t.cfg.NEpochs {
		start := time.Now()
		loss, work, interrupted, err := t.trainEpoch(ctx)
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
		rec := EpochRecord{Epoch: m.Epoch, TrainLoss: loss, LR: m.LR, TrainSteps: work.steps,
			TrainSeconds: work.seconds, CompileSeconds: work.compileSeconds}
		var valSent, testSent int64
		if rec.ValCorr, valSent, err = t.score(t.trainDev, t.valIdx); err != nil {
			return m, err
		}
		if rec.TestCorr, testSent, err = t.score(t.testDev, allIndices(t.testW.Len())); err != nil {
			return m, err
		}
		rec.Seconds = time.Since(start).Seconds()
		rec.HostToDevice = work.sent + valSent + testSent
		m.History = append(m.History, rec)
		t.schedule(rec)
		fmt.Fprintf(t.log, "epoch %3d  loss %.4f  val r %.3f  test r %.3f  lr %.2g  (%.1fs, host→device %s)\n",
			rec.Epoch, rec.TrainLoss, rec.ValCorr, rec.TestCorr, rec.LR, rec.Seconds, progress.FormatBytes(rec.HostToDevice))
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
		if t.opts.OnEpoch != nil {
			t.opts.OnEpoch(rec)
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
	t.multiStep(rec) // MultiStepLR, whatever the validation score
	m := t.meta
	if plateauImproved(rec.ValCorr, m.BestValCorr) {
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

// plateauThreshold is PyTorch's ReduceLROnPlateau default, in its default relative mode.
const plateauThreshold = 1e-4

// plateauImproved is PyTorch's ReduceLROnPlateau test for mode "max", threshold_mode "rel":
// a score improves on the best one when it exceeds best·(1 + threshold).
func plateauImproved(score, best float64) bool {
	return score > best*(1+plateauThreshold)
}

// epochWork is what the training steps of one epoch cost in this process.
type epochWork struct {
	steps          int
	seconds        float64
	compileSeconds float64 // the process's first step, which compiles the training graph
	sent           int64   // bytes sent to the device
}

// trainEpoch trains the batches of epoch m.Epoch+1 from m.StepInEpoch on. It returns the mean
// batch loss and the work done, or interrupted=true when asked to stop (the position is kept in
// meta).
func (t *trainer) trainEpoch(ctx stdcontext.Context) (loss float64, work epochWork, interrupted bool, err error) {
	m := t.meta
	bs := t.cfg.BatchSize
	order := t.cfg.epochOrder(t.trainIdx, m.Epoch+1) // random, or in time order with shuffle false
	nBatches := len(order) / bs
	bar := progress.New(t.log, fmt.Sprintf("epoch %d/%d", m.Epoch+1, t.cfg.NEpochs), nBatches, m.StepInEpoch)
	defer bar.Finish()
	for m.StepInEpoch < nBatches {
		if ctx.Err() != nil {
			return 0, work, true, nil
		}
		stepStart := time.Now()
		starts := startsTensor(order[m.StepInEpoch*bs:(m.StepInEpoch+1)*bs], bs)
		work.sent += int64(bs) * 4
		loss, err := t.step.Call1(t.trainDev.stim, t.trainDev.targets, starts)
		if err != nil {
			return 0, work, false, fmt.Errorf("epoch %d step %d: %w", m.Epoch+1, m.StepInEpoch+1, err)
		}
		l := scalarOf(loss)
		elapsed := time.Since(stepStart).Seconds()
		if t.steps == 0 {
			work.compileSeconds = elapsed
		}
		work.seconds += elapsed
		work.steps++
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return 0, work, false, fmt.Errorf("epoch %d step %d: loss is %v; stopping, %s (lower lr, or rerun with --check-nan to stop at the step that first breaks a weight). Diagnosis on this batch: %s",
				m.Epoch+1, m.StepInEpoch+1, l, t.ckpt.keptNote(), t.diagnoseNonFinite(starts))
		}
		if t.opts.CheckNaN {
			if name := firstNonFiniteVariable(t.store); name != "" {
				return 0, work, false, fmt.Errorf("epoch %d step %d: variable %s became NaN/Inf in this step (loss %v); stopping, %s",
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
		if t.opts.OnStep != nil {
			t.opts.OnStep(StepInfo{Epoch: m.Epoch + 1, Step: m.StepInEpoch, Steps: nBatches, Loss: l,
				MeanLoss: m.LossSum / float64(m.StepInEpoch)})
		}
	}
	return m.LossSum / float64(max(1, m.StepInEpoch)), work, false, nil
}

// score is the mean over cells of the Pearson correlation between predictions and targets on
// the windows idx of r, and the bytes it sent to the device.
func (t *trainer) score(r *residentWindows, idx []int) (float64, int64, error) {
	pred, err := predictResident(t.predict, r, idx, t.cfg.BatchSize, t.meta.Model.NCells)
	if err != nil {
		return 0, 0, err
	}
	n := t.meta.Model.NCells
	target := make([]float32, len(idx)*n)
	for i, j := range idx {
		r.w.CopyY(target[i*n:(i+1)*n], j)
	}
	sent := int64(4 * t.cfg.BatchSize * ((len(idx) + t.cfg.BatchSize - 1) / t.cfg.BatchSize))
	return metrics.Mean(metrics.PearsonPerCell(pred.Data, target, n)), sent, nil
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
