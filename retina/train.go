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
	"github.com/deepretina/deepretina/retina/runconfig"
)

// ModelScope is the scope (of a GoMLX model.Store) under which every model variable lives.
const ModelScope = nn.ModelScope

// noCorrelation is the best validation score before any epoch: below every Pearson r, and
// (unlike −Inf) representable in JSON.
const noCorrelation = -2.0

// trainer holds one run's state between epochs.
type trainer struct {
	cfg     runconfig.Config
	opts    TrainOptions
	log     io.Writer
	meta    *RunMeta
	backend compute.Backend
	store   *model.Store
	heads   []*head // one per recording: one in a single-recording run

	ckpt  *checkpointer
	steps int // steps taken in this process
}

// head is one recording of a run: its data on the device and the graphs that train and score
// the core with its readout.
type head struct {
	name          string // the recording's name in a multi-recording run; "" otherwise
	mcfg          nn.ModelConfig
	norm          datasets.NormStats
	trainW, testW *datasets.Windows
	trainIdx      []int
	valIdx        []int
	// trainDev, testDev hold the stimuli and responses on the device for the whole run.
	trainDev, testDev *residentWindows

	step    *model.Exec // one Adam step of the core and this readout: (stim, targets, starts) → loss
	predict *model.Exec
	// With a frozen core (readout_only): the core's features in evaluation mode, (stim, starts)
	// → [B, C2·H2·W2], and one Adam step of this readout alone, (features, targets, starts) →
	// loss. The core's variables are in neither training graph, so they cannot change.
	features, readoutStep *model.Exec
}

func newTrainer(cfg runconfig.Config, recs []*datasets.Recording, meta *RunMeta, opts TrainOptions) (*trainer, error) {
	backend := opts.Backend
	if backend == nil {
		var err error
		if backend, err = DefaultBackend(opts.Log); err != nil {
			return nil, err
		}
	}
	if meta == nil {
		meta = newRunMeta(cfg, recs)
	}
	meta.Backend = backend.Name()
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(int64(cfg.Seed)); err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	t := &trainer{cfg: cfg, opts: opts, log: log, meta: meta, backend: backend, store: store}
	for i, rec := range recs {
		h, err := t.newHead(i, rec)
		if err != nil {
			t.free()
			if len(meta.Recordings) > 0 {
				err = fmt.Errorf("recording %q: %w", meta.Recordings[i].Name, err)
			}
			return nil, err
		}
		t.heads = append(t.heads, h)
	}
	return t, nil
}

// newHead prepares recording i of the run: its windows, its training and validation split
// and its data on the device.
func (t *trainer) newHead(i int, rec *datasets.Recording) (*head, error) {
	cfg, meta := t.cfg, t.meta
	h := &head{mcfg: meta.Model, norm: meta.NormStats}
	if len(meta.Recordings) > 0 {
		r := meta.Recordings[i]
		h.name, h.mcfg, h.norm = r.Name, r.Model, r.NormStats
	}
	history, height, width := cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2]
	if rec.Train.Stimulus.H != height || rec.Train.Stimulus.W != width {
		return nil, fmt.Errorf("config img_shape %v: the data's frames are %d×%d", cfg.ImgShape, rec.Train.Stimulus.H, rec.Train.Stimulus.W)
	}
	if h.mcfg.NCells != rec.NCells() {
		return nil, fmt.Errorf("checkpoint has %d cells, data has %d", h.mcfg.NCells, rec.NCells())
	}
	var err error
	if h.trainW, err = datasets.NewWindows(rec.Train.Stimulus, h.norm, rec.Train.Rates, history); err != nil {
		return nil, fmt.Errorf("training data: %w", err)
	}
	if h.testW, err = datasets.NewWindows(rec.Test.Stimulus, h.norm, rec.Test.Rates, history); err != nil {
		return nil, fmt.Errorf("test data: %w", err)
	}
	h.trainIdx, h.valIdx = datasets.SplitTrainVal(h.trainW.Len(), cfg.Seed)
	if cfg.MaxTrainWindows > 0 && len(h.trainIdx) > cfg.MaxTrainWindows {
		h.trainIdx = h.trainIdx[:cfg.MaxTrainWindows]
	}
	if len(h.trainIdx) < cfg.BatchSize {
		return nil, fmt.Errorf("batch_size %d: only %d training windows", cfg.BatchSize, len(h.trainIdx))
	}
	if h.trainDev, err = uploadWindows(t.backend, h.trainW, 0); err != nil {
		return nil, fmt.Errorf("training data: %w", err)
	}
	if h.testDev, err = uploadWindows(t.backend, h.testW, 0); err != nil {
		h.free()
		return nil, fmt.Errorf("test data: %w", err)
	}
	return h, nil
}

// free releases the run's device memory.
func (t *trainer) free() {
	for _, h := range t.heads {
		h.free()
	}
}

func (h *head) free() {
	for _, r := range []*residentWindows{h.trainDev, h.testDev} {
		if r != nil {
			r.free()
		}
	}
}

