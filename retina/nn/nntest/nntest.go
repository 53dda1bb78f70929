// Package nntest holds the model configurations and inputs that tests of the packages above
// retina/nn share: the small models of the PyTorch golden files (scripts/torch_golden.py); their
// deterministic input batches are internal/testutil.RandomWindows. Only tests import it.
// Package nn's own tests keep a copy of SmallConfig, since they cannot import this package (it
// imports nn, and SmallConfig's result is nn's type).
package nntest

import "github.com/deepretina/deepretina/retina/nn"

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
