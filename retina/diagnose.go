package retina

import (
	"fmt"
	"math"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/retina/nn"
)

// diagnoseNonFinite explains a NaN/Inf loss: it reruns the offending batch through the model
// (inference mode) and reports, layer by layer from the input up, the largest activation and
// whether it is finite, together with the first variable that holds a NaN/Inf. The first layer
// that breaks is where to look.
func (t *trainer) diagnoseNonFinite(h *head, starts *tensors.Tensor) string {
	var parts []string
	if name := firstNonFiniteVariable(t.store); name != "" {
		parts = append(parts, "first non-finite variable: "+name)
	}
	mcfg := h.mcfg
	history, norm := t.meta.InputShape[0], h.norm
	layers := append(nn.HiddenLayerNames(mcfg), "rates")
	exec, err := model.NewExec(t.backend, t.store, func(ctx *model.Scope, stim, starts *Node) []*Node {
		out := nn.Forward(ctx.At(ModelScope), mcfg, gatherWindows(stim, starts, history, norm))
		var res []*Node
		for _, name := range layers {
			h := out.Rates
			if name != "rates" {
				h = out.Hidden[name]
			}
			res = append(res, ReduceAllMax(Abs(h)))
		}
		return res
	})
	if err != nil {
		return strings.Join(append(parts, "diagnosis failed: "+err.Error()), "; ")
	}
	res, err := exec.Exec(h.trainDev.stim, starts)
	if err != nil {
		return strings.Join(append(parts, "diagnosis failed: "+err.Error()), "; ")
	}
	for i, name := range layers {
		m := scalarOf(res[i])
		state := "finite"
		if math.IsNaN(m) || math.IsInf(m, 0) {
			state = "NON-FINITE"
		}
		parts = append(parts, fmt.Sprintf("%s max|a| %.3g (%s)", name, m, state))
	}
	return strings.Join(parts, "; ")
}
