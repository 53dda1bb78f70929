package retina

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
)

// testEngine is one of the engines the numerical tests run on.
type testEngine struct {
	name    string
	backend compute.Backend
}

var (
	xlaOnce    sync.Once
	xlaEngine  compute.Backend
	xlaFailure string
)

// xlaTestBackend is the XLA engine of the tests, created once per test process (as in the
// product, one XLA client per process): $GOMLX_BACKEND when it names XLA (so that a GPU machine
// tests its CUDA plugin), else the project's CPU plugin. A machine without it fails the test
// with the command that installs it, rather than skipping.
func xlaTestBackend(t testing.TB) compute.Backend {
	t.Helper()
	xlaOnce.Do(func() {
		cfg := os.Getenv(compute.ConfigEnvVar)
		if !strings.HasPrefix(cfg, "xla") {
			path, ok := FindProjectPlugin()
			if !ok {
				xlaFailure = "XLA's CPU plugin is not installed (" + PluginDir + "/" + PluginFile + "): run scripts/setup.sh"
				return
			}
			cfg = "xla:" + path
		}
		if os.Getenv("DEEPRETINA_XLA_ONEDNN") == "1" && !strings.Contains(cfg, "cuda") {
			setXLACPUFlags() // the product's opt-in XLA CPU options (ChooseEngine)
		}
		b, err := compute.NewWithConfig(cfg)
		if err != nil {
			xlaFailure = "XLA engine " + cfg + ": " + err.Error()
			return
		}
		xlaEngine = b
	})
	if xlaEngine == nil {
		t.Fatal(xlaFailure)
	}
	return xlaEngine
}

// testEngines are XLA, the default engine, and the pure-Go fallback.
func testEngines(t testing.TB) []testEngine {
	return []testEngine{{"xla", xlaTestBackend(t)}, {"go", gobackend.GetBackend()}}
}

// forEachEngine runs test once per engine, as a subtest named after it.
func forEachEngine(t *testing.T, test func(t *testing.T, backend compute.Backend)) {
	for _, e := range testEngines(t) {
		t.Run(e.name, func(t *testing.T) { test(t, e.backend) })
	}
}

func TestEnginesPickTheirConvolution(t *testing.T) {
	if !NativeConvolution(xlaTestBackend(t)) {
		t.Error("XLA: Conv2D should use the engine's own convolution")
	}
	if NativeConvolution(gobackend.GetBackend()) {
		t.Error("pure Go: Conv2D should use the gather formulation (faster there than the backend's own)")
	}
}

func TestChooseEngineOrder(t *testing.T) {
	plugin, ok := FindProjectPlugin()
	if !ok {
		t.Fatal("XLA's CPU plugin is not installed: run scripts/setup.sh")
	}
	repo := filepath.Dir(filepath.Dir(filepath.Dir(plugin))) // <repo>/deps/pjrt/plugin.so
	cases := []struct {
		name, env string
		roots     []string
		want      []string // acceptable reasons (prefixes)
		config    string
	}{
		{"GOMLX_BACKEND wins over the project's plugin", "go", []string{repo}, []string{"engine Go Backend from GOMLX_BACKEND=go"}, "go"},
		{"the project's plugin", "", []string{t.TempDir(), repo}, []string{"engine XLA CPU, the project's plugin " + plugin}, "xla:" + plugin},
		{"no project plugin: standard locations, else pure Go", "", []string{t.TempDir()},
			[]string{"engine XLA from gopjrt's standard plugin locations", "engine pure Go (slow): no XLA plugin found"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := chooseEngine(c.env, c.roots)
			if err != nil {
				t.Fatal(err)
			}
			matched := false
			for _, w := range c.want {
				matched = matched || strings.HasPrefix(e.Reason, w)
			}
			if !matched {
				t.Errorf("reason %q, want one of %q", e.Reason, c.want)
			}
			if c.config != "" && e.Config != c.config {
				t.Errorf("config %q, want %q", e.Config, c.config)
			}
			if strings.Contains(e.Reason, "\n") {
				t.Errorf("the choice must be announced in one line: %q", e.Reason)
			}
		})
	}
}
