// Package xlaplugin finds the project's own XLA CPU plugin and sets the XLA CPU options the
// engine runs with. It is a low-level leaf: package retina's engine choice (ChooseEngine) and
// the tests' engines (internal/testutil) both go through it, so that they find the same plugin.
package xlaplugin

import (
	"os"
	"strings"

	"github.com/deepretina/deepretina/internal/repofile"
)

// The project's own XLA CPU plugin, installed by scripts/setup.sh from the Python package
// lammps-jax-pjrt-cpu 0.11.2 (XLA's CPU PJRT plugin built from jaxlib 0.11.2: PJRT C API 0.115,
// newer than the 0.104 go-xla v0.4.5 is compiled against), pinned by version and SHA-256.
const (
	// Dir is where the set-up puts the plugin, relative to the repository root.
	Dir = "deps/pjrt"
	// File is the plugin's file name inside Dir.
	File = "pjrt_c_api_cpu_plugin.so"
)

// Find returns the absolute path of the project's XLA CPU plugin, searching Dir beside the
// executable (bin/deepretina → ../deps/pjrt), in the working folder and its parents, and in the
// repository this package was compiled from (which is where tests and notebooks that import the
// module from a local checkout find it).
func Find() (string, bool) { return repofile.Find(Dir + "/" + File) }

// FindIn looks for Dir/File under each of roots in turn.
func FindIn(roots []string) (string, bool) { return repofile.FindIn(roots, Dir+"/"+File) }

// SearchRoots are the folders Find searches, in order (see package repofile).
func SearchRoots() []string { return repofile.SearchRoots() }

// CPUFlags returns the XLA CPU options the engine runs with when DEEPRETINA_XLA_ONEDNN=1,
// added to $XLA_FLAGS unless it already sets them: oneDNN's convolutions (the library PyTorch's CPU convolutions use) in
// place of XLA's own Eigen ones for the convolutions its rewriter accepts, which are the
// forward and input-gradient convolutions (the kernel-gradient ones, a window as large as the
// image with the batch as input features, stay on Eigen). LinearStackedBNCNN trained 1.24×
// faster with them at batch 64 on 2 cores, BNCNN as fast (docs/benchmarks.md).
func CPUFlags() []string {
	return []string{"--xla_cpu_use_onednn=true", "--xla_cpu_experimental_onednn_custom_call=true"}
}

// SetCPUFlags adds CPUFlags() to $XLA_FLAGS, which XLA's plugin reads when its first client
// is created, leaving any flag the user set there as it is.
func SetCPUFlags() {
	flags := os.Getenv("XLA_FLAGS")
	for _, f := range CPUFlags() {
		name, _, _ := strings.Cut(f, "=")
		if !strings.Contains(flags, name+"=") && !strings.Contains(flags, name+" ") && !strings.HasSuffix(flags, name) {
			flags = strings.TrimSpace(flags + " " + f)
		}
	}
	_ = os.Setenv("XLA_FLAGS", flags)
}
