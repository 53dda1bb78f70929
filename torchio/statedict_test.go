package torchio

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/core/tensors/numpy"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/internal/tensorconv"
	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/retina/nn/nntest"
)

// Golden files written by scripts/torch_golden.py (PyTorch 1.13, reference computed in float64).
type goldenCase struct {
	name  string
	cfg   nn.ModelConfig
	small bool
}

func goldenCases() []goldenCase {
	stackedRef := nn.DefaultModelConfig(5)
	stackedRef.Type = nn.ModelLinearStacked
	return []goldenCase{
		{"bncnn_small", nntest.SmallConfig(nn.ModelBNCNN), true},
		{"linearstacked_small", nntest.SmallConfig(nn.ModelLinearStacked), true},
		{"ln_small", nntest.SmallConfig(nn.ModelLN), true},
		{"bncnn_ref", nn.DefaultModelConfig(5), false},
		{"linearstacked_ref", stackedRef, false},
	}
}

type golden struct {
	all map[string]*tensors.Tensor
	sd  map[string]*tensors.Tensor
	x   *tensors.Tensor // float32 input
}

func loadGolden(t *testing.T, name string) golden {
	t.Helper()
	all, err := numpy.FromNpzFile(filepath.Join("testdata", "golden_"+name+".npz"))
	if err != nil {
		t.Fatalf("reading golden file (regenerate with /usr/bin/python3 scripts/torch_golden.py): %v", err)
	}
	g := golden{all: all, sd: map[string]*tensors.Tensor{}}
	for k, v := range all {
		if key, ok := strings.CutPrefix(k, "sd."); ok {
			g.sd[key] = v
		}
	}
	q := all["x_int8"]
	scale := float32(testutil.Float64s(t, all["x_scale"])[0])
	var x []float32
	tensors.MustConstFlatData[int8](q, func(flat []int8) {
		x = make([]float32, len(flat))
		for i, v := range flat {
			x[i] = float32(v) * scale
		}
	})
	g.x = tensors.FromFlatDataAndDimensions(x, q.Shape().Dimensions...)
	return g
}

// aligned returns the golden state dict (written in the reference's older module order) under
// the names of the newest order, and for each new name the golden file's name.
func (g golden) aligned(t *testing.T, cfg nn.ModelConfig) (sd map[string]*tensors.Tensor, from map[string]string) {
	t.Helper()
	lay, err := analyseSequential(g.sd)
	if err != nil {
		t.Fatalf("golden state dict not recognised: %v", err)
	}
	return lay.rename(cfg)
}

func (g golden) get(t *testing.T, key string) []float64 {
	t.Helper()
	v, ok := g.all[key]
	if !ok {
		t.Fatalf("golden file has no %q", key)
	}
	return testutil.Float64s(t, v)
}

// parityErr compares got with want as numpy.allclose does, per tensor: it passes iff
// max|got−want| <= atol + rtol·max|want|. It returns the excess ratio
// max|got−want| / (atol/rtol + max|want|), which is <= rtol exactly when the check passes, so a
// failure reads as a relative error; for tensors away from zero it is the relative error.
func parityErr(got, want []float64, atol float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var maxDiff, maxWant float64
	for i := range want {
		maxDiff = math.Max(maxDiff, math.Abs(got[i]-want[i]))
		maxWant = math.Max(maxWant, math.Abs(want[i]))
	}
	return maxDiff / (atol/parityTol + maxWant)
}

// parityTolerance is the relative tolerance of the parity tests. On a GPU, XLA computes float32
// convolutions and matrix products in TF32 (a 10-bit mantissa), as PyTorch does for its
// convolutions by default: float32 then agrees with PyTorch's float64 reference only to about
// 5e-3 on outputs and, through the deepest 3×3 stacks and the batch-norm gradients, to about 5e-2
// on gradients. float64 stays exact there (5e-8 measured on an H200).
func parityTolerance(backend compute.Backend, dtype dtypes.DType) float64 {
	if dtype == dtypes.Float32 && onGPU(backend) {
		return 6e-2
	}
	return parityTol
}

