package nn

import (
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/gobackend"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// TestStructureDescribesTheModel: the parts Structure lists are exactly the model's variables
// (as Forward creates them) and the state dict's entries (Vars, which torchio.ExportStateDict
// writes, the noise std aside, which is no variable), in the reference's module order.
func TestStructureDescribesTheModel(t *testing.T) {
	for _, typ := range []string{ModelBNCNN, ModelLinearStacked, ModelLN} {
		t.Run(typ, func(t *testing.T) {
			cfg := smallConfig(typ)
			parts, err := Structure(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := model.NewStore().RootScope()
			if _, err := model.CallOnce(gobackend.GetBackend(), ctx.Store(), func(ctx *model.Scope, x *graph.Node) *graph.Node {
				return Forward(ctx.At(ModelScope), cfg, x).Rates
			}, tensors.FromShape(shapeF32(2, cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2]))); err != nil {
				t.Fatal(err)
			}
			var vars []string
			for v := range ctx.IterVariables() {
				if rest, ok := strings.CutPrefix(v.Scope(), "/"+ModelScope+"/"); ok {
					vars = append(vars, rest+"/"+v.Name())
				}
			}
			var listed, keys []string
			for _, p := range parts {
				listed = append(listed, p.Variables...)
				keys = append(keys, p.Keys...)
				for _, k := range p.Keys {
					if !strings.HasPrefix(k, p.Torch) {
						t.Errorf("part %s (%s): key %s is not under %s", p.Scope, p.Role, k, p.Torch)
					}
				}
			}
			slices.Sort(vars)
			slices.Sort(listed)
			if !slices.Equal(vars, listed) {
				t.Errorf("variables %v\nStructure lists %v", vars, listed)
			}
			var exported []string
			for _, v := range Vars(cfg) {
				exported = append(exported, v.TorchKey)
			}
			slices.Sort(exported)
			slices.Sort(keys)
			if !slices.Equal(exported, keys) {
				t.Errorf("state dict %v\nStructure lists %v", exported, keys)
			}
			last := parts[len(parts)-1]
			if typ != ModelLN && (last.Role != "output-batchnorm" || last.Scope != scopeOutputBN) {
				t.Errorf("the last part is %+v, want the output batch norm", last)
			}
		})
	}
}
