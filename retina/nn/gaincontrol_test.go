package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/internal/testutil"
)

// gainConfig is a tiny BNCNN with the gain-control stage and a history longer than
// GainControlFrames, so that the contrast signal reads only part of the window.
func gainConfig() ModelConfig {
	cfg := DefaultModelConfig(2)
	cfg.ImgShape = [3]int{GainControlFrames + 4, 8, 8}
	cfg.Chans = []int{3, 2}
	cfg.KSizes = []int{5, 3}
	cfg.Noise = 0
	cfg.GainControl = true
	return cfg
}

// gainModelVars are the model variables gainByHand reads, by path under the model's scope.
var gainModelVars = []string{"conv1/kernel", "conv1/bias", "bn1/weight", "bn1/bias", "bn1/running_mean", "bn1/running_var",
	"gain1/a", "conv2/kernel", "conv2/bias", "bn2/weight", "bn2/bias", "bn2/running_mean", "bn2/running_var",
	"dense/kernel", "bn_out/weight", "bn_out/bias", "bn_out/running_mean", "bn_out/running_var"}

// gainByHand is the BNCNN with the gain-control stage in evaluation, written as loops from
// the formulas (not from the graph): conv1 → bn1 → divide by 1 + softplus(a[c])·s[b] → ReLU →
// conv2 → bn2 → ReLU → dense → bn_out → softplus, where s[b] is the standard deviation of x
// over its last min(GainControlFrames, History) frames and the whole frame (plus 1e-6 under the
// root). x is [B, T, H, W] channels-first; v holds gainModelVars. withGain false leaves the
// division out (the model without the stage).
func gainByHand(cfg ModelConfig, x []float64, batch int, v map[string][]float64, withGain bool) []float64 {
	t, h, w := cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2]
	c1, c2, k1, k2, n := cfg.Chans[0], cfg.Chans[1], cfg.KSizes[0], cfg.KSizes[1], cfg.NCells
	h1, w1 := h-k1+1, w-k1+1
	h2, w2 := h1-k2+1, w1-k2+1
	// Channels-first [B, C, H, W] to channels-last [B, H, W, C] for naiveConv2D, and back.
	toCL := func(a []float64, c, hh, ww int) []float64 {
		out := make([]float64, len(a))
		for b := range batch {
			for ci := range c {
				for i := range hh * ww {
					out[(b*hh*ww+i)*c+ci] = a[(b*c+ci)*hh*ww+i]
				}
			}
		}
		return out
	}
	toCF := func(a []float64, c, hh, ww int) []float64 {
		out := make([]float64, len(a))
		for b := range batch {
			for ci := range c {
				for i := range hh * ww {
					out[(b*c+ci)*hh*ww+i] = a[(b*hh*ww+i)*c+ci]
				}
			}
		}
		return out
	}
	bn := func(a []float64, f int, prefix string) {
		for b := range batch {
			for j := range f {
				i := b*f + j
				a[i] = (a[i]-v[prefix+"/running_mean"][j])/math.Sqrt(v[prefix+"/running_var"][j]+cfg.BNEps)*v[prefix+"/weight"][j] + v[prefix+"/bias"][j]
			}
		}
	}
	relu := func(a []float64) {
		for i := range a {
			a[i] = math.Max(a[i], 0)
		}
	}
	l1 := toCF(naiveConv2D(toCL(x, t, h, w), batch, h, w, t, v["conv1/kernel"], k1, k1, c1, v["conv1/bias"]), c1, h1, w1)
	f1 := c1 * h1 * w1
	bn(l1, f1, "bn1")
	if withGain {
		k := min(GainControlFrames, t)
		for b := range batch {
			var sum, sum2 float64
			m := float64(k * h * w)
			for ti := t - k; ti < t; ti++ {
				for i := range h * w {
					sum += x[(b*t+ti)*h*w+i]
				}
			}
			mean := sum / m
			for ti := t - k; ti < t; ti++ {
				for i := range h * w {
					d := x[(b*t+ti)*h*w+i] - mean
					sum2 += d * d
				}
			}
			s := math.Sqrt(sum2/m + 1e-6)
			for ci := range c1 {
				den := 1 + math.Log1p(math.Exp(v["gain1/a"][ci]))*s
				for i := range h1 * w1 {
					l1[b*f1+ci*h1*w1+i] /= den
				}
			}
		}
	}
	relu(l1)
	l2 := toCF(naiveConv2D(toCL(l1, c1, h1, w1), batch, h1, w1, c1, v["conv2/kernel"], k2, k2, c2, v["conv2/bias"]), c2, h2, w2)
	f2 := c2 * h2 * w2
	bn(l2, f2, "bn2")
	relu(l2)
	out := make([]float64, batch*n)
	for b := range batch {
		for j := range n {
			for i := range f2 {
				out[b*n+j] += l2[b*f2+i] * v["dense/kernel"][i*n+j]
			}
		}
	}
	bn(out, n, "bn_out")
	for i := range out {
		out[i] = math.Log1p(math.Exp(out[i]))
	}
	return out
}

