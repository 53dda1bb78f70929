package nn

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/gobackend"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/internal/testutil"
)

func shapeF32(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float32, dims...) }

// catchPanic runs fn and returns what it panicked with, as an error (nil if it did not panic).
func catchPanic(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
			} else {
				err = fmt.Errorf("%v", r)
			}
		}
	}()
	fn()
	return nil
}

// smallConfig is nntest.SmallConfig, which this package's tests cannot import (nntest imports
// nn).
func smallConfig(modelType string) ModelConfig {
	cfg := DefaultModelConfig(3)
	cfg.Type = modelType
	cfg.ImgShape = [3]int{6, 14, 14}
	cfg.Chans = []int{3, 4}
	cfg.KSizes = []int{5, 3}
	if modelType == ModelLinearStacked {
		cfg.KSizes = []int{7, 3}
	}
	return cfg
}

func TestForwardConfigValidate(t *testing.T) {
	mod := func(f func(c *ModelConfig)) ModelConfig {
		c := DefaultModelConfig(5)
		f(&c)
		return c
	}
	cases := []struct {
		name    string
		cfg     ModelConfig
		wantErr string // "" for valid
	}{
		{"default", DefaultModelConfig(5), ""},
		{"stacked-default", mod(func(c *ModelConfig) { c.Type = ModelLinearStacked }), ""},
		{"ln-ignores-chans", mod(func(c *ModelConfig) { c.Type = ModelLN; c.Chans = nil; c.KSizes = nil }), ""},
		{"unknown-type", mod(func(c *ModelConfig) { c.Type = "cnn3" }), "ModelConfig.Type"},
		{"no-cells", mod(func(c *ModelConfig) { c.NCells = 0 }), "ModelConfig.NCells"},
		{"bad-img", mod(func(c *ModelConfig) { c.ImgShape[1] = 0 }), "ModelConfig.ImgShape"},
		{"one-chan", mod(func(c *ModelConfig) { c.Chans = []int{8} }), "ModelConfig.Chans"},
		{"zero-chan", mod(func(c *ModelConfig) { c.Chans = []int{8, 0} }), "ModelConfig.Chans"},
		{"three-ksizes", mod(func(c *ModelConfig) { c.KSizes = []int{15, 11, 3} }), "ModelConfig.KSizes"},
		{"kernel-larger-than-image", mod(func(c *ModelConfig) { c.KSizes = []int{51, 1} }), "larger than the image"},
		{"kernel2-larger-than-conv1", mod(func(c *ModelConfig) { c.KSizes = []int{15, 37} }), "larger than the output of conv1"},
		{"stacked-even-kernel", mod(func(c *ModelConfig) { c.Type = ModelLinearStacked; c.KSizes = []int{14, 11} }), "odd"},
		{"negative-noise", mod(func(c *ModelConfig) { c.Noise = -0.1 }), "ModelConfig.Noise"},
		{"momentum", mod(func(c *ModelConfig) { c.BNMomentum = 1.5 }), "ModelConfig.BNMomentum"},
		{"eps", mod(func(c *ModelConfig) { c.BNEps = 0 }), "ModelConfig.BNEps"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if c.wantErr == "" {
				if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

func TestForwardLayerShapes(t *testing.T) {
	ls := DefaultModelConfig(5).LayerShapes()
	if ls[LayerConv1] != [3]int{8, 36, 36} || ls[LayerConv2] != [3]int{8, 26, 26} || len(ls) != 2 {
		t.Errorf("reference layer shapes %v, want conv1 [8 36 36], conv2 [8 26 26]", ls)
	}
	cfg := DefaultModelConfig(5)
	cfg.Type = ModelLN
	if len(cfg.LayerShapes()) != 0 {
		t.Errorf("LN has no hidden layers, got %v", cfg.LayerShapes())
	}
}

// countVariables builds the model's graph (without running it) and counts the scalars of its
// trainable and non-trainable variables.
func countVariables(t *testing.T, cfg ModelConfig) (trainable, other int) {
	t.Helper()
	ctx := model.NewStore().RootScope()
	g := graph.NewGraph(testBackend(), "count")
	x := graph.Parameter(g, "x", shapeF32(1, cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2]))
	Forward(ctx, cfg, x)
	for v := range ctx.IterVariables() {
		if v.Name() == model.RNGStateVariableName {
			continue
		}
		if v.Trainable {
			trainable += v.Shape().Size()
		} else {
			other += v.Shape().Size()
		}
	}
	return
}

func TestParamCount(t *testing.T) {
	type tc struct {
		name string
		cfg  ModelConfig
		want int
	}
	var cases []tc
	for _, n := range []int{1, 5, 17} {
		bn := DefaultModelConfig(n)
		st := DefaultModelConfig(n)
		st.Type = ModelLinearStacked
		ln := DefaultModelConfig(n)
		ln.Type = ModelLN
		cases = append(cases,
			tc{fmt.Sprintf("bncnn-%d", n), bn, 111312 + 5410*n},
			tc{fmt.Sprintf("linearstacked-%d", n), st, 40784 + 5410*n},
			tc{fmt.Sprintf("ln-%d", n), ln, 100000*n + n},
		)
	}
	cases = append(cases,
		tc{"bncnn-small", smallConfig(ModelBNCNN), 2451},                 // from scripts/torch_golden.py
		tc{"linearstacked-small", smallConfig(ModelLinearStacked), 1549}, // idem
		tc{"ln-small", smallConfig(ModelLN), 3531},                       // idem
	)
	if DefaultModelConfig(5).ParamCount() != 138362 {
		t.Errorf("reference BNCNN with 5 cells: %d parameters, want 138,362", DefaultModelConfig(5).ParamCount())
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.cfg.ParamCount(); got != c.want {
				t.Errorf("ParamCount() = %d, want %d", got, c.want)
			}
			trainable, other := countVariables(t, c.cfg)
			if trainable != c.want {
				t.Errorf("created trainable variables hold %d scalars, want %d", trainable, c.want)
			}
			// Running statistics: 2 per BN feature (+1 counter per standard BN).
			wantOther := 0
			if c.cfg.IsCNN() {
				ls := c.cfg.LayerShapes()
				for _, s := range ls {
					wantOther += 2 * s[0] * s[1] * s[2]
				}
				wantOther += 2 * c.cfg.NCells
				if c.cfg.Type == ModelBNCNN {
					wantOther += 3
				}
			}
			if other != wantOther {
				t.Errorf("non-trainable variables hold %d scalars, want %d", other, wantOther)
			}
		})
	}
	bad := DefaultModelConfig(5)
	bad.KSizes = []int{60, 3}
	if bad.ParamCount() != 0 {
		t.Errorf("invalid config: ParamCount() = %d, want 0", bad.ParamCount())
	}
}

// TestForwardShapesAndInit checks output shapes, hidden activations (channels-first, post-ReLU),
// and that initialisation is deterministic given the context seed.
func TestForwardShapesAndInit(t *testing.T) {
	backend := testBackend()
	for _, modelType := range []string{ModelBNCNN, ModelLinearStacked, ModelLN} {
		t.Run(modelType, func(t *testing.T) {
			cfg := smallConfig(modelType)
			const batch = 3
			x := testutil.RandomWindows(cfg.ImgShape, batch, 1)
			run := func(seed int64) ([]*tensors.Tensor, *model.Scope) {
				ctx := model.NewStore().RootScope()
				ctx.SetParam(model.ParamInitialSeed, seed)
				outs, err := model.CallOnceN(backend, ctx.Store(), func(ctx *model.Scope, x *graph.Node) []*graph.Node {
					o := Forward(ctx, cfg, x)
					res := []*graph.Node{o.Rates}
					for _, name := range []string{LayerConv1, LayerConv2} {
						if h, ok := o.Hidden[name]; ok {
							res = append(res, h)
						}
					}
					return res
				}, x)
				if err != nil {
					t.Fatal(err)
				}
				return outs, ctx
			}
			outs, ctx1 := run(42)
			if want := []int{batch, cfg.NCells}; !slices.Equal(outs[0].Shape().Dimensions, want) {
				t.Errorf("rates shape %v, want %v", outs[0].Shape().Dimensions, want)
			}
			for _, r := range testutil.Float64s(t, outs[0]) {
				if !(r > 0) {
					t.Fatalf("softplus rates must be > 0, got %g", r)
				}
			}
			if cfg.IsCNN() {
				if len(outs) != 3 {
					t.Fatalf("want 2 hidden layers, got %d", len(outs)-1)
				}
				for i, name := range []string{LayerConv1, LayerConv2} {
					s := cfg.LayerShapes()[name]
					if want := []int{batch, s[0], s[1], s[2]}; !slices.Equal(outs[1+i].Shape().Dimensions, want) {
						t.Errorf("hidden %s shape %v, want %v", name, outs[1+i].Shape().Dimensions, want)
					}
					for _, v := range testutil.Float64s(t, outs[1+i]) {
						if v < 0 {
							t.Fatalf("hidden %s has negative value %g after ReLU", name, v)
						}
					}
				}
			} else if len(outs) != 1 {
				t.Errorf("LN must have no hidden layers")
			}
			// Same seed: same initial variables; another seed: different.
			_, ctx2 := run(42)
			_, ctx3 := run(43)
			same, differ := true, false
			for _, s := range modelSpecs(cfg) {
				if s.init != initUniform {
					continue
				}
				v1 := testutil.Float64s(t, ctx1.Store().GetVariable(model.JoinPath(s.scopePath(ctx1), s.name)).MustValue())
				v2 := testutil.Float64s(t, ctx2.Store().GetVariable(model.JoinPath(s.scopePath(ctx2), s.name)).MustValue())
				v3 := testutil.Float64s(t, ctx3.Store().GetVariable(model.JoinPath(s.scopePath(ctx3), s.name)).MustValue())
				same = same && slices.Equal(v1, v2)
				differ = differ || !slices.Equal(v1, v3)
				for _, v := range v1 {
					if v < -s.bound || v > s.bound {
						t.Fatalf("%s: initial value %g outside ±%g", s, v, s.bound)
					}
				}
			}
			if !same {
				t.Error("initialisation with the same seed differs")
			}
			if !differ {
				t.Error("initialisation with different seeds is identical")
			}
		})
	}
}

// TestForwardNoiseOnlyInTraining checks that Gaussian noise changes training-mode outputs from
// one call to the next, never evaluation outputs, and is off with Noise = 0.
func TestForwardNoiseOnlyInTraining(t *testing.T) {
	backend := testBackend()
	for _, noise := range []float64{0.5, 0} {
		for _, training := range []bool{true, false} {
			t.Run(fmt.Sprintf("noise=%g/training=%v", noise, training), func(t *testing.T) {
				cfg := smallConfig(ModelBNCNN)
				cfg.Noise = noise
				ctx := model.NewStore().RootScope()
				ctx.SetParam(model.ParamInitialSeed, int64(1))
				exec, err := model.NewExec(backend, ctx.Store(), func(ctx *model.Scope, x *graph.Node) *graph.Node {
					ctx.Store().SetTraining(x.Graph(), training)
					return Forward(ctx, cfg, x).Rates
				})
				if err != nil {
					t.Fatal(err)
				}
				x := testutil.RandomWindows(cfg.ImgShape, 4, 2)
				o1, err := exec.Exec(x)
				if err != nil {
					t.Fatal(err)
				}
				o2, err := exec.Exec(x)
				if err != nil {
					t.Fatal(err)
				}
				differ := !slices.Equal(testutil.Float64s(t, o1[0]), testutil.Float64s(t, o2[0]))
				if want := training && noise > 0; differ != want {
					t.Errorf("two runs differ = %v, want %v", differ, want)
				}
			})
		}
	}
}

func TestForwardRejectsBadInput(t *testing.T) {
	cfg := smallConfig(ModelBNCNN)
	g := graph.NewGraph(testBackend(), "bad")
	x := graph.Parameter(g, "x", shapeF32(2, 6, 14, 13))
	err := catchPanic(func() { Forward(model.NewStore().RootScope(), cfg, x) })
	if err == nil || !strings.Contains(err.Error(), "ImgShape") {
		t.Errorf("got %v, want an error naming ImgShape", err)
	}
	cfg.KSizes = []int{15, 3}
	err = catchPanic(func() { Forward(model.NewStore().RootScope(), cfg, x) })
	if err == nil || !strings.Contains(err.Error(), "KSizes") {
		t.Errorf("got %v, want an error naming KSizes", err)
	}
}

// TestStackDropout: drop_p zeroes each value of a linear stack's intermediate activations with
// probability p and scales the others by 1/(1−p), in training only, as PyTorch's nn.Dropout.
func TestStackDropout(t *testing.T) {
	cfg := smallConfig(ModelLinearStacked)
	cfg.DropP = 0.3
	if dropout(false, cfg) != nil || dropout(true, smallConfig(ModelLinearStacked)) != nil {
		t.Fatal("dropout outside training or with drop_p 0")
	}
	bncnn := smallConfig(ModelBNCNN)
	bncnn.DropP = 0.3
	if dropout(true, bncnn) != nil {
		t.Fatal("dropout in BNCNN, which has no stacks")
	}
	drop := dropout(true, cfg)
	ctx := model.NewStore().RootScope()
	ctx.SetParam(model.ParamInitialSeed, int64(5))
	out, err := model.CallOnce(testBackend(), ctx.Store(), func(ctx *model.Scope, x *graph.Node) *graph.Node {
		return drop(ctx, x)
	}, tensors.FromFlatDataAndDimensions(slices.Repeat([]float32{1}, 20000), 20000))
	if err != nil {
		t.Fatal(err)
	}
	zeros := 0
	for _, v := range testutil.Float64s(t, out) {
		switch {
		case v == 0:
			zeros++
		case math.Abs(v-1/0.7) > 1e-6:
			t.Fatalf("kept value %g, want 1/(1−p) = %g", v, 1/0.7)
		}
	}
	// 20000 Bernoulli(0.3) draws: std ≈ 65, so ±400 is far beyond chance.
	if zeros < 6000-400 || zeros > 6000+400 {
		t.Errorf("%d of 20000 dropped, want about 6000", zeros)
	}

	// In evaluation the model with drop_p is the model without it.
	noDrop := smallConfig(ModelLinearStacked)
	x := testutil.RandomWindows(cfg.ImgShape, 2, 3)
	var outs [2][]float64
	for i, c := range []ModelConfig{cfg, noDrop} {
		ctx := model.NewStore().RootScope()
		ctx.SetParam(model.ParamInitialSeed, int64(1))
		o, err := model.CallOnce(testBackend(), ctx.Store(), func(ctx *model.Scope, x *graph.Node) *graph.Node {
			return Forward(ctx, c, x).Rates
		}, x)
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = testutil.Float64s(t, o)
	}
	if !slices.Equal(outs[0], outs[1]) {
		t.Error("drop_p changed evaluation outputs")
	}
}

// TestGoMLXRandomNormalFloorIsDenormal keeps randomNormal (the models' own noise) honest: it
// exists because GoMLX's RandomNormal floors the uniform variate under its logarithm at the
// smallest float32 denormal, which XLA's CPU code flushes to zero (TestNoiseFiniteAtZeroUniform
// shows the +Inf that follows). This reads the floor out of the graph GoMLX's RandomNormal
// builds (exported introspection only) and fails once GoMLX floors at a normal number or drops
// the floor, when randomNormal should be re-checked and, if fixed, deleted.
func TestGoMLXRandomNormalFloorIsDenormal(t *testing.T) {
	backend := gobackend.GetBackend()
	g := graph.NewGraph(backend, "random-normal-floor")
	defer g.Finalize()
	_, values := graph.RandomNormal(graph.RNGStateFromSeedForGraph(g, 1), shapes.Make(dtypes.Float32, 4))
	var floors []float64
	seen := map[*graph.Node]bool{}
	var walk func(n *graph.Node)
	walk = func(n *graph.Node) {
		if seen[n] {
			return
		}
		seen[n] = true
		if n.Type() == graph.NodeTypeMax {
			for _, in := range n.Inputs() {
				if c := in.ConstantValue(); c != nil && c.Shape().Size() == 1 {
					floors = append(floors, float64(tensors.MustCopyFlatData[float32](c)[0]))
				}
			}
		}
		for _, in := range n.Inputs() {
			walk(in)
		}
	}
	walk(values)
	if len(floors) != 1 {
		t.Fatalf("GoMLX's RandomNormal has %d constant floors %v, expected 1: its formula changed; re-check randomNormal (models.go) and delete it if the +Inf is gone", len(floors), floors)
	}
	const smallestNormalFloat32 = 0x1p-126
	if f := floors[0]; !(f > 0 && f < smallestNormalFloat32) {
		t.Fatalf("GoMLX's RandomNormal now floors the uniform variate at %g (no longer a float32 denormal): re-check randomNormal (models.go) and delete it if the +Inf is gone", f)
	}
	t.Logf("GoMLX's RandomNormal floor: %g, a float32 denormal", floors[0])
}

// TestNoiseFiniteAtZeroUniform: the training noise must stay finite when the uniform variate
// under its logarithm is exactly 0 (one draw in 2³²). GoMLX's own floor, the smallest float32
// denormal, is flushed to zero by XLA's CPU code, so its RandomNormal then gives +Inf (logged
// here for the record), which is why the models draw their own noise.
func TestNoiseFiniteAtZeroUniform(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, backend compute.Backend) {
		outs, err := execN(backend, func(xs []*graph.Node) []*graph.Node {
			u1, u2 := xs[0], xs[1]
			g := u1.Graph()
			denormalFloor := graph.Max(u1, graph.Const(g, dtypes.Float32.SmallestNonZeroValueForDType()))
			gomlx := graph.Mul(graph.Sqrt(graph.MulScalar(graph.Log(denormalFloor), -2)), graph.Cos(graph.MulScalar(u2, 2*math.Pi)))
			return []*graph.Node{boxMuller(u1, u2), gomlx}
		}, []float32{0, 0.5, 0.999}, []float32{0, 0.25, 0.5})
		if err != nil {
			t.Fatal(err)
		}
		ours, theirs := outs[0].Value().([]float32), outs[1].Value().([]float32)
		for i, v := range ours {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Errorf("boxMuller sample %d is %v", i, v)
			}
		}
		if want := math.Sqrt(-2 * math.Log(1e-30)); math.Abs(float64(ours[0])-want) > 1e-4*want {
			t.Errorf("boxMuller(0, 0) = %v, want the floor's radius %v", ours[0], want)
		}
		t.Logf("GoMLX's formula at u1 = 0: %v", theirs[0])
	})
}