// build creates the training steps and prediction executables of every recording, and the
// checkpointer.
func (t *trainer) build(runDir string) error {
	history := t.meta.InputShape[0]
	t.store.SetParam(optimizer.ParamLearningRate, t.meta.LR)
	l1, l2 := t.cfg.L1, t.cfg.L2
	opt := newAdam(t.meta.LR)
	for _, hd := range t.heads {
		// inputs: the resident stimulus [T,H,W], the resident responses [T,N] and the window
		// starts [B]; the batch and its targets are gathered on the device. The step is a plain
		// model.Exec rather than GoMLX's train.Trainer because since GoMLX v0.28 the Trainer takes
		// ownership of its input tensors and frees them after the step, and ours stay resident.
		mcfg, norm, decay := hd.mcfg, hd.norm, decayFilter(hd.mcfg, false)
		var err error
		hd.step, err = newTrainStep(t.backend, t.store, opt, func(scope *model.Scope, inputs []*Node) {
			stim, targets, starts := inputs[0], inputs[1], inputs[2]
			x, y := gatherWindows(stim, starts, history, norm), gatherTargets(targets, starts, history)
			addTrainingLoss(scope, mcfg, x, y, l1, l2, decay)
		})
		if err != nil {
			return fmt.Errorf("build training step: %w", err)
		}
		if t.cfg.ReadoutOnly {
			if err := t.buildFrozen(hd, opt); err != nil {
				return err
			}
		}
		if hd.predict, err = newResidentPredictor(t.backend, t.store, mcfg, norm); err != nil {
			return fmt.Errorf("build prediction graph: %w", err)
		}
	}
	t.setLR(t.meta.LR)
	if t.meta.Epoch == 0 && t.meta.StepInEpoch == 0 {
		if err := t.initOutput(); err != nil {
			return err
		}
	}
	var err error
	t.ckpt, err = newCheckpointer(t.store, runDir, t.opts.Keep)
	return err
}

