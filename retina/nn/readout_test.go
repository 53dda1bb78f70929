package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/internal/testutil"
)

func factorisedConfig(modelType string) ModelConfig {
	cfg := smallConfig(modelType)
	cfg.Readout = ReadoutFactorised
	cfg.ReadoutScope = ReadoutScopeOf("ret-a")
	return cfg
}

func TestReadoutConfigValidate(t *testing.T) {
	mod := func(f func(c *ModelConfig)) ModelConfig {
		c := smallConfig(ModelBNCNN)
		f(&c)
		return c
	}
	cases := []struct {
		name, wantErr string
		cfg           ModelConfig
	}{
		{"dense", "", mod(func(c *ModelConfig) { c.Readout = ReadoutDense })},
		{"factorised-scoped", "", factorisedConfig(ModelLinearStacked)},
		{"unknown", "ModelConfig.Readout", mod(func(c *ModelConfig) { c.Readout = "gaussian" })},
		{"ln-factorised", "needs a CNN", mod(func(c *ModelConfig) { c.Type = ModelLN; c.Readout = ReadoutFactorised })},
		{"ln-scoped", "no core", mod(func(c *ModelConfig) { c.Type = ModelLN; c.ReadoutScope = "readout/a" })},
		{"scope-not-readout", "ModelConfig.ReadoutScope", mod(func(c *ModelConfig) { c.ReadoutScope = "dense" })},
		{"scope-slash", "ModelConfig.ReadoutScope", mod(func(c *ModelConfig) { c.ReadoutScope = "readout/a/b" })},
		{"scope-empty-name", "ModelConfig.ReadoutScope", mod(func(c *ModelConfig) { c.ReadoutScope = "readout/" })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
				t.Errorf("Validate() = %v, want an error containing %q", err, c.wantErr)
			}
		})
	}
	if err := factorisedConfig(ModelBNCNN).TorchCompatible(); err == nil || !strings.Contains(err.Error(), "factorised") {
		t.Errorf("TorchCompatible of a factorised readout: %v, want an error naming it", err)
	}
}

// TestReadoutParamCount: the factorised readout has H2·W2 + C2 weights per cell (plus the
// output batch norm's two), and the variables Forward creates hold exactly ParamCount scalars;
// moving a readout under a scope changes nothing but where its variables are.
func TestReadoutParamCount(t *testing.T) {
	for _, modelType := range []string{ModelBNCNN, ModelLinearStacked} {
		dense := smallConfig(modelType)
		fact := factorisedConfig(modelType)
		s2 := dense.LayerShapes()[LayerConv2]
		n := dense.NCells
		if got, want := dense.ParamCount()-fact.ParamCount(), (s2[0]*s2[1]*s2[2]-s2[1]*s2[2]-s2[0])*n; got != want {
			t.Errorf("%s: dense − factorised = %d parameters, want %d", modelType, got, want)
		}
		for _, cfg := range []ModelConfig{fact, func() ModelConfig { c := dense; c.ReadoutScope = "readout/x"; return c }()} {
			if trainable, _ := countVariables(t, cfg); trainable != cfg.ParamCount() {
				t.Errorf("%s readout %q at %q: created %d trainable scalars, ParamCount %d", modelType, cfg.Readout, cfg.ReadoutScope, trainable, cfg.ParamCount())
			}
		}
	}
	ref := DefaultModelConfig(1)
	ref.Readout = ReadoutFactorised
	if got := DefaultModelConfig(1).ParamCount() - ref.ParamCount(); got != 5408-26*26-8 {
		t.Errorf("reference shape: the factorised readout saves %d parameters per cell, want %d", got, 5408-26*26-8)
	}
}

// factorisedByHand is the factorised readout written as loops: features [B, C·S]
// (channels-first), mask [S, N], chans [C, N], then the output batch norm in evaluation
// (running mean rm, variance rv, scale g, shift b) and softplus.
func factorisedByHand(features []float64, batch, c, s, n int, mask, chans, rm, rv, g, b []float64, eps float64) []float64 {
	out := make([]float64, batch*n)
	for bi := range batch {
		for ni := range n {
			z := 0.0
			for ci := range c {
				for si := range s {
					z += features[bi*c*s+ci*s+si] * mask[si*n+ni] * chans[ci*n+ni]
				}
			}
			y := (z-rm[ni])/math.Sqrt(rv[ni]+eps)*g[ni] + b[ni]
			out[bi*n+ni] = math.Log1p(math.Exp(y))
		}
	}
	return out
}

