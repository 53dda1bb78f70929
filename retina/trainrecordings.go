package retina

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/internal/tensorconv"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// What training a multi-recording run adds to a single one (train.go trains both: a single
// recording is one head): the run description of several recordings, the order of batches
// across them, the frozen core of fine-tuning, and loading a core from another run.

// newRunMeta is the description of a new run on recs (one per RecordingSpecs entry in a
// multi-recording run). Each recording is z-scored with its own training stimulus' statistics.
func newRunMeta(cfg runconfig.Config, recs []*datasets.Recording) *RunMeta {
	history, h, w := cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2]
	rec := recs[0]
	meta := &RunMeta{
		Format: MetaFormat, Config: cfg, Model: cfg.ModelConfig(rec.NCells()), NormStats: datasets.ComputeNormStats(rec.Train.Stimulus),
		CellIDs: rec.CellIDs, InputShape: [3]int{history, h, w}, FrameRate: rec.FrameRate,
		PixelSizeUM: rec.PixelSizeUM, Data: rec.Provenance, DataSource: sourceOf(rec), LR: cfg.LR, BestEpoch: 0,
		BestValCorr: noCorrelation,
	}
	if !cfg.MultiRecording() {
		return meta
	}
	for i, spec := range cfg.RecordingSpecs() {
		rec := recs[i]
		mcfg := cfg.ModelConfig(rec.NCells())
		mcfg.ReadoutScope = nn.ReadoutScopeOf(spec.Name)
		mcfg.RecordingBNStats = cfg.RecordingBNStats()
		meta.Recordings = append(meta.Recordings, RecordingMeta{
			Name: spec.Name, Spec: spec, Model: mcfg, NormStats: datasets.ComputeNormStats(rec.Train.Stimulus),
			CellIDs: rec.CellIDs, InputShape: meta.InputShape, FrameRate: rec.FrameRate, PixelSizeUM: rec.PixelSizeUM,
			Data: rec.Provenance, DataSource: sourceOf(rec), BestValCorr: noCorrelation,
		})
	}
	meta.Model, meta.NormStats = meta.Recordings[0].Model, meta.Recordings[0].NormStats
	if !cfg.ReadoutOnly {
		meta.CoreRecordings = ownRecordings(meta)
	}
	return meta
}

// ownRecordings lists the run's recordings as core recordings.
func ownRecordings(meta *RunMeta) []CoreRecording {
	out := make([]CoreRecording, len(meta.Recordings))
	for i, r := range meta.Recordings {
		out[i] = CoreRecording{Name: r.Name, Data: r.Data, DataSource: r.DataSource}
	}
	return out
}

func orDense(readout string) string {
	if readout == "" {
		return nn.ReadoutDense
	}
	return readout
}

// planned is one batch of an epoch: a recording and the starts of its windows.
type planned struct {
	head    int
	windows []int
}

// epochPlan lists the batches of an epoch over every recording: each recording's training
// windows in its own order (its own shuffle, or time order with shuffle false), in full
// batches, the recordings interleaved evenly (the one furthest behind its share goes next), so
// that each stretch of an epoch sees every recording in proportion to its data. It depends
// only on the config and the epoch, so an epoch resumed mid-way continues the same plan. With
// one recording it is the single-recording run's order, batch after batch.
func (t *trainer) epochPlan(epoch int) []planned {
	bs := t.cfg.BatchSize
	orders := make([][]int, len(t.heads))
	counts, done := make([]int, len(t.heads)), make([]int, len(t.heads))
	total := 0
	for i, h := range t.heads {
		c := t.cfg
		c.Seed += uint64(i) * 0x9e3779b97f4a7c15 // another shuffle per recording; recording 0 keeps the run's
		orders[i] = c.EpochOrder(h.trainIdx, epoch)
		counts[i] = len(orders[i]) / bs
		total += counts[i]
	}
	plan := make([]planned, 0, total)
	for len(plan) < total {
		next := -1
		for i := range t.heads {
			// (done_i+1)/count_i < (done_next+1)/count_next, in integers.
			if done[i] < counts[i] && (next < 0 || (done[i]+1)*counts[next] < (done[next]+1)*counts[i]) {
				next = i
			}
		}
		j := done[next]
		plan = append(plan, planned{head: next, windows: orders[next][j*bs : (j+1)*bs]})
		done[next]++
	}
	return plan
}