// onGPU reports whether backend is XLA on an NVIDIA GPU.
func onGPU(backend compute.Backend) bool {
	desc := strings.ToLower(backend.Name() + " " + backend.Description() + " " + os.Getenv(compute.ConfigEnvVar))
	return backend.Name() == "xla" && strings.Contains(desc, "cuda")
}

const (
	parityTol  = 1e-4 // rtol
	parityAtol = 1e-6 // atol for rates and other O(1) values
)

func TestParityEval(t *testing.T) { testutil.ForEachEngine(t, testParityEval) }

func testParityEval(t *testing.T, backend compute.Backend) {
	tol := parityTolerance(backend, dtypes.Float32)
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			gd := loadGolden(t, gc.name)
			ctx := model.NewStore().RootScope()
			if err := ImportStateDict(ctx, gc.cfg, gd.sd); err != nil {
				t.Fatal(err)
			}
			outs, err := model.CallOnceN(backend, ctx.Store(), func(ctx *model.Scope, x *graph.Node) []*graph.Node {
				o := nn.Forward(ctx, gc.cfg, x)
				res := []*graph.Node{o.Rates}
				if gc.cfg.IsCNN() {
					res = append(res, o.Hidden[nn.LayerConv1], o.Hidden[nn.LayerConv2])
				}
				return res
			}, gd.x)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s eval rates: rel err %.3g", gc.name, testutil.RelErr(testutil.Float64s(t, outs[0]), gd.get(t, "eval_rates")))
			if e := parityErr(testutil.Float64s(t, outs[0]), gd.get(t, "eval_rates"), parityAtol); e > tol {
				t.Errorf("eval rates: rel err %g > %g\ngot  %v\nwant %v", e, tol, outs[0], gd.all["eval_rates"])
			}
			if gc.small && gc.cfg.IsCNN() {
				for i, name := range []string{nn.LayerConv1, nn.LayerConv2} {
					e := parityErr(testutil.Float64s(t, outs[1+i]), gd.get(t, "eval_"+name), parityAtol)
					if e > tol {
						t.Errorf("eval hidden %s: rel err %g", name, e)
					}
				}
			}
		})
	}
}

// TestParityTrainGradients compares, in training mode with noise 0 (batch statistics), the rates,
// the Poisson loss mean(pred − y·log(pred+1e-8)) and its gradient wrt every trainable parameter
// with PyTorch's, and (small shapes) the running statistics after that step. It runs the model in
// float32 (the practical case) and in float64 (exact arithmetic check: PyTorch's reference is
// computed in float64).
//
// The conv biases right before a training-mode batch norm have an exactly zero gradient (the batch
// mean cancels them): their float32 values are round-off of sums over B·H·W terms, hence the
// absolute tolerance (1e-5 in float32, far below the other gradients' scale of 1e-3…1).
func TestParityTrainGradients(t *testing.T) { testutil.ForEachEngine(t, testParityTrainGradients) }

