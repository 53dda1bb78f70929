// Package nntest holds the model configurations and inputs that tests of the packages above
// retina/nn share: the small models of the PyTorch golden files (scripts/torch_golden.py) and
// deterministic input batches. Only tests import it. Package nn's own tests keep copies of
// SmallConfig and RandomInput, since they cannot import this package (it imports nn).
package nntest

import (
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/deepretina/deepretina/retina/nn"
)

// SmallConfig is the small model of the golden files: 3 cells, a 6-frame history of 14×14
// pixels, channels [3, 4], kernels [5, 3] ([7, 3] for a linear stack, whose kernels must be
// odd and at least 3).
func SmallConfig(modelType string) nn.ModelConfig {
	cfg := nn.DefaultModelConfig(3)
	cfg.Type = modelType
	cfg.ImgShape = [3]int{6, 14, 14}
	cfg.Chans = []int{3, 4}
	cfg.KSizes = []int{5, 3}
	if modelType == nn.ModelLinearStacked {
		cfg.KSizes = []int{7, 3}
	}
	return cfg
}

// RandomInput returns a deterministic input batch [batch, History, H, W] (float32, values in
// [−2.5, 2.5]) for the model cfg.
func RandomInput(cfg nn.ModelConfig, batch int, seed uint64) *tensors.Tensor {
	n := batch * cfg.ImgShape[0] * cfg.ImgShape[1] * cfg.ImgShape[2]
	data := make([]float32, n)
	s := seed*2654435761 + 1
	for i := range data {
		s = s*6364136223846793005 + 1442695040888963407
		data[i] = float32(int64(s>>40)%2001-1000) / 400
	}
	return tensors.FromFlatDataAndDimensions(data, batch, cfg.ImgShape[0], cfg.ImgShape[1], cfg.ImgShape[2])
}
