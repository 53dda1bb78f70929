package retina

import (
	"fmt"
	"io"
	"os"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // the pure-Go engine, always available
	_ "github.com/gomlx/gomlx/backends/xla"      // XLA/PJRT, used when a plugin is installed
)

// NewBackend picks the engine that runs the models. $GOMLX_BACKEND wins when set ("go",
// "xla", "xla:cuda", "xla:/abs/path/plugin.so"). Otherwise XLA is used if a PJRT plugin is
// already installed — nothing is downloaded — and the pure-Go backend if not; the fallback is
// announced on notice (nil for silence) because it is orders of magnitude slower on big models.
func NewBackend(notice io.Writer) (backends.Backend, error) {
	if cfg, ok := os.LookupEnv(backends.ConfigEnvVar); ok && cfg != "" {
		b, err := backends.NewWithConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("backend %s=%q: %w", backends.ConfigEnvVar, cfg, err)
		}
		return b, nil
	}
	if b, err := probeXLA(); err == nil {
		return b, nil
	}
	b, err := backends.NewWithConfig("go")
	if err != nil {
		return nil, fmt.Errorf("pure-Go backend: %w", err)
	}
	if notice != nil {
		fmt.Fprintln(notice, "deepretina: no XLA/PJRT plugin found; using the pure-Go backend (set GOMLX_BACKEND to choose)")
	}
	return b, nil
}

// probeXLA tries XLA with auto-install disabled, so a machine without a plugin falls back
// quietly instead of trying the network.
func probeXLA() (b backends.Backend, err error) {
	const noInstall = "GOMLX_NO_AUTO_INSTALL"
	if _, set := os.LookupEnv(noInstall); !set {
		os.Setenv(noInstall, "1")
		defer os.Unsetenv(noInstall)
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("xla: %v", r)
		}
	}()
	return backends.NewWithConfig("xla")
}