func testParityTrainGradients(t *testing.T, backend compute.Backend) {
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
		atol := 1e-5
		if dtype == dtypes.Float64 {
			atol = 1e-9
		}
		tol := parityTolerance(backend, dtype)
		for _, gc := range goldenCases() {
			t.Run(fmt.Sprintf("%s/%s", dtype, gc.name), func(t *testing.T) {
				gd := loadGolden(t, gc.name)
				cfg := gc.cfg
				cfg.Noise = 0
				ctx := model.NewStore().RootScope()
				sd, x, y := gd.sd, gd.x, gd.all["y"]
				if dtype == dtypes.Float64 {
					sd = make(map[string]*tensors.Tensor, len(gd.sd))
					for k, v := range gd.sd {
						sd[k] = v
						if v.DType().IsFloat() {
							sd[k] = testutil.ToTensor(testutil.Float64s(t, v), dtypes.Float64, v.Shape().Dimensions...)
						}
					}
					x = testutil.ToTensor(testutil.Float64s(t, x), dtypes.Float64, x.Shape().Dimensions...)
					y = testutil.ToTensor(testutil.Float64s(t, y), dtypes.Float64, y.Shape().Dimensions...)
				}
				if err := ImportStateDict(ctx, cfg, sd); err != nil {
					t.Fatal(err)
				}
				_, goldenKey := gd.aligned(t, cfg)
				var trainable []nn.Var
				for _, s := range nn.Vars(cfg) {
					if s.Trainable {
						trainable = append(trainable, s)
					}
				}
				outs, err := model.CallOnceN(backend, ctx.Store(), func(ctx *model.Scope, x, y *graph.Node) []*graph.Node {
					g := x.Graph()
					ctx.Store().SetTraining(g, true)
					rates := nn.Forward(ctx, cfg, x).Rates
					loss := graph.ReduceAllMean(graph.Sub(rates, graph.Mul(y, graph.Log(graph.AddScalar(rates, 1e-8)))))
					vars := make([]*graph.Node, len(trainable))
					for i, s := range trainable {
						vars[i] = ctx.Store().GetVariable(model.JoinPath(s.ScopePath(ctx), s.Name)).NodeValue(g)
					}
					return append([]*graph.Node{rates, loss}, graph.Gradient(loss, vars...)...)
				}, x, y)
				if err != nil {
					t.Fatal(err)
				}
				if outs[0].DType() != dtype {
					t.Fatalf("rates dtype %s, want %s", outs[0].DType(), dtype)
				}
				if e := parityErr(testutil.Float64s(t, outs[0]), gd.get(t, "train_rates"), parityAtol); e > tol {
					t.Errorf("train rates: rel err %g", e)
				}
				if e := parityErr(testutil.Float64s(t, outs[1]), gd.get(t, "train_loss"), parityAtol); e > tol {
					t.Errorf("train loss: rel err %g", e)
				}
				worst, worstKey, worstZero := 0.0, "", 0.0
				for i, s := range trainable {
					got, err := tensorconv.Layout(outs[2+i], s.Shape, s.Perm, dtypes.Float64)
					if err != nil {
						t.Fatal(err)
					}
					gotV, wantV := testutil.Float64s(t, got), gd.get(t, "grad."+goldenKey[s.TorchKey])
					if e := parityErr(gotV, wantV, atol); e > tol {
						t.Errorf("gradient wrt %s: max|diff| %g > atol %g + rtol %g·max|want| (max|want| %g)",
							s.TorchKey, e*(atol/parityTol+maxAbs(wantV)), atol, tol, maxAbs(wantV))
					}
					if maxAbs(wantV) < 1e-12 { // exactly-zero gradients (biases before a batch norm)
						worstZero = math.Max(worstZero, maxAbs(gotV))
					} else if e := testutil.RelErr(gotV, wantV); e > worst {
						worst, worstKey = e, s.TorchKey
					}
				}
				t.Logf("%s %s: %d parameter gradients, worst rel err %.3g (%s); max |grad| where PyTorch's is 0: %.3g",
					dtype, gc.name, len(trainable), worst, worstKey, worstZero)
				if !gc.small || !cfg.IsCNN() {
					return
				}
				for _, s := range nn.Vars(cfg) {
					if s.Trainable {
						continue
					}
					v := ctx.Store().GetVariable(model.JoinPath(s.ScopePath(ctx), s.Name)).MustValue()
					if s.Int64 {
						if got, want := v.Value().(int64), gd.all["after."+goldenKey[s.TorchKey]].Value().(int64); got != want {
							t.Errorf("%s after one training step: %d, want %d", s.TorchKey, got, want)
						}
						continue
					}
					want := gd.get(t, "after."+goldenKey[s.TorchKey])
					if e := parityErr(testutil.Float64s(t, v), want, parityAtol); e > tol {
						t.Errorf("%s after one training step: rel err %g", s.TorchKey, e)
					}
				}
			})
		}
	}
}