// gainInput is a batch of windows whose contrast differs between samples and, within each
// window, between the last GainControlFrames frames and the earlier ones (which the contrast
// signal must not read).
func gainInput(rng *rand.Rand, cfg ModelConfig, batch int) []float64 {
	t, hw := cfg.ImgShape[0], cfg.ImgShape[1]*cfg.ImgShape[2]
	x := randomSlice(rng, batch*t*hw)
	for b := range batch {
		for ti := range t {
			scale := 0.3 + 0.8*float64(b) // the recent frames' contrast
			if ti < t-GainControlFrames {
				scale = 5 // earlier frames: much higher contrast
			}
			for i := range hw {
				x[(b*t+ti)*hw+i] = 0.2*float64(b) + scale*x[(b*t+ti)*hw+i]
			}
		}
	}
	return x
}

// TestGainControlForwardByHand checks the model with the gain-control stage against gainByHand
// with every variable random (the strengths a[c] between −1 and 1, so that the division is far
// from the identity), and the gradients of a scalar loss with respect to a[c] and to entries of
// conv1's kernel against central finite differences of the same loops. With a[c] = −40
// (softplus ≈ 4e−18) the model equals the model without the stage on the same variables.
func TestGainControlForwardByHand(t *testing.T) {
	cfg := gainConfig()
	const batch = 3
	rng := rand.New(rand.NewPCG(19, 10))
	x := gainInput(rng, cfg, batch)
	weights := randomSlice(rng, cfg.NCells)
	store := model.NewStore()
	build := func(c ModelConfig) *model.Exec {
		exec, err := model.NewExec(testBackend(), store, func(ctx *model.Scope, x *graph.Node) []*graph.Node {
			rates := Forward(ctx, c, x).Rates
			loss := graph.ReduceAllSum(graph.Mul(rates, graph.InsertAxes(graph.Const(x.Graph(), weights), 0)))
			if !c.GainControl {
				return []*graph.Node{rates}
			}
			a := ctx.Store().GetVariable("/gain1/a").NodeValue(x.Graph())
			kernel := ctx.Store().GetVariable("/conv1/kernel").NodeValue(x.Graph())
			return append([]*graph.Node{rates}, graph.Gradient(loss, a, kernel)...)
		})
		if err != nil {
			t.Fatal(err)
		}
		return exec
	}
	exec := build(cfg)
	xt := testutil.ToTensor(x, dtypes.Float64, batch, cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2])
	if _, err := exec.Exec(xt); err != nil { // creates the variables
		t.Fatal(err)
	}
	if a := testutil.Float64s(t, mustValue(t, store, "/gain1/a")); !slices.Equal(a, []float64{-3, -3, -3}) {
		t.Errorf("gain1/a starts at %v, want −3 in every channel", a)
	}
	values := map[string][]float64{}
	set := func(name string, vals []float64) {
		v := store.GetVariable("/" + name)
		if err := v.SetValue(testutil.ToTensor(vals, dtypes.Float64, v.Shape().Dimensions...)); err != nil {
			t.Fatal(err)
		}
		values[name] = vals
	}
	for _, name := range gainModelVars {
		v := store.GetVariable("/" + name)
		if v == nil {
			t.Fatalf("variable /%s missing", name)
		}
		vals := randomSlice(rng, v.Shape().Size())
		for i := range vals {
			switch {
			case strings.HasSuffix(name, "running_var"):
				vals[i] = 0.5 + math.Abs(vals[i])
			case name == "gain1/a":
				vals[i] = 2*rng.Float64() - 1
			case strings.HasSuffix(name, "kernel"):
				vals[i] *= 0.3
			}
		}
		set(name, vals)
	}
	outs, err := exec.Exec(xt)
	if err != nil {
		t.Fatal(err)
	}
	rates := testutil.Float64s(t, outs[0])
	want := gainByHand(cfg, x, batch, values, true)
	if e := testutil.MaxRelErr(rates, want, 1e-12); e > 1e-10 {
		t.Errorf("rates differ from the loops by %g (relative): %v vs %v", e, rates, want)
	}
	// The stage must matter here, or the comparison above tests nothing.
	if e := testutil.MaxRelErr(gainByHand(cfg, x, batch, values, false), want, 1e-12); e < 1e-3 {
		t.Errorf("the stage changes the loops' rates by only %g: the test input does not exercise it", e)
	}

	lossOf := func() float64 {
		total := 0.0
		for i, r := range gainByHand(cfg, x, batch, values, true) {
			total += r * weights[i%cfg.NCells]
		}
		return total
	}
	check := func(name string, grad []float64, idx []int) {
		const h = 1e-6
		p := values[name]
		var maxErr float64
		for _, i := range idx {
			orig := p[i]
			p[i] = orig + h
			lp := lossOf()
			p[i] = orig - h
			lm := lossOf()
			p[i] = orig
			maxErr = math.Max(maxErr, math.Abs((lp-lm)/(2*h)-grad[i])/math.Max(1e-3, math.Abs(grad[i])))
		}
		if maxErr > 1e-5 {
			t.Errorf("gradient with respect to %s: max relative error %g against central finite differences", name, maxErr)
		}
	}
	gradA := testutil.Float64s(t, outs[1])
	if slices.Max(gradA) == 0 && slices.Min(gradA) == 0 {
		t.Error("the loss' gradient with respect to gain1/a is zero")
	}
	check("gain1/a", gradA, []int{0, 1, 2})
	var idx []int
	for range 40 {
		idx = append(idx, rng.IntN(len(values["conv1/kernel"])))
	}
	check("conv1/kernel", testutil.Float64s(t, outs[2]), idx)

	// a → −∞: the model without the stage, on the same variables.
	set("gain1/a", []float64{-40, -40, -40})
	outs, err = exec.Exec(xt)
	if err != nil {
		t.Fatal(err)
	}
	plain := cfg
	plain.GainControl = false
	without, err := build(plain).Exec(xt)
	if err != nil {
		t.Fatal(err)
	}
	if e := testutil.MaxRelErr(testutil.Float64s(t, outs[0]), testutil.Float64s(t, without[0]), 1e-12); e > 1e-12 {
		t.Errorf("with softplus(a) ≈ 0 the model differs from the one without the stage by %g", e)
	}
	if e := testutil.MaxRelErr(testutil.Float64s(t, without[0]), gainByHand(cfg, x, batch, values, false), 1e-12); e > 1e-10 {
		t.Errorf("the model without the stage differs from the loops by %g", e)
	}
}

