package retina

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/core/tensors/numpy"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// TestTrainingStepMatchesPyTorch takes three training steps of the small BNCNN with the
// training objective and optimiser of this package (addTrainingLoss, newAdam) and compares the
// objective at each step and every parameter and running statistic afterwards with PyTorch's
// Adam(lr, weight_decay=l2) on the Poisson loss plus l1·Σ|pred| (golden file written by
// scripts/torch_golden_adam.py), in float64 so that the optimiser's constants show: GoMLX's
// default Adam epsilon (1e-7) fails it.
func TestTrainingStepMatchesPyTorch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, backend compute.Backend) {
		all, err := numpy.FromNpzFile(filepath.Join("testdata", "golden_adam_bncnn_small.npz"))
		if err != nil {
			t.Fatalf("golden file (regenerate with /usr/bin/python3 scripts/torch_golden_adam.py): %v", err)
		}
		scalar := func(k string) float64 { return mustFloat64s(t, all[k])[0] }
		lr, l1, l2 := scalar("lr"), scalar("l1"), scalar("l2")
		mcfg := smallConfig(ModelBNCNN)
		mcfg.Noise = 0
		sd := map[string]*tensors.Tensor{}
		for k, v := range all {
			if key, ok := strings.CutPrefix(k, "sd."); ok {
				sd[key] = v
				if v.DType().IsFloat() {
					sd[key] = toTensor(mustFloat64s(t, v), dtypes.Float64, v.Shape().Dimensions...)
				}
			}
		}
		lay, err := analyseSequential(sd)
		if err != nil {
			t.Fatalf("golden state dict not recognised: %v", err)
		}
		aligned, goldenKey := lay.rename(mcfg)
		ctx := model.NewStore().RootScope()
		if err := ImportStateDict(ctx.At(ModelScope), mcfg, aligned); err != nil {
			t.Fatal(err)
		}
		q := all["x_int8"]
		var xs []float64
		tensors.MustConstFlatData[int8](q, func(flat []int8) {
			for _, v := range flat {
				xs = append(xs, float64(float32(v)*float32(scalar("x_scale"))))
			}
		})
		x := toTensor(xs, dtypes.Float64, q.Shape().Dimensions...)
		y := toTensor(mustFloat64s(t, all["y"]), dtypes.Float64, all["y"].Shape().Dimensions...)
		ctx.SetParam(optimizer.ParamLearningRate, lr)
		step, err := newTrainStep(backend, ctx.Store(), newAdam(lr), func(scope *model.Scope, inputs []*Node) {
			addTrainingLoss(scope, mcfg, inputs[0], inputs[1], l1, l2)
		})
		if err != nil {
			t.Fatal(err)
		}
		wantLoss, wantDecay := mustFloat64s(t, all["loss"]), mustFloat64s(t, all["half_l2_sum_w2"])
		for i := range 3 {
			out, err := step.Call1(x, y)
			if err != nil {
				t.Fatal(err)
			}
			got, want := scalarOf(out), wantLoss[i]+wantDecay[i]
			if math.Abs(got-want) > 1e-9*math.Abs(want) {
				t.Errorf("step %d: objective %.12g, PyTorch's loss + ½·l2·Σw² %.12g", i+1, got, want)
			}
		}
		worst, worstKey := 0.0, ""
		for _, s := range modelSpecs(mcfg) {
			key := "after." + goldenKey[s.torchKey]
			wantT, ok := all[key]
			if !ok {
				t.Fatalf("golden file lacks %s", key)
			}
			v := ctx.Store().GetVariable(model.JoinPath(s.scopePath(ctx.At(ModelScope)), s.name))
			if s.int64 {
				if got, want := v.MustValue().Value().(int64), wantT.Value().(int64); got != want {
					t.Errorf("%s after 3 steps: %d, want %d", s.torchKey, got, want)
				}
				continue
			}
			got, err := convertLayout(v.MustValue(), s.shape, s.perm, dtypes.Float64)
			if err != nil {
				t.Fatal(err)
			}
			gotV, wantV := mustFloat64s(t, got), mustFloat64s(t, wantT)
			e := maxRelErr(gotV, wantV, 1e-3)
			if e > worst {
				worst, worstKey = e, s.torchKey
			}
			if e > 1e-7 {
				t.Errorf("%s after 3 steps: rel err %g", s.torchKey, e)
			}
		}
		t.Logf("after 3 Adam steps, worst rel err %.3g (%s)", worst, worstKey)
	})
}

// TestPlateauThresholdIsRelative: as PyTorch's ReduceLROnPlateau (mode "max", threshold 1e-4,
// threshold_mode "rel"), a validation correlation improves on the best one when it exceeds
// best·(1 + 1e-4), not best + 1e-4.
func TestPlateauThresholdIsRelative(t *testing.T) {
	for _, c := range []struct {
		score, best float64
		want        bool
	}{
		{0.50006, 0.5, true},  // above 0.5·1.0001 = 0.50005; an absolute 1e-4 would say no
		{0.50004, 0.5, false}, // below it
		{0.900091, 0.9, true},
		{0.900089, 0.9, false},
		{-1.9999, noCorrelation, true}, // the first epoch always improves on "no correlation yet"
	} {
		if got := plateauImproved(c.score, c.best); got != c.want {
			t.Errorf("plateauImproved(%g, %g) = %v, want %v", c.score, c.best, got, c.want)
		}
	}
}