// initOutput creates the model's variables (by predicting one batch of each recording) and
// starts each readout's output layer at its training targets' statistics.
func (t *trainer) initOutput() error {
	for _, h := range t.heads {
		if _, err := predictResident(h.predict, h.trainDev, h.trainIdx[:1], t.cfg.BatchSize, h.mcfg.NCells); err != nil {
			return err
		}
		if err := nn.InitOutputToRates(t.store.RootScope(), h.mcfg, h.trainW.Targets); err != nil {
			return err
		}
	}
	return nil
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
//
// decay (nil: all) chooses the variables the weight decay covers, by path.
func addTrainingLoss(ctx *model.Scope, mcfg nn.ModelConfig, x, y *Node, l1, l2 float64, decay func(path string) bool) *Node {
	out := nn.Forward(ctx.At(ModelScope), mcfg, x)
	train.AddMainLoss(PoissonLoss(out.Rates, y, l1))
	if l2 > 0 {
		train.AddRegularizationLoss(weightDecay(ctx.At(ModelScope), x.Graph(), l2, decay))
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

// weightDecay is ½·l2·Σw² over the model's trainable variables (those whose path keep accepts;
// nil: all): its gradient l2·w is what PyTorch's Adam(weight_decay=l2) adds.
func weightDecay(ctx *model.Scope, g *Graph, l2 float64, keep func(path string) bool) *Node {
	var total *Node
	for v := range ctx.IterVariables() {
		if !v.Trainable || (keep != nil && !keep(v.Path())) {
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

// multiStep applies MultiStepLR after an epoch (see runconfig.Config.MultiStepFactor).
func (t *trainer) multiStep(rec EpochRecord) {
	if f := t.cfg.MultiStepFactor(rec.Epoch); f != 1 {
		t.setLR(t.meta.LR * f)
		fmt.Fprintf(t.log, "MultiStepLR milestone (epoch %d): learning rate → %.2g\n", rec.Epoch, t.meta.LR)
	}
}

// run trains epoch after epoch until n_epochs, early stopping, cancellation of ctx or a NaN.
func (t *trainer) run(ctx stdcontext.Context) (*RunMeta, error) {
	m := t.meta
	t.logStart()
	for m.Epoch < t.cfg.NEpochs {
		start := time.Now()
		t.unfreeze()
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
		sent, err := t.scoreEpoch(&rec)
		if err != nil {
			return m, err
		}
		rec.Seconds = time.Since(start).Seconds()
		rec.HostToDevice = work.sent + sent
		m.History = append(m.History, rec)
		t.schedule(rec)
		fmt.Fprintf(t.log, "epoch %3d  loss %.4f  val r %.3f  test r %.3f  lr %.2g  (%.1fs, host→device %s)\n",
			rec.Epoch, rec.TrainLoss, rec.ValCorr, rec.TestCorr, rec.LR, rec.Seconds, progress.FormatBytes(rec.HostToDevice))
		for _, r := range rec.Recordings {
			fmt.Fprintf(t.log, "           %-16s val r %.3f  test r %.3f\n", r.Name, r.ValCorr, r.TestCorr)
		}
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

// logStart says what is trained on what.
func (t *trainer) logStart() {
	m := t.meta
	var bytes int64
	for _, h := range t.heads {
		bytes += h.trainDev.bytes + h.testDev.bytes
	}
	if len(m.Recordings) == 0 {
		h := t.heads[0]
		fmt.Fprintf(t.log, "training %s: %s, %d cells, input %v, %d train / %d val / %d test windows, batch %d, backend %s\n",
			t.cfg.ExpName, t.cfg.ModelType, m.Model.NCells, m.InputShape, len(h.trainIdx), len(h.valIdx), h.testW.Len(), t.cfg.BatchSize, m.Backend)
	} else {
		fmt.Fprintf(t.log, "training %s: %s core, %s readouts, input %v, %d recordings, batch %d, backend %s\n",
			t.cfg.ExpName, t.cfg.ModelType, orDense(t.cfg.Readout), m.InputShape, len(t.heads), t.cfg.BatchSize, m.Backend)
		for _, h := range t.heads {
			fmt.Fprintf(t.log, "  %-16s %d cells, %d train / %d val / %d test windows\n", h.name, h.mcfg.NCells, len(h.trainIdx), len(h.valIdx), h.testW.Len())
		}
	}
	fmt.Fprintf(t.log, "stimulus and responses resident on the device: %s copied once\n", progress.FormatBytes(bytes))
}

// scoreEpoch sets the validation and test scores of an epoch record: of each recording (a
// multi-recording run's rec.Recordings), and their means. It returns the bytes it sent to the
// device.
func (t *trainer) scoreEpoch(rec *EpochRecord) (int64, error) {
	var sent int64
	for _, h := range t.heads {
		val, valSent, err := t.score(h, h.trainDev, h.valIdx)
		if err != nil {
			return sent, err
		}
		test, testSent, err := t.score(h, h.testDev, allIndices(h.testW.Len()))
		if err != nil {
			return sent, err
		}
		sent += valSent + testSent
		// The mean over recordings; with one recording exactly its score (x/1 = x, 0 + x = x).
		rec.ValCorr += val / float64(len(t.heads))
		rec.TestCorr += test / float64(len(t.heads))
		if len(t.meta.Recordings) > 0 {
			rec.Recordings = append(rec.Recordings, RecordingScore{Name: h.name, ValCorr: val, TestCorr: test})
		}
	}
	return sent, nil
}

// schedule updates the best score, early-stopping counter and the plateau LR schedule, which
// maximises the validation correlation (the reference fed a correlation to a 'min' scheduler).
func (t *trainer) schedule(rec EpochRecord) {
	t.multiStep(rec) // MultiStepLR, whatever the validation score
	m := t.meta
	if plateauImproved(rec.ValCorr, m.BestValCorr) {
		m.BestValCorr, m.BestEpoch, m.TestCorrAtBest = rec.ValCorr, rec.Epoch, rec.TestCorr
		for i, r := range rec.Recordings {
			m.Recordings[i].BestValCorr, m.Recordings[i].TestCorrAtBest = r.ValCorr, r.TestCorr
		}
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
	plan := t.epochPlan(m.Epoch + 1)
	nBatches := len(plan)
	frozen := t.frozen()
	bar := progress.New(t.log, fmt.Sprintf("epoch %d/%d", m.Epoch+1, t.cfg.NEpochs), nBatches, m.StepInEpoch)
	defer bar.Finish()
	for m.StepInEpoch < nBatches {
		if ctx.Err() != nil {
			return 0, work, true, nil
		}
		stepStart := time.Now()
		h := t.heads[plan[m.StepInEpoch].head]
		starts := startsTensor(plan[m.StepInEpoch].windows, bs)
		work.sent += int64(bs) * 4
		loss, err := t.trainStep(h, starts, frozen)
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
				m.Epoch+1, m.StepInEpoch+1, l, t.ckpt.keptNote(), t.diagnoseNonFinite(h, starts))
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

// trainStep takes one Adam step on a batch of recording h (its windows' starts): of the core
// and h's readout, or of h's readout alone on a frozen core's features.
func (t *trainer) trainStep(h *head, starts *tensors.Tensor, frozen bool) (*tensors.Tensor, error) {
	if !frozen {
		return h.step.Call1(h.trainDev.stim, h.trainDev.targets, starts)
	}
	features, err := h.features.Call1(h.trainDev.stim, starts)
	if err != nil {
		return nil, err
	}
	defer features.FinalizeAll()
	return h.readoutStep.Call1(features, h.trainDev.targets, starts)
}

// score is the mean over cells of the Pearson correlation between recording h's predictions
// and targets on the windows idx of r, and the bytes it sent to the device.
func (t *trainer) score(h *head, r *residentWindows, idx []int) (float64, int64, error) {
	pred, err := predictResident(h.predict, r, idx, t.cfg.BatchSize, h.mcfg.NCells)
	if err != nil {
		return 0, 0, err
	}
	n := h.mcfg.NCells
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