// mustValue is the value of the variable at path in store.
func mustValue(t *testing.T, store *model.Store, path string) *tensors.Tensor {
	t.Helper()
	v := store.GetVariable(path)
	if v == nil {
		t.Fatalf("variable %s missing", path)
	}
	value, err := v.Value()
	if err != nil {
		t.Fatal(err)
	}
	return value
}

// TestGainControlStructure: the stage adds gain1/a [C1] after bn1 in Structure, Vars, CoreVars
// and ParamCount (which counts what Forward creates), needs a CNN, and has no PyTorch state
// dict; off, the model's variables are those it had before the stage existed.
func TestGainControlStructure(t *testing.T) {
	for _, modelType := range []string{ModelBNCNN, ModelLinearStacked} {
		plain := smallConfig(modelType)
		cfg := plain
		cfg.GainControl = true
		if got := cfg.ParamCount() - plain.ParamCount(); got != cfg.Chans[0] {
			t.Errorf("%s: the stage adds %d parameters, want C1 = %d", modelType, got, cfg.Chans[0])
		}
		if trainable, _ := countVariables(t, cfg); trainable != cfg.ParamCount() {
			t.Errorf("%s: Forward created %d trainable scalars, ParamCount %d", modelType, trainable, cfg.ParamCount())
		}
		parts, err := Structure(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var scopes []string
		for _, p := range parts {
			scopes = append(scopes, p.Scope)
		}
		if want := []string{"conv1", "bn1", "gain1", "conv2", "bn2", "dense", "bn_out"}; !slices.Equal(scopes, want) {
			t.Errorf("%s: scopes %v, want %v", modelType, scopes, want)
		}
		if p := parts[2]; p.Role != "gain-control" || p.Layer != LayerConv1 || p.Torch != "" || !slices.Equal(p.Variables, []string{"gain1/a"}) {
			t.Errorf("%s: gain part %+v", modelType, p)
		}
		names := func(vs []Var) []string {
			var out []string
			for _, v := range vs {
				out = append(out, strings.Join(append(slices.Clone(v.Scope), v.Name), "/"))
			}
			return out
		}
		for what, vs := range map[string][2][]Var{"Vars": {Vars(plain), Vars(cfg)}, "CoreVars": {CoreVars(plain), CoreVars(cfg)}} {
			without, with := names(vs[0]), names(vs[1])
			i := slices.Index(with, "gain1/a")
			if i < 0 || !slices.Equal(slices.Delete(slices.Clone(with), i, i+1), without) {
				t.Errorf("%s %s: with the stage %v, without %v: want gain1/a added and nothing else changed", modelType, what, with, without)
			}
			if i >= 0 && (!slices.Equal(vs[1][i].Shape, []int{cfg.Chans[0]}) || !vs[1][i].Trainable) {
				t.Errorf("%s %s: gain1/a %+v, want trainable [%d]", modelType, what, vs[1][i], cfg.Chans[0])
			}
		}
		for _, p := range parts[:2] {
			if p.Scope == "gain1" {
				t.Errorf("%s: off, Structure has a gain part", modelType)
			}
		}
		if err := cfg.TorchCompatible(); err == nil || !strings.Contains(err.Error(), `"gain_control"`) {
			t.Errorf("%s: TorchCompatible with the stage = %v, want an error naming gain_control", modelType, err)
		}
		if err := plain.TorchCompatible(); err != nil {
			t.Errorf("%s: TorchCompatible without the stage: %v", modelType, err)
		}
	}
	ln := smallConfig(ModelLN)
	ln.GainControl = true
	if err := ln.Validate(); err == nil || !strings.Contains(err.Error(), "GainControl") {
		t.Errorf("Validate of an LN model with the stage = %v, want an error naming GainControl", err)
	}
	plainParts, _ := Structure(smallConfig(ModelBNCNN))
	for _, p := range plainParts {
		if p.Role == "gain-control" {
			t.Error("a model without the stage lists a gain-control part")
		}
	}
}
