package torchio

import (
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/retina/nn/nntest"
)

// A model with the divisive gain-control stage has no module in the reference: export, the
// state-dict shapes and import refuse it with an error naming the config key; the same model
// without the stage still exports.
func TestGainControlHasNoStateDict(t *testing.T) {
	for _, typ := range []string{nn.ModelBNCNN, nn.ModelLinearStacked} {
		cfg := nntest.SmallConfig(typ)
		cfg.GainControl = true
		ctx := model.NewStore().RootScope()
		if _, err := model.CallOnce(testBackend(), ctx.Store(), func(ctx *model.Scope, x *graph.Node) *graph.Node {
			return nn.Forward(ctx, cfg, x).Rates
		}, testutil.RandomWindows(cfg.ImgShape, 2, 1)); err != nil {
			t.Fatal(err)
		}
		_, errExport := ExportStateDict(ctx, cfg)
		_, errShapes := StateDictShapes(cfg)
		plain := cfg
		plain.GainControl = false
		errImport := ImportStateDict(model.NewStore().RootScope(), cfg, mustExport(t, plain))
		for what, err := range map[string]error{"export": errExport, "shapes": errShapes, "import": errImport} {
			if err == nil || !strings.Contains(err.Error(), `"gain_control"`) {
				t.Errorf("%s %s with the gain-control stage: %v, want a refusal naming \"gain_control\"", typ, what, err)
			}
		}
	}
}
