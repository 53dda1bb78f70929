package retina_test

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/core/tensors/numpy"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/retina/nn/nntest"
	"github.com/deepretina/deepretina/torchio"
)

// TestTrainingStepMatchesPyTorch takes three training steps of the small BNCNN with the
// training objective and optimiser of this package (addTrainingLoss, newAdam) and compares the
// objective at each step and every parameter and running statistic afterwards with PyTorch's
// Adam(lr, weight_decay=l2) on the Poisson loss plus l1·Σ|pred| (golden file written by
// scripts/torch_golden_adam.py), in float64 so that the optimiser's constants show: GoMLX's
// default Adam epsilon (1e-7) fails it. The golden state dict goes in, and the trained one comes
// out, through package torchio.
func TestTrainingStepMatchesPyTorch(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, backend compute.Backend) {
		all, err := numpy.FromNpzFile(filepath.Join("testdata", "golden_adam_bncnn_small.npz"))
		if err != nil {
			t.Fatalf("golden file (regenerate with /usr/bin/python3 scripts/torch_golden_adam.py): %v", err)
		}
		scalar := func(k string) float64 { return testutil.Float64s(t, all[k])[0] }
		lr, l1, l2 := scalar("lr"), scalar("l1"), scalar("l2")
		mcfg := nntest.SmallConfig(nn.ModelBNCNN)
		mcfg.Noise = 0
		sd := map[string]*tensors.Tensor{}
		for k, v := range all {
			if key, ok := strings.CutPrefix(k, "sd."); ok {
				sd[key] = v
				if v.DType().IsFloat() {
					sd[key] = testutil.ToTensor(testutil.Float64s(t, v), dtypes.Float64, v.Shape().Dimensions...)
				}
			}
		}
		aligned, goldenKey, err := torchio.AlignStateDict(sd, mcfg)
		if err != nil {
			t.Fatalf("golden state dict not recognised: %v", err)
		}
		ctx := model.NewStore().RootScope()
		if err := torchio.ImportStateDict(ctx.At(retina.ModelScope), mcfg, aligned); err != nil {
			t.Fatal(err)
		}
		q := all["x_int8"]
		var xs []float64
		tensors.MustConstFlatData[int8](q, func(flat []int8) {
			for _, v := range flat {
				xs = append(xs, float64(float32(v)*float32(scalar("x_scale"))))
			}
		})
		x := testutil.ToTensor(xs, dtypes.Float64, q.Shape().Dimensions...)
		y := testutil.ToTensor(testutil.Float64s(t, all["y"]), dtypes.Float64, all["y"].Shape().Dimensions...)
		ctx.SetParam(optimizer.ParamLearningRate, lr)
		step, err := retina.NewTrainStep(backend, ctx.Store(), retina.NewAdam(lr), func(scope *model.Scope, inputs []*graph.Node) {
			retina.AddTrainingLoss(scope, mcfg, inputs[0], inputs[1], l1, l2, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
		wantLoss, wantDecay := testutil.Float64s(t, all["loss"]), testutil.Float64s(t, all["half_l2_sum_w2"])
		for i := range 3 {
			out, err := step.Call1(x, y)
			if err != nil {
				t.Fatal(err)
			}
			got, want := retina.ScalarOf(out), wantLoss[i]+wantDecay[i]
			if math.Abs(got-want) > 1e-9*math.Abs(want) {
				t.Errorf("step %d: objective %.12g, PyTorch's loss + ½·l2·Σw² %.12g", i+1, got, want)
			}
		}
		after, err := torchio.ExportStateDict(ctx.At(retina.ModelScope), mcfg)
		if err != nil {
			t.Fatal(err)
		}
		worst, worstKey := 0.0, ""
		for _, s := range nn.Vars(mcfg) {
			key := "after." + goldenKey[s.TorchKey]
			wantT, ok := all[key]
			if !ok {
				t.Fatalf("golden file lacks %s", key)
			}
			got := after[s.TorchKey]
			if s.Int64 {
				if got, want := got.Value().(int64), wantT.Value().(int64); got != want {
					t.Errorf("%s after 3 steps: %d, want %d", s.TorchKey, got, want)
				}
				continue
			}
			gotV, wantV := testutil.Float64s(t, got), testutil.Float64s(t, wantT)
			e := testutil.MaxRelErr(gotV, wantV, 1e-3)
			if e > worst {
				worst, worstKey = e, s.TorchKey
			}
			if e > 1e-7 {
				t.Errorf("%s after 3 steps: rel err %g", s.TorchKey, e)
			}
		}
		t.Logf("after 3 Adam steps, worst rel err %.3g (%s)", worst, worstKey)
	})
}
