// Command pjrtcheck checks that a PJRT plugin loads with the go-xla this module builds with and
// runs a computation: scripts/install_xla_cpu.sh runs it on the plugin it installs.
//
//	go run ./internal/tools/pjrtcheck deps/pjrt/pjrt_c_api_cpu_plugin.so
//
// It prints the plugin's PJRT C API version and fails (exit 1, one line naming the plugin and
// what was expected) when the plugin does not load, reports an older PJRT C API than go-xla was
// compiled against, or computes 1+2 wrong.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/gomlx/compute"
	"github.com/gomlx/go-xla/compute/xla"
	"github.com/gomlx/go-xla/pjrt"
	"github.com/gomlx/gomlx/core/graph"
)

// goXLAVersion is the go-xla release whose pjrt/pjrt_c_api.h declares PJRT_API_MINOR =
// headerMinor. A plugin built against an older header lacks fields go-xla reads; a newer one is
// backward compatible (PJRT's struct_size convention). When go.mod moves go-xla, re-read the
// header and update both.
const (
	goXLAVersion = "v0.4.5"
	headerMinor  = 104
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pjrtcheck /path/to/pjrt_plugin.so")
		os.Exit(2)
	}
	if err := check(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "pjrtcheck:", err)
		os.Exit(1)
	}
}

func check(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if v := buildGoXLA(); v != goXLAVersion {
		return fmt.Errorf("this binary is built with go-xla %s but pjrtcheck knows the PJRT header of go-xla %s: update goXLAVersion and headerMinor in internal/tools/pjrtcheck", v, goXLAVersion)
	}
	plugin, err := pjrt.GetPlugin(abs)
	if err != nil {
		return fmt.Errorf("plugin %s does not load: %w", abs, err)
	}
	major, minor := plugin.Version()
	if major != 0 || minor < headerMinor {
		return fmt.Errorf("plugin %s has PJRT C API %d.%d; go-xla %s needs 0.%d or newer", abs, major, minor, goXLAVersion, headerMinor)
	}
	xla.EnableAutoInstall(false)
	backend, err := compute.NewWithConfig("xla:" + abs)
	if err != nil {
		return fmt.Errorf("plugin %s: GoMLX's XLA engine: %w", abs, err)
	}
	defer backend.Finalize()
	out, err := graph.CallOnce(backend, func(x *graph.Node) *graph.Node { return graph.AddScalar(x, 2) }, float32(1))
	if err != nil {
		return fmt.Errorf("plugin %s: running 1+2: %w", abs, err)
	}
	if got := out.Value().(float32); got != 3 {
		return fmt.Errorf("plugin %s: 1+2 gave %v", abs, got)
	}
	fmt.Printf("pjrtcheck: %s loads (PJRT C API %d.%d, go-xla %s needs ≥ 0.%d) and computes 1+2 = 3\n", abs, major, minor, goXLAVersion, headerMinor)
	return nil
}

// buildGoXLA is the go-xla version this binary was built with ("" if unknown).
func buildGoXLA() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/gomlx/go-xla" {
				return d.Version
			}
		}
	}
	return ""
}