// decayFilter chooses the variables the weight decay of a recording's step covers: every
// model variable in a single-recording run; the core's and this recording's readout's in a
// multi-recording run (the other readouts take no part in the step, and PyTorch's Adam skips
// parameters without a gradient); this readout's alone with a frozen core.
func decayFilter(mcfg nn.ModelConfig, frozen bool) func(path string) bool {
	if mcfg.ReadoutScope == "" {
		return nil
	}
	own := "/" + ModelScope + "/" + mcfg.ReadoutScope + "/"
	readouts := "/" + ModelScope + "/" + nn.ReadoutPrefix + "/"
	return func(path string) bool {
		if strings.HasPrefix(path, own) {
			return true
		}
		return !frozen && !strings.HasPrefix(path, readouts)
	}
}

// frozen reports whether the epoch being trained keeps the core frozen: readout_only, before
// unfreeze_after epochs (if any) are done.
func (t *trainer) frozen() bool {
	return t.cfg.ReadoutOnly && (t.cfg.UnfreezeAfter == 0 || t.meta.Epoch < t.cfg.UnfreezeAfter)
}

// unfreeze notes, at the start of the first epoch that trains a previously frozen core, that
// the core is now trained on this run's recordings too.
func (t *trainer) unfreeze() {
	m := t.meta
	if !t.cfg.ReadoutOnly || t.frozen() || m.StepInEpoch > 0 {
		return
	}
	for _, r := range ownRecordings(m) {
		if !slices.ContainsFunc(m.CoreRecordings, func(c CoreRecording) bool { return c.Run == "" && c.Name == r.Name }) {
			m.CoreRecordings = append(m.CoreRecordings, r)
		}
	}
	if m.Epoch == t.cfg.UnfreezeAfter {
		fmt.Fprintf(t.log, "unfreezing the core after %d epochs: it trains on %s too from now on\n", m.Epoch, strings.Join(m.RecordingNames(), ", "))
	}
}

// buildFrozen creates recording h's graphs for a frozen core: the core's features in
// evaluation mode (running statistics used, never updated; no noise) and an Adam step of h's
// readout on them.
func (t *trainer) buildFrozen(h *head, opt optimizer.Interface) error {
	history, mcfg, norm := t.meta.InputShape[0], h.mcfg, h.norm
	l1, l2, decay := t.cfg.L1, t.cfg.L2, decayFilter(h.mcfg, true)
	var err error
	h.features, err = model.NewExec(t.backend, t.store, func(ctx *model.Scope, stim, starts *Node) *Node {
		_, features := nn.ForwardCore(ctx.At(ModelScope), mcfg, gatherWindows(stim, starts, history, norm))
		return StopGradient(features)
	})
	if err != nil {
		return fmt.Errorf("build the frozen core's graph: %w", err)
	}
	h.readoutStep, err = newTrainStep(t.backend, t.store, opt, func(scope *model.Scope, inputs []*Node) {
		features, targets, starts := inputs[0], inputs[1], inputs[2]
		rates := nn.ForwardReadout(scope.At(ModelScope), mcfg, features)
		train.AddMainLoss(PoissonLoss(rates, gatherTargets(targets, starts, history), l1))
		if l2 > 0 {
			train.AddRegularizationLoss(weightDecay(scope.At(ModelScope), features.Graph(), l2, decay))
		}
	})
	if err != nil {
		return fmt.Errorf("build the readout's training step: %w", err)
	}
	return nil
}

// fromRunCheckpoint finds the checkpoint whose core a config's from_run names (the run's best,
// as LoadModel), checks that its core has the config's architecture and returns it with its
// description. Errors name the key from_run.
func fromRunCheckpoint(cfg runconfig.Config, log io.Writer) (string, *RunMeta, error) {
	dir, err := bestCheckpoint(cfg.FromRun, log)
	if err != nil {
		return "", nil, runconfig.Errorf("from_run", "%v", err)
	}
	meta, err := ReadMeta(dir)
	if err != nil {
		return "", nil, runconfig.Errorf("from_run", "%v", err)
	}
	there, here := meta.Model, cfg.ModelConfig(1)
	var diff []string
	for _, d := range []struct {
		key       string
		got, want any
	}{
		{"model_type", runconfig.ReferenceModelType(there.Type), runconfig.ReferenceModelType(here.Type)},
		{"img_shape", there.ImgShape, here.ImgShape},
		{"chans", there.Chans, here.Chans},
		{"ksizes", there.KSizes, here.KSizes},
		{"bias", !there.NoConvBias, !here.NoConvBias},
		{"gain_control", there.GainControl, here.GainControl},
	} {
		if fmt.Sprint(d.got) != fmt.Sprint(d.want) {
			diff = append(diff, fmt.Sprintf("%s: %v there, %v here", d.key, d.got, d.want))
		}
	}
	if len(diff) > 0 {
		return "", nil, runconfig.Errorf("from_run", "%s: its core is not this config's (%s)", cfg.FromRun, strings.Join(diff, "; "))
	}
	return dir, meta, nil
}

