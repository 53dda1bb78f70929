//go:build tools

// Package nbtools pins the notebook tools that scripts/notebooks.sh installs: the GoNB Jupyter
// kernel (v0.11.5) and goimports (v0.52.0, which GoNB runs on every cell). It is a module of its
// own so that their dependencies never enter the project's go.mod. It is never built.
package nbtools

import (
	_ "github.com/janpfeifer/gonb"
	_ "golang.org/x/tools/cmd/goimports"
)
