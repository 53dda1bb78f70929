package torchio_test

import (
	"fmt"

	"github.com/deepretina/deepretina/torchio"
)

// Example reads a checkpoint that torch-deep-retina's code wrote (scripts/torch_checkpoints.py)
// and prints the Go model it describes.
func Example() {
	ckpt, err := torchio.LoadCheckpoint("testdata/torch/bncnn_newest_zip.pt")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ckpt.Format, ckpt.ModelType, ckpt.ModuleOrder, ckpt.Model.Type, ckpt.Model.ImgShape, ckpt.Model.Chans, ckpt.Model.NCells)
	// Output: zip BNCNN newest bncnn [10 20 20] [4 4] 8
}
