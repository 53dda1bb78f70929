package nn

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/datasets"
)

// InitOutputToRates starts the output layer at each cell's firing-rate statistics. The
// reference begins every cell at softplus(N(0,1)) ≈ 1 Hz, and Adam then spends most of a short
// CPU run just scaling the output up to rates of tens of Hz; starting at the data's scale leaves
// the training to the shape of the response. For BN-output models the final batch norm's shift
// becomes softplus⁻¹(mean rate) and its scale the rate's std (with an exponential output, the
// log-normal parameters of the rates' mean and std); for LN the dense bias becomes
// softplus⁻¹(mean rate).
//
// rates: [T, N] training targets. The model's variables must exist (build a graph first).
func InitOutputToRates(ctx *model.Scope, cfg ModelConfig, rates datasets.Matrix) error {
	n := cfg.NCells
	means, stds := make([]float32, n), make([]float32, n)
	for c := 0; c < n; c++ {
		var s, ss float64
		for t := 0; t < rates.Rows; t++ {
			v := float64(rates.At(t, c))
			s += v
			ss += v * v
		}
		m := s / float64(rates.Rows)
		variance := math.Max(ss/float64(rates.Rows)-m*m, 1e-6)
		means[c] = float32(inverseSoftplus(math.Max(m, 1e-3)))
		stds[c] = float32(math.Sqrt(variance))
		if cfg.ExpOutput {
			// rates = exp(x): x normal gives log-normal rates, here with the data's mean and
			// variance (softplus' linear scaling would blow up under exp).
			m = math.Max(m, 1e-3)
			sigma2 := math.Log1p(variance / (m * m))
			means[c], stds[c] = float32(math.Log(m)-sigma2/2), float32(math.Sqrt(sigma2))
		}
	}
	scope := "/" + ModelScope + "/" + cfg.readoutScopePath(scopeOutputBN)
	shift, scale := bnBias, bnWeight
	switch cfg.Type {
	case ModelLinearStacked:
		shift, scale = bnAbsShift, bnAbsScale
	case ModelLN:
		scope, shift, scale = "/"+ModelScope+"/"+scopeDense, "bias", ""
	}
	set := func(name string, values []float32) error {
		v := ctx.Store().GetVariable(model.JoinPath(scope, name))
		if v == nil {
			return fmt.Errorf("output init: variable %s/%s does not exist", scope, name)
		}
		return v.SetValue(tensors.FromValue(values))
	}
	if err := set(shift, means); err != nil {
		return err
	}
	if scale != "" {
		return set(scale, stds)
	}
	return nil
}

// inverseSoftplus is log(exp(y) − 1), computed stably for large y.
func inverseSoftplus(y float64) float64 {
	if y > 20 {
		return y
	}
	return math.Log(math.Expm1(y))
}