// TestFactorisedReadoutClosedForm checks ForwardReadout's rates against factorisedByHand, with
// every readout variable (mask, channels, the batch norm's statistics) set to random values,
// and its gradients with respect to the features, mask and channels against central finite
// differences of the same loops.
func TestFactorisedReadoutClosedForm(t *testing.T) {
	cfg := factorisedConfig(ModelBNCNN)
	s2 := cfg.LayerShapes()[LayerConv2]
	c, s, n, batch := s2[0], s2[1]*s2[2], cfg.NCells, 3
	rng := rand.New(rand.NewPCG(5, 6))
	features := randomSlice(rng, batch*c*s)
	weights := randomSlice(rng, n)
	store := model.NewStore()
	var paths []string
	exec, err := model.NewExec(testBackend(), store, func(ctx *model.Scope, x *graph.Node) []*graph.Node {
		rates := ForwardReadout(ctx, cfg, x)
		loss := graph.ReduceAllSum(graph.Mul(rates, graph.InsertAxes(graph.Const(x.Graph(), weights), 0)))
		paths = []string{"/readout/ret-a/factorised/mask", "/readout/ret-a/factorised/channels"}
		wrt := []*graph.Node{x}
		for _, p := range paths {
			wrt = append(wrt, ctx.Store().GetVariable(p).NodeValue(x.Graph()))
		}
		return append([]*graph.Node{rates}, graph.Gradient(loss, wrt...)...)
	})
	if err != nil {
		t.Fatal(err)
	}
	x := testutil.ToTensor(features, dtypes.Float64, batch, c*s)
	if _, err := exec.Exec(x); err != nil { // creates the variables
		t.Fatal(err)
	}
	values := map[string][]float64{}
	for _, name := range []string{"factorised/mask", "factorised/channels", "bn_out/running_mean", "bn_out/running_var", "bn_out/weight", "bn_out/bias"} {
		v := store.GetVariable("/readout/ret-a/" + name)
		if v == nil {
			t.Fatalf("variable /readout/ret-a/%s missing", name)
		}
		vals := randomSlice(rng, v.Shape().Size())
		if strings.HasSuffix(name, "running_var") {
			for i := range vals {
				vals[i] = 0.5 + math.Abs(vals[i])
			}
		}
		values[name] = vals
		if err := v.SetValue(testutil.ToTensor(vals, dtypes.Float64, v.Shape().Dimensions...)); err != nil {
			t.Fatal(err)
		}
	}
	if d := store.GetVariable(paths[0]).Shape().Dimensions; !slices.Equal(d, []int{s, n}) {
		t.Errorf("mask shape %v, want [%d %d]", d, s, n)
	}
	outs, err := exec.Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	rates := func(f, mask, chans []float64) []float64 {
		return factorisedByHand(f, batch, c, s, n, mask, chans, values["bn_out/running_mean"], values["bn_out/running_var"],
			values["bn_out/weight"], values["bn_out/bias"], cfg.BNEps)
	}
	want := rates(features, values["factorised/mask"], values["factorised/channels"])
	if e := testutil.MaxRelErr(testutil.Float64s(t, outs[0]), want, 1e-12); e > 1e-12 {
		t.Errorf("rates differ from the loops by %g (relative)", e)
	}
	lossOf := func(p [][]float64) float64 {
		total := 0.0
		for i, r := range rates(p[0], p[1], p[2]) {
			total += r * weights[i%n]
		}
		return total
	}
	params := [][]float64{features, values["factorised/mask"], values["factorised/channels"]}
	for p, name := range []string{"features", "mask", "channels"} {
		grad := testutil.Float64s(t, outs[1+p])
		const h = 1e-6
		var maxErr float64
		for i := range params[p] {
			orig := params[p][i]
			params[p][i] = orig + h
			lp := lossOf(params)
			params[p][i] = orig - h
			lm := lossOf(params)
			params[p][i] = orig
			maxErr = math.Max(maxErr, math.Abs((lp-lm)/(2*h)-grad[i])/math.Max(1, math.Abs(grad[i])))
		}
		if maxErr > 1e-7 {
			t.Errorf("gradient with respect to %s: max error %g against finite differences", name, maxErr)
		}
	}
}

// TestReadoutScopeMovesOnlyTheReadout: a dense readout under "readout/<name>" holds the same
// variables as the reference's, there; the core stays where it was, and Structure says so.
func TestReadoutScopeMovesOnlyTheReadout(t *testing.T) {
	cfg := smallConfig(ModelLinearStacked)
	cfg.ReadoutScope = ReadoutScopeOf("r1")
	parts, err := Structure(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var scopes []string
	for _, p := range parts {
		scopes = append(scopes, p.Scope)
	}
	want := []string{"conv1", "bn1", "conv2", "bn2", "readout/r1/dense", "readout/r1/bn_out"}
	if !slices.Equal(scopes, want) {
		t.Errorf("scopes %v, want %v", scopes, want)
	}
	cfg.Readout = ReadoutFactorised
	parts, _ = Structure(cfg)
	if p := parts[4]; p.Role != "factorised-readout" || p.Scope != "readout/r1/factorised" || p.Torch != "" ||
		!slices.Equal(p.Variables, []string{"readout/r1/factorised/mask", "readout/r1/factorised/channels"}) {
		t.Errorf("factorised part %+v", p)
	}
	ctx := model.NewStore().RootScope()
	g := graph.NewGraph(testBackend(), "scoped")
	Forward(ctx, cfg, graph.Parameter(g, "x", shapeF32(2, cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2])))
	for _, path := range []string{"/conv1/stack_0/kernel", "/readout/r1/factorised/mask", "/readout/r1/bn_out/shift"} {
		if ctx.Store().GetVariable(path) == nil {
			t.Errorf("no variable %s", path)
		}
	}
	if ctx.Store().GetVariable("/dense/kernel") != nil || ctx.Store().GetVariable("/bn_out/shift") != nil {
		t.Error("a scoped readout also created the reference's readout variables")
	}
}