func TestStateDictRoundTrip(t *testing.T) {
	backend := testBackend()
	for _, gc := range goldenCases() {
		if !gc.small {
			continue
		}
		t.Run(gc.name, func(t *testing.T) {
			// Golden (PyTorch) state dict → import → export: identical.
			gd := loadGolden(t, gc.name)
			ctx := model.NewStore().RootScope()
			if err := ImportStateDict(ctx, gc.cfg, gd.sd); err != nil {
				t.Fatal(err)
			}
			exported, err := ExportStateDict(ctx, gc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			goldenSD, _ := gd.aligned(t, gc.cfg)
			assertStateDictsEqual(t, exported, goldenSD)
			wantShapes, err := StateDictShapes(gc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for k, s := range wantShapes {
				if !slices.Equal(exported[k].Shape().Dimensions, s) {
					t.Errorf("StateDictShapes[%q] = %v, exported %v", k, s, exported[k].Shape().Dimensions)
				}
			}

			// Randomly initialised model → export → import into a new context → same outputs and
			// the same export.
			ctx1 := model.NewStore().RootScope()
			ctx1.SetParam(model.ParamInitialSeed, int64(7))
			evalFn := func(ctx *model.Scope, x *graph.Node) *graph.Node { return nn.Forward(ctx, gc.cfg, x).Rates }
			x := testutil.RandomWindows(gc.cfg.ImgShape, 2, 3)
			out1, err := model.CallOnce(backend, ctx1.Store(), evalFn, x)
			if err != nil {
				t.Fatal(err)
			}
			sd1, err := ExportStateDict(ctx1, gc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx2 := model.NewStore().RootScope()
			if err := ImportStateDict(ctx2, gc.cfg, sd1); err != nil {
				t.Fatal(err)
			}
			out2, err := model.CallOnce(backend, ctx2.Store(), evalFn, x)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(testutil.Float64s(t, out1), testutil.Float64s(t, out2)) {
				t.Errorf("outputs differ after export → import:\n%v\n%v", out1, out2)
			}
			sd2, err := ExportStateDict(ctx2, gc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			assertStateDictsEqual(t, sd2, sd1)
			// Importing into a context holding the model overwrites its values.
			if err := ImportStateDict(ctx1, gc.cfg, gd.sd); err != nil {
				t.Fatal(err)
			}
			sd3, err := ExportStateDict(ctx1, gc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			assertStateDictsEqual(t, sd3, goldenSD)
		})
	}
}

func assertStateDictsEqual(t *testing.T, got, want map[string]*tensors.Tensor) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("missing key %q", k)
			continue
		}
		if !slices.Equal(g.Shape().Dimensions, w.Shape().Dimensions) {
			t.Errorf("key %q: shape %v, want %v", k, g.Shape().Dimensions, w.Shape().Dimensions)
			continue
		}
		var gv, wv []float64
		if w.DType().IsInt() {
			gv, wv = []float64{float64(g.Value().(int64))}, []float64{float64(w.Value().(int64))}
		} else {
			gv, wv = testutil.Float64s(t, g), testutil.Float64s(t, w)
		}
		if !slices.Equal(gv, wv) {
			t.Errorf("key %q: values differ", k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected key %q", k)
		}
	}
}

func TestImportStateDictMismatch(t *testing.T) {
	bncnnSmall := loadGolden(t, "bncnn_small").sd
	stackedSmall := loadGolden(t, "linearstacked_small").sd
	otherChans := nntest.SmallConfig(nn.ModelBNCNN)
	otherChans.Chans = []int{3, 5}
	otherCells := nntest.SmallConfig(nn.ModelBNCNN)
	otherCells.NCells = 4
	withExtra := map[string]*tensors.Tensor{"sequential.99.weight": tensors.FromValue([]float32{1, 2})}
	withoutKey := map[string]*tensors.Tensor{}
	for k, v := range bncnnSmall {
		withExtra[k] = v
		if k != "sequential.8.running_var" {
			withoutKey[k] = v
		}
	}
	cases := []struct {
		name  string
		cfg   nn.ModelConfig
		sd    map[string]*tensors.Tensor
		wants []string
	}{
		{"bncnn-into-linearstacked", nntest.SmallConfig(nn.ModelLinearStacked), bncnnSmall,
			[]string{`missing key "sequential.0.convs.0.weight" (expected shape [3 6 3 3])`, `unexpected key "sequential.0.weight"`}},
		{"linearstacked-into-bncnn", nntest.SmallConfig(nn.ModelBNCNN), stackedSmall,
			[]string{`missing key "sequential.2.weight"`, `unexpected key "sequential.2.scale"`}},
		{"other-chans", otherChans, bncnnSmall,
			[]string{`key "sequential.6.weight": expected shape [5 3 3 3], got [4 3 3 3]`}},
		{"other-cells", otherCells, bncnnSmall,
			[]string{`key "sequential.13.weight" (sequential.11.weight in the state dict): expected shape [4 256], got [3 256]`}},
		{"extra-key", nntest.SmallConfig(nn.ModelBNCNN), withExtra, []string{`unexpected key "sequential.99.weight"`}},
		{"missing-key", nntest.SmallConfig(nn.ModelBNCNN), withoutKey, []string{`missing key "sequential.8.running_var"`}},
		{"ln-from-bncnn", nntest.SmallConfig(nn.ModelLN), bncnnSmall, []string{`missing key "sequential.1.weight"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := model.NewStore().RootScope()
			err := ImportStateDict(ctx, c.cfg, c.sd)
			if err == nil {
				t.Fatal("import of a mismatched state dict succeeded")
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if n := ctx.NumVariables(); n != 0 {
				t.Errorf("a failed import created %d variables", n)
			}
		})
	}

	// A context already holding a model of another shape is left untouched.
	ctx := model.NewStore().RootScope()
	if err := ImportStateDict(ctx, otherChans, mustExport(t, otherChans)); err != nil {
		t.Fatal(err)
	}
	before := testutil.Float64s(t, ctx.Store().GetVariable(model.JoinPath("/conv1", "kernel")).MustValue())
	bad := nntest.SmallConfig(nn.ModelBNCNN)
	if err := ImportStateDict(ctx, bad, bncnnSmall); err == nil || !strings.Contains(err.Error(), "existing variable") {
		t.Errorf("import over a model of another shape: got %v, want an 'existing variable' error", err)
	}
	if after := testutil.Float64s(t, ctx.Store().GetVariable(model.JoinPath("/conv1", "kernel")).MustValue()); !slices.Equal(before, after) {
		t.Error("failed import changed an existing variable")
	}
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

// mustExport initialises a model of cfg in a fresh context and exports it.
func mustExport(t *testing.T, cfg nn.ModelConfig) map[string]*tensors.Tensor {
	t.Helper()
	ctx := model.NewStore().RootScope()
	ctx.SetParam(model.ParamInitialSeed, int64(3))
	if _, err := model.CallOnce(testBackend(), ctx.Store(), func(ctx *model.Scope, x *graph.Node) *graph.Node {
		return nn.Forward(ctx, cfg, x).Rates
	}, testutil.RandomWindows(cfg.ImgShape, 2, 1)); err != nil {
		t.Fatal(err)
	}
	sd, err := ExportStateDict(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

func TestExportStateDictErrors(t *testing.T) {
	cfg := nntest.SmallConfig(nn.ModelBNCNN)
	if _, err := ExportStateDict(model.NewStore().RootScope(), cfg); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("export of an empty context: got %v", err)
	}
	bad := cfg
	bad.NCells = 0
	if _, err := ExportStateDict(model.NewStore().RootScope(), bad); err == nil || !strings.Contains(err.Error(), "NCells") {
		t.Errorf("export with an invalid config: got %v", err)
	}
}
