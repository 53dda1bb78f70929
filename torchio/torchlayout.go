package torchio

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/deepretina/deepretina/internal/sortedmap"
	"github.com/deepretina/deepretina/retina/nn"
)

// The reference's state-dict names follow its nn.Sequential, whose module order changed over
// its history (the noise moved behind a reshape, a flatten was added before the dense layer,
// the noise parameter was once called cuda_param). This file recognises the modules of a state
// dict by their parameter names and shapes — a convolution has a 4-D weight, a batch norm
// running statistics, the dense layer a 2-D weight, the noise a one-element sigma — so that any
// of those orders maps onto the model, never by fixed indices.

// Kinds of modules in the reference's nn.Sequential.
const (
	modConv         = "Conv2d"              // weight [Cout, Cin, k, k], bias [Cout]
	modStack        = "LinearStackedConv2d" // convs.<j>.weight [Cout, Cin, 3, 3], the last with a bias
	modBatchNorm    = "BatchNorm1d"         // weight, bias, running_mean, running_var, num_batches_tracked
	modAbsBatchNorm = "AbsBatchNorm1d"      // scale, shift, running_mean, running_var
	modNoise        = "GaussianNoise"       // sigma (or cuda_param) [1]
	modDense        = "Linear"              // weight [out, in], bias [out]
)

// seqModule is one module of the Sequential, as found in a state dict.
type seqModule struct {
	index  int
	prefix string                     // "sequential.4." as in the state dict
	params map[string]*tensors.Tensor // key without the prefix → value
	kind   string
	subs   []int // modStack: indices j of the stacked convolutions ("convs.<j>."), in order
}

// torchLayout is the recognised structure of a CNN's (or the LN model's) state dict.
type torchLayout struct {
	convs  []*seqModule // conv1, conv2 (modConv or modStack)
	bns    []*seqModule // bn1, bn2, bn_out
	dense  *seqModule
	noises []*seqModule
	order  string // "newest", "older" or "other" (module indices of the file)
}

// describe lists a module's parameters with their shapes, for error messages.
func (m *seqModule) describe() string {
	parts := sortedmap.Join(m.params, ", ", func(k string, t *tensors.Tensor) string {
		return fmt.Sprintf("%s %v", k, t.Shape().Dimensions)
	})
	return fmt.Sprintf("module %s (%s)", strings.TrimSuffix(m.prefix, "."), parts)
}

// parseSequential groups a state dict's "sequential.<i>.<param>" entries by module, in index
// order, and recognises each module's kind. Keys outside the Sequential are an error.
func parseSequential(sd map[string]*tensors.Tensor) ([]*seqModule, error) {
	byIndex := map[int]*seqModule{}
	var stray []string
	for key, t := range sd {
		rest, ok := strings.CutPrefix(key, "sequential.")
		idxStr, param, ok2 := strings.Cut(rest, ".")
		idx, err := strconv.Atoi(idxStr)
		if !ok || !ok2 || err != nil || idx < 0 || param == "" || t == nil {
			stray = append(stray, key)
			continue
		}
		m := byIndex[idx]
		if m == nil {
			m = &seqModule{index: idx, prefix: nn.TorchPrefix(idx), params: map[string]*tensors.Tensor{}}
			byIndex[idx] = m
		}
		m.params[param] = t
	}
	if len(stray) > 0 {
		sort.Strings(stray)
		return nil, fmt.Errorf("entries outside the model's nn.Sequential \"sequential\": %s", strings.Join(stray, ", "))
	}
	mods := make([]*seqModule, 0, len(byIndex))
	for _, m := range byIndex {
		mods = append(mods, m)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].index < mods[j].index })
	for _, m := range mods {
		if err := m.classify(); err != nil {
			return nil, err
		}
	}
	return mods, nil
}

func dims(t *tensors.Tensor) []int { return t.Shape().Dimensions }

