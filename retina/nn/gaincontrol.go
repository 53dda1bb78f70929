package nn

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// The optional divisive contrast gain-control stage (ModelConfig.GainControl, issue 19). In
// the retina, contrast gain control is divisive and driven by a contrast signal pooled over
// space and the recent past (Shapley & Victor 1978; Baccus & Meister 2002); its standard model
// is divisive normalisation (Heeger 1992; Carandini & Heeger 2012). Here each channel c of the
// first hidden layer, after its batch norm, is divided:
//
//	y[b,c,h,w] = z[b,c,h,w] / (1 + softplus(a[c]) · s[b])
//
// where z is bn1's output and s[b] the local contrast of sample b's input window: the standard
// deviation of the z-scored stimulus over the whole frame and its most recent
// GainControlFrames frames (all of them when the history is shorter). Because the channels
// have different temporal filters and learn different a[c], the mixture the second layer
// reads changes with contrast, so the effective filter can speed up as well as lose gain.
//
// The division comes after the batch norm, not before, for two reasons: the batch norm's
// batch statistics in training would otherwise renormalise away part of the contrast
// dependence the stage adds (it divides each unit by the spread of u/(1+k·s) over the batch),
// and after it the stage scales the whole affine drive γẑ+β, so that ReLU(y) =
// ReLU(γẑ+β)/(1+k·s): a pure gain change of the rectified unit, Heeger's normalised response,
// with its threshold unchanged. The training noise is added after the stage (it stands for
// noise downstream of the gain control), as it was after the batch norm.

// GainControlFrames is the number of most recent frames (200 ms at the simulated
// retina's 10-ms frames) over which the gain-control stage measures the input's
// contrast: the time scale of the fast component of retinal contrast adaptation (Baccus &
// Meister 2002: tens to a few hundred ms).
const GainControlFrames = 20

// gainControlInit is the initial a[c] of every channel: softplus(−3) ≈ 0.049, so that at the
// z-scored stimulus' unit contrast the stage starts within 5% of the identity.
const gainControlInit = -3

// gainControlEps keeps the contrast's square root differentiable at a uniform window (s² = 0).
const gainControlEps = 1e-6

// scopeGain is the gain-control stage's variable scope under ModelScope.
const scopeGain = "gain1"

// gainSpecs lists the stage's variables: gain1/a [C1], the channels' pre-softplus strengths.
// Empty without ModelConfig.GainControl.
func gainSpecs(cfg ModelConfig) []varSpec {
	if !cfg.GainControl || !cfg.IsCNN() || len(cfg.Chans) == 0 {
		return nil
	}
	return []varSpec{{scope: []string{scopeGain}, name: "a", shape: []int{cfg.Chans[0]}, trainable: true,
		init: initConstant, value: gainControlInit}}
}

// ContrastSignal is the gain-control stage's contrast of each window of x [B, History, H, W]:
// s [B], the standard deviation of x over the frame and its last min(GainControlFrames,
// History) frames (the square root of their variance plus 1e-6).
func ContrastSignal(x *graph.Node) *graph.Node {
	hist := x.Shape().Dimensions[1]
	k := min(GainControlFrames, hist)
	recent := graph.Slice(x, graph.AxisRange(), graph.AxisRange(hist-k, hist))
	mean := graph.ReduceAndKeep(recent, graph.ReduceMean, 1, 2, 3)
	variance := graph.ReduceMean(graph.Square(graph.Sub(recent, mean)), 1, 2, 3)
	return graph.Sqrt(graph.AddScalar(variance, gainControlEps))
}

// gainControlApply divides flat [B, C1·H1·W1] (bn1's output, PyTorch's flatten of [C1, H1,
// W1]) channel by channel by 1 + softplus(a[c])·s[b], with s = ContrastSignal(x).
func gainControlApply(ctx *model.Scope, cfg ModelConfig, x, flat *graph.Node) *graph.Node {
	specs := gainSpecs(cfg)
	if len(specs) != 1 {
		panic(fmt.Errorf("nn: gain control applied to a model without it (ModelConfig.GainControl %v, type %q)", cfg.GainControl, cfg.Type))
	}
	g := x.Graph()
	b := x.Shape().Dimensions[0]
	s1 := cfg.LayerShapes()[LayerConv1]
	a := materializeVar(ctx, specs[0], flat.DType()).NodeValue(g)                    // [C1]
	s := graph.ConvertDType(ContrastSignal(x), flat.DType())                         // [B]
	k := graph.Softplus(a)                                                           // [C1]
	den := graph.OnePlus(graph.Mul(graph.InsertAxes(s, -1), graph.InsertAxes(k, 0))) // [B, C1]
	u := graph.Reshape(flat, b, s1[0], s1[1]*s1[2])
	y := graph.Div(u, graph.InsertAxes(den, -1))
	return graph.Reshape(y, b, s1[0]*s1[1]*s1[2])
}
