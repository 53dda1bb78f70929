package retina

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute/gobackend"

	"github.com/deepretina/deepretina/internal/testutil"
	"github.com/deepretina/deepretina/retina/nn"
)

func TestEnginesPickTheirConvolution(t *testing.T) {
	if !nn.NativeConvolution(testutil.XLABackend(t)) {
		t.Error("XLA: Conv2D should use the engine's own convolution")
	}
	if nn.NativeConvolution(gobackend.GetBackend()) {
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
