//go:build tools

// Package tools pins the versions of modules that the project's packages and set-up use, so
// that parallel work never races on go.mod. It is never built.
package tools

import (
	_ "github.com/gomlx/compute/gobackend"
	_ "github.com/gomlx/go-xla/compute/xla"
	_ "github.com/gomlx/gomlx/core/tensors/numpy"
	_ "github.com/gomlx/gomlx/ml/model/checkpoint"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/spf13/cobra"
	_ "gonum.org/v1/gonum/stat"
	_ "gonum.org/v1/hdf5"
)
