package nn

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// TestRecordingBNStatsStayWithTheirRecording trains one step of recording a of a core shared
// with recording b: with RecordingBNStats, a's batch moves a's running statistics and leaves
// b's bit for bit, while both read the one learned scale and shift; with shared statistics
// (as every run before them) a's batch moves the statistics b is evaluated with.
func TestRecordingBNStatsStayWithTheirRecording(t *testing.T) {
	for _, mtype := range []string{ModelBNCNN, ModelLinearStacked} {
		for _, perRecording := range []bool{true, false} {
			name := mtype + "/shared"
			if perRecording {
				name = mtype + "/per-recording"
			}
			t.Run(name, func(t *testing.T) {
				cfgA, cfgB := smallConfig(mtype), smallConfig(mtype)
				cfgA.ReadoutScope, cfgB.ReadoutScope = ReadoutScopeOf("a"), ReadoutScopeOf("b")
				cfgA.RecordingBNStats, cfgB.RecordingBNStats = perRecording, perRecording
				statsOf := func(cfg ModelConfig) []string {
					var paths []string
					for _, v := range CoreVars(cfg) {
						if v.Name == bnRunningMean || v.Name == bnRunningVar {
							paths = append(paths, "/"+strings.Join(append(slices.Clone(v.Scope), v.Name), "/"))
						}
					}
					return paths
				}
				statsA, statsB := statsOf(cfgA), statsOf(cfgB)
				if len(statsA) != 4 {
					t.Fatalf("core running statistics of a: %v; want bn1's and bn2's mean and variance", statsA)
				}
				if perRecording {
					for _, p := range statsA {
						if !strings.HasPrefix(p, "/readout/a/bn") {
							t.Fatalf("a's running statistic %s is not under a's readout scope", p)
						}
					}
				} else if !slices.Equal(statsA, statsB) {
					t.Fatalf("shared statistics at %v for a and %v for b", statsA, statsB)
				}
				// The state-dict keys stay the reference's: an exported recording is its model.
				keys := func(cfg ModelConfig) (out []string) {
					for _, v := range Vars(cfg) {
						out = append(out, v.TorchKey)
					}
					return out
				}
				if ref := smallConfig(mtype); !slices.Equal(keys(cfgA), keys(ref)) {
					t.Errorf("state-dict keys %v; the reference model's %v", keys(cfgA), keys(ref))
				}

				store := model.NewStore()
				rng := rand.New(rand.NewPCG(3, 4))
				const b = 6
				x := make([]float32, b*cfgA.ImgShape[0]*cfgA.ImgShape[1]*cfgA.ImgShape[2])
				for i := range x {
					x[i] = float32(3*rng.NormFloat64() + 1) // far from the initial statistics (0, 1)
				}
				run := func(cfg ModelConfig, training bool) {
					t.Helper()
					exec, err := model.NewExec(testBackend(), store, func(ctx *model.Scope, x *graph.Node) *graph.Node {
						ctx.Store().SetTraining(x.Graph(), training)
						return Forward(ctx, cfg, x).Rates
					})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, b, cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2])); err != nil {
						t.Fatal(err)
					}
				}
				run(cfgB, false) // creates b's variables, changes none
				run(cfgA, false)
				snapshot := func(paths []string) []string {
					out := make([]string, len(paths))
					for i, p := range paths {
						v := store.GetVariable(p)
						if v == nil {
							t.Fatalf("no variable %s", p)
						}
						if err := v.MustValue().ConstBytes(func(data []byte) { out[i] = string(data) }); err != nil {
							t.Fatal(err)
						}
					}
					return out
				}
				beforeA, beforeB := snapshot(statsA), snapshot(statsB)
				run(cfgA, true) // one training batch of recording a
				afterA, afterB := snapshot(statsA), snapshot(statsB)
				for i := range statsA {
					if afterA[i] == beforeA[i] {
						t.Errorf("a's training batch left %s unchanged", statsA[i])
					}
				}
				for i := range statsB {
					if changed := afterB[i] != beforeB[i]; changed == perRecording {
						t.Errorf("RecordingBNStats %v: a's training batch changed b's %s: %v", perRecording, statsB[i], changed)
					}
				}
				// One learned scale and shift per core batch norm, whichever recording trains.
				for _, p := range []string{"/bn1", "/bn2"} {
					scale := p + "/" + bnWeight
					if mtype == ModelLinearStacked {
						scale = p + "/" + bnAbsScale
					}
					if store.GetVariable(scale) == nil {
						t.Errorf("no shared %s", scale)
					}
					if got := store.GetVariable(p+"/"+bnRunningMean) != nil; got == perRecording {
						t.Errorf("RecordingBNStats %v: a shared %s/%s exists: %v", perRecording, p, bnRunningMean, got)
					}
				}
			})
		}
	}
}

func TestRecordingBNStatsNeedsAReadoutScope(t *testing.T) {
	cfg := smallConfig(ModelBNCNN)
	cfg.RecordingBNStats = true
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "RecordingBNStats") {
		t.Errorf("RecordingBNStats without a ReadoutScope: %v; want an error naming the field", err)
	}
	cfg.ReadoutScope = ReadoutScopeOf("r1")
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}