// classify sets the module's kind from its parameter names and shapes.
func (m *seqModule) classify() error {
	p := m.params
	has := func(names ...string) bool {
		for _, n := range names {
			if _, ok := p[n]; !ok {
				return false
			}
		}
		return true
	}
	only := func(allowed ...string) bool {
		for k := range p {
			if !slices.Contains(allowed, k) {
				return false
			}
		}
		return true
	}
	vector := func(n int, names ...string) bool {
		for _, name := range names {
			if t, ok := p[name]; ok && !slices.Equal(dims(t), []int{n}) {
				return false
			}
		}
		return true
	}
	switch {
	case len(p) == 1 && (has("sigma") || has("cuda_param")):
		for _, t := range p {
			if t.Size() != 1 {
				return fmt.Errorf("%s: a noise std must hold one value", m.describe())
			}
		}
		m.kind = modNoise
	case has("running_mean", "running_var"):
		n := dims(p["running_mean"])
		if len(n) != 1 {
			return fmt.Errorf("%s: a batch norm's running_mean must be 1-D", m.describe())
		}
		switch {
		case has("weight", "bias") && only("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
			m.kind = modBatchNorm
			if !vector(n[0], "weight", "bias", "running_var") {
				return fmt.Errorf("%s: batch-norm vectors of different sizes", m.describe())
			}
			if t, ok := p["num_batches_tracked"]; ok && t.Size() != 1 {
				return fmt.Errorf("%s: num_batches_tracked must be a scalar", m.describe())
			}
		case has("scale", "shift") && only("scale", "shift", "running_mean", "running_var"):
			m.kind = modAbsBatchNorm
			if !vector(n[0], "scale", "shift", "running_var") {
				return fmt.Errorf("%s: batch-norm vectors of different sizes", m.describe())
			}
		default:
			return fmt.Errorf("%s: a batch norm needs weight and bias (BatchNorm1d) or scale and shift (AbsBatchNorm1d)", m.describe())
		}
	case has("weight") && only("weight", "bias"):
		w := dims(p["weight"])
		switch len(w) {
		case 4:
			m.kind = modConv
		case 2:
			m.kind = modDense
		default:
			return fmt.Errorf("%s: a weight of rank %d is neither a convolution's (4-D) nor a dense layer's (2-D)", m.describe(), len(w))
		}
		if !vector(w[0], "bias") {
			return fmt.Errorf("%s: the bias must have %d entries, one per output", m.describe(), w[0])
		}
	default:
		return m.classifyStack()
	}
	return nil
}

// classifyStack recognises a LinearStackedConv2d: convs.<j>.weight [Cout, Cin, 3, 3] (+ bias),
// possibly with gaps in j where the reference put parameterless Dropout modules.
func (m *seqModule) classifyStack() error {
	subs := map[int]bool{}
	for k, t := range m.params {
		rest, ok := strings.CutPrefix(k, "convs.")
		jStr, param, ok2 := strings.Cut(rest, ".")
		j, err := strconv.Atoi(jStr)
		if !ok || !ok2 || err != nil || j < 0 {
			return fmt.Errorf("%s: not a convolution, batch norm, noise or dense layer", m.describe())
		}
		switch param {
		case "weight":
			if len(dims(t)) != 4 {
				if _, isBN := m.params[fmt.Sprintf("convs.%d.running_mean", j)]; isBN {
					continue
				}
				return fmt.Errorf("%s: convs.%d.weight must be a 4-D convolution kernel", m.describe(), j)
			}
			subs[j] = true
		case "bias":
		case "running_mean", "running_var", "scale", "shift", "num_batches_tracked":
			return fmt.Errorf("%s: a batch norm inside the linear stack (convs.%d; the reference's abs_bnorm/bnorm option) is not supported: deepretina's LinearStackedBNCNN stacks plain 3×3 convolutions", m.describe(), j)
		default:
			return fmt.Errorf("%s: unknown parameter %s", m.describe(), k)
		}
	}
	for k := range m.params {
		if jStr, _, _ := strings.Cut(strings.TrimPrefix(k, "convs."), "."); strings.HasSuffix(k, ".bias") {
			if j, _ := strconv.Atoi(jStr); !subs[j] {
				return fmt.Errorf("%s: %s has no weight", m.describe(), k)
			}
		}
	}
	for j := range subs {
		m.subs = append(m.subs, j)
	}
	sort.Ints(m.subs)
	m.kind = modStack
	return nil
}

// analyseSequential recognises a CNN (conv, batch norm, conv, batch norm, dense, batch norm, with
// noise modules anywhere) or the LN model (one dense layer) in a state dict.
func analyseSequential(sd map[string]*tensors.Tensor) (*torchLayout, error) {
	mods, err := parseSequential(sd)
	if err != nil {
		return nil, err
	}
	lay := &torchLayout{}
	var kinds []string
	for _, m := range mods {
		switch m.kind {
		case modNoise:
			lay.noises = append(lay.noises, m)
			continue
		case modConv, modStack:
			lay.convs = append(lay.convs, m)
			kinds = append(kinds, "conv")
		case modBatchNorm, modAbsBatchNorm:
			lay.bns = append(lay.bns, m)
			kinds = append(kinds, "bn")
		case modDense:
			if lay.dense != nil {
				return nil, fmt.Errorf("two dense layers (%s and %s)", lay.dense.describe(), m.describe())
			}
			lay.dense = m
			kinds = append(kinds, "dense")
		}
	}
	cnn := []string{"conv", "bn", "conv", "bn", "dense", "bn"}
	switch {
	case slices.Equal(kinds, []string{"dense"}) && len(lay.noises) == 0:
		lay.order = "newest"
		if lay.dense.index != nn.TorchModuleIndices().LNDense {
			lay.order = "other"
		}
		return lay, nil
	case slices.Equal(kinds, cnn) && len(lay.noises) <= 2:
	default:
		found := make([]string, len(mods))
		for i, m := range mods {
			found[i] = fmt.Sprintf("%d %s", m.index, m.kind)
		}
		return nil, fmt.Errorf("the modules (%s) are not those of BNCNN or LinearStackedBNCNN (convolution, batch norm, convolution, batch norm, dense, batch norm, with Gaussian noise) nor of the LN model (one dense layer)",
			strings.Join(found, ", "))
	}
	idx := func(ms []*seqModule) []int {
		out := make([]int, len(ms))
		for i, m := range ms {
			out[i] = m.index
		}
		return out
	}
	convs, bns, noises := idx(lay.convs), idx(lay.bns), idx(lay.noises)
	switch {
	case slices.Equal(convs, []int{0, 6}) && slices.Equal(bns, []int{2, 8, 14}) && lay.dense.index == 13 &&
		(len(noises) == 0 || slices.Equal(noises, []int{4, 10})):
		lay.order = "newest"
	case slices.Equal(convs, []int{0, 6}) && slices.Equal(bns, []int{2, 8, 12}) && lay.dense.index == 11 &&
		(len(noises) == 0 || slices.Equal(noises, []int{3, 9})):
		lay.order = "older"
	default:
		lay.order = "other"
	}
	return lay, nil
}

// noiseParam is the name of the noise modules' parameter ("sigma" or "cuda_param"; "" if none).
func (l *torchLayout) noiseParam() string {
	for _, m := range l.noises {
		for k := range m.params {
			return k
		}
	}
	return ""
}

// AlignStateDict maps a state dict in any of the reference's module orders onto the names of
// the newest one (those ExportStateDict writes) for the model cfg, as ImportStateDict does
// before it checks anything. from maps each new key to the key in sd ("" for a
// num_batches_tracked that sd lacked and that was set to 0). An error says which modules were
// not recognised.
func AlignStateDict(sd map[string]*tensors.Tensor, cfg nn.ModelConfig) (aligned map[string]*tensors.Tensor, from map[string]string, err error) {
	lay, err := analyseSequential(sd)
	if err != nil {
		return nil, nil, err
	}
	aligned, from = lay.rename(cfg)
	return aligned, from, nil
}

// rename maps the state dict onto the names the model cfg has in the newest module order: each
// recognised module takes its place's prefix, a stack's convolutions their indices, the noise
// parameter the name "sigma"; a batch norm without num_batches_tracked (PyTorch < 0.4.1) gets
// 0. from maps each new key to the key in the file.
func (l *torchLayout) rename(cfg nn.ModelConfig) (sd map[string]*tensors.Tensor, from map[string]string) {
	ti := nn.TorchModuleIndices()
	sd, from = map[string]*tensors.Tensor{}, map[string]string{}
	put := func(key, orig string, t *tensors.Tensor) {
		sd[key] = t
		from[key] = orig
	}
	move := func(m *seqModule, idx int) {
		if m == nil {
			return
		}
		for param, t := range m.params {
			put(nn.TorchPrefix(idx)+param, m.prefix+param, t)
		}
		if m.kind == modBatchNorm {
			if _, ok := m.params["num_batches_tracked"]; !ok {
				put(nn.TorchPrefix(idx)+"num_batches_tracked", "", tensors.FromScalar(int64(0)))
			}
		}
	}
	if len(l.convs) == 0 { // the LN model
		move(l.dense, ti.LNDense)
		return sd, from
	}
	for i, m := range l.convs {
		if m.kind != modStack {
			move(m, ti.Conv[i])
			continue
		}
		step := 1
		if cfg.DropP > 0 && len(m.subs) > 1 {
			step = 2
		}
		for n, j := range m.subs {
			for _, param := range []string{"weight", "bias"} {
				old := fmt.Sprintf("convs.%d.%s", j, param)
				if t, ok := m.params[old]; ok {
					put(fmt.Sprintf("%sconvs.%d.%s", nn.TorchPrefix(ti.Conv[i]), step*n, param), m.prefix+old, t)
				}
			}
		}
	}
	for i, m := range l.bns {
		move(m, append(ti.BN[:], ti.BNOut)[i])
	}
	move(l.dense, ti.Dense)
	for i, m := range l.noises {
		for param, t := range m.params {
			put(nn.TorchPrefix(ti.Noise[i])+"sigma", m.prefix+param, t)
		}
	}
	return sd, from
}
