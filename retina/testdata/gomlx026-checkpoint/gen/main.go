// Regenerate (from this folder): go mod tidy && go run . ../
// Writes a GoMLX v0.26.0 checkpoint with known values, the fixture of deepretina's
// TestCheckpointHeaderShim: /model/w = 0, 0.5, 1, … (1000 float32), /model/n = int64 7.
package main

import (
	"fmt"
	"os"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
)

func main() {
	_ = backends.ConfigEnvVar
	ctx := context.New()
	w := make([]float32, 1000)
	for i := range w {
		w[i] = float32(i) * 0.5
	}
	ctx.In("model").VariableWithValue("w", tensors.FromValue(w))
	ctx.In("model").VariableWithValue("n", int64(7))
	h, err := checkpoints.Build(ctx).Dir(os.Args[1]).Keep(-1).Done()
	if err != nil {
		panic(err)
	}
	if err := h.Save(); err != nil {
		panic(err)
	}
	fmt.Println("saved")
}