// loadCore starts the run's core from the checkpoint from_run names: its core variables (the
// convolutions and their batch norms, running statistics included) are copied into the store;
// its readouts are not. Where this run keeps running statistics per recording, each of its
// recordings starts from the source's (coreValue). The run description records where the core came from and what it
// was trained on.
func (t *trainer) loadCore() error {
	dir, from, err := fromRunCheckpoint(t.cfg, t.log)
	if err != nil {
		return err
	}
	src := model.NewStore()
	if err := loadVariables(src, dir, true); err != nil {
		return runconfig.Errorf("from_run", "%v", err)
	}
	scope := t.store.RootScope().At(ModelScope)
	srcScope := src.RootScope().At(ModelScope)
	// The source's core as each of its recordings sees it: one model, or, where its running
	// statistics are per recording, one per recording (same learned variables, own statistics).
	srcModels := []nn.ModelConfig{from.Model}
	if len(from.Recordings) > 0 && from.Model.RecordingBNStats {
		srcModels = srcModels[:0]
		for _, r := range from.Recordings {
			srcModels = append(srcModels, r.Model)
		}
	}
	copied := map[string]bool{}
	for _, h := range t.heads {
		for i, s := range nn.CoreVars(h.mcfg) {
			path := s.Path(scope)
			if copied[path] {
				continue // shared by the heads
			}
			copied[path] = true
			value, err := coreValue(src, srcScope, srcModels, i, s)
			if err != nil {
				return runconfig.Errorf("from_run", "checkpoint %s: %v", dir, err)
			}
			if _, err := t.store.Scope(s.ScopePath(scope)).CreateVariable(s.Name, value); err != nil {
				return fmt.Errorf("from_run: copy %s: %w", path, err)
			}
		}
	}
	abs, _ := filepath.Abs(dir)
	t.meta.CoreFrom = &CoreOrigin{Run: t.cfg.FromRun, Checkpoint: abs, Epoch: from.Epoch}
	inherited := from.CoreRecordings
	if len(inherited) == 0 { // a single-recording run: its core was trained on its one recording
		inherited = []CoreRecording{{Name: from.Config.Dataset, Data: from.Data, DataSource: from.DataSource}}
	}
	core := make([]CoreRecording, 0, len(inherited)+len(t.meta.CoreRecordings))
	for _, c := range inherited {
		if c.Run == "" {
			c.Run = t.cfg.FromRun
		}
		core = append(core, c)
	}
	t.meta.CoreRecordings = append(core, t.meta.CoreRecordings...)
	fmt.Fprintf(t.log, "core from %s (epoch %d, trained on %d recordings)%s\n", dir, from.Epoch, len(inherited),
		map[bool]string{true: ", frozen", false: ""}[t.cfg.ReadoutOnly])
	return nil
}

// coreValue is the value, in the source store src, of core variable i of the source's models
// (nn.CoreVars order), for the destination's variable s: a copy of the one variable when
// every source model shares it; where the source keeps running statistics per recording, a
// new recording starts from their mean over the source's recordings (the mean of the running
// means and of the running variances: what shared statistics, which average every
// recording's batches, would hold), and its batch counter from the first recording's.
func coreValue(src *model.Store, srcScope *model.Scope, srcModels []nn.ModelConfig, i int, s nn.Var) (*tensors.Tensor, error) {
	var paths []string
	for _, m := range srcModels {
		vars := nn.CoreVars(m)
		if i >= len(vars) || vars[i].Name != s.Name {
			return nil, fmt.Errorf("core variable %s: the source's core has no counterpart", s.Name)
		}
		if p := vars[i].Path(srcScope); !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	var sum []float64
	var first *tensors.Tensor
	for _, path := range paths {
		v := src.GetVariable(path)
		if v == nil || !slices.Equal(v.Shape().Dimensions, s.Shape) {
			return nil, fmt.Errorf("core variable %s missing or not of shape %v", path, s.Shape)
		}
		value, err := v.MustValue().LocalClone() // the store's own copy, whatever becomes of src
		if err != nil {
			return nil, fmt.Errorf("copy %s: %w", path, err)
		}
		if first == nil {
			first = value
		}
		if len(paths) == 1 || !value.DType().IsFloat() {
			return first, nil
		}
		f, err := tensorconv.Float64s(value)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if sum == nil {
			sum = make([]float64, len(f))
		}
		for j, x := range f {
			sum[j] += x
		}
	}
	for j := range sum {
		sum[j] /= float64(len(paths))
	}
	return tensorconv.FromFloat64s(sum, first.DType(), s.Shape...), nil
}
