package retina

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // the pure-Go engine, always available
	"github.com/gomlx/go-xla/compute/xla"

	"github.com/deepretina/deepretina/internal/xlaplugin"
)

// The project's own XLA CPU plugin, installed by scripts/setup.sh (see internal/xlaplugin).
const (
	// PluginDir is where the set-up puts the plugin, relative to the repository root.
	PluginDir = xlaplugin.Dir
	// PluginFile is the plugin's file name inside PluginDir.
	PluginFile = xlaplugin.File
)

// Engine describes the backend a process runs its models on and why it was chosen.
type Engine struct {
	Backend compute.Backend
	Config  string // what was passed to GoMLX: "go", "xla:/abs/path/plugin.so", "xla"
	Reason  string // one line for the log: what was chosen, from where
}

// The process's engine: XLA claims device memory per client (on a GPU it pre-allocates most of
// it), so every model, baseline and prediction in a process must share one backend. This is
// the one piece of package-level state, and it is set once.
var (
	defaultEngineOnce sync.Once
	defaultEngine     Engine
	defaultEngineErr  error
)

// DefaultBackend returns the process's shared backend, choosing it on the first call (see
// ChooseEngine) and announcing the choice on notice in one line (nil for silence). Every
// function of this package that is given a nil backend uses it.
func DefaultBackend(notice io.Writer) (compute.Backend, error) {
	e, err := DefaultEngine(notice)
	return e.Backend, err
}

// DefaultEngine is DefaultBackend with the description of the choice.
func DefaultEngine(notice io.Writer) (Engine, error) {
	defaultEngineOnce.Do(func() {
		defaultEngine, defaultEngineErr = ChooseEngine()
		if defaultEngineErr == nil && notice != nil {
			fmt.Fprintln(notice, "deepretina: "+defaultEngine.Reason)
		}
	})
	return defaultEngine, defaultEngineErr
}

// NewBackend creates a new backend by the rules of ChooseEngine and announces it on notice.
// Prefer DefaultBackend: a second XLA client in one process claims the device's memory again.
func NewBackend(notice io.Writer) (compute.Backend, error) {
	e, err := ChooseEngine()
	if err != nil {
		return nil, err
	}
	if notice != nil {
		fmt.Fprintln(notice, "deepretina: "+e.Reason)
	}
	return e.Backend, nil
}

// ChooseEngine picks the engine, in this order:
//
//  1. $GOMLX_BACKEND when set ("go", "xla", "xla:cuda", "xla:/abs/path/plugin.so");
//  2. the project's XLA CPU plugin (PluginDir/PluginFile, installed by scripts/setup.sh),
//     looked for beside the executable, in the working folder and its parents, and in the
//     source tree this package was built from;
//  3. a PJRT plugin in gopjrt's standard locations (~/.local/lib/go-xla, /usr/local/lib/go-xla,
//     $PJRT_PLUGIN_LIBRARY_PATH, the system library paths), without downloading anything;
//  4. the pure-Go backend, which is much slower.
func ChooseEngine() (Engine, error) {
	return chooseEngine(os.Getenv(compute.ConfigEnvVar), xlaplugin.SearchRoots())
}

// chooseEngine is ChooseEngine with its inputs explicit: the value of $GOMLX_BACKEND and the
// folders searched for the project's plugin.
func chooseEngine(envConfig string, roots []string) (Engine, error) {
	// oneDNN convolutions are opt-in (DEEPRETINA_XLA_ONEDNN=1) until the whole suite, the
	// same-seed determinism tests and the notebooks have run with them (docs/engines.md).
	if os.Getenv("DEEPRETINA_XLA_ONEDNN") == "1" && !strings.Contains(strings.ToLower(envConfig), "cuda") {
		xlaplugin.SetCPUFlags()
	}
	if cfg := envConfig; cfg != "" {
		b, err := compute.NewWithConfig(cfg)
		if err != nil {
			return Engine{}, fmt.Errorf("engine %s=%q: %w", compute.ConfigEnvVar, cfg, err)
		}
		return Engine{b, cfg, fmt.Sprintf("engine %s from %s=%s", b.Name(), compute.ConfigEnvVar, cfg)}, nil
	}
	var tried []string
	if path, found := xlaplugin.FindIn(roots); found {
		cfg := "xla:" + path
		b, err := compute.NewWithConfig(cfg)
		if err == nil {
			return Engine{b, cfg, "engine XLA CPU, the project's plugin " + path}, nil
		}
		tried = append(tried, fmt.Sprintf("the project's plugin %s failed to load (%v)", path, err))
	}
	if b, err := standardXLA(); err == nil {
		return Engine{b, "xla", "engine XLA from gopjrt's standard plugin locations"}, nil
	} else {
		tried = append(tried, "no plugin in gopjrt's standard locations")
	}
	b, err := compute.NewWithConfig("go")
	if err != nil {
		return Engine{}, fmt.Errorf("pure-Go backend: %w", err)
	}
	reason := "engine pure Go (slow): " + joinReasons(tried) + "; run scripts/setup.sh to install XLA's CPU plugin, or set " + compute.ConfigEnvVar
	if len(tried) == 1 {
		reason = "engine pure Go (slow): no XLA plugin found (" + filepath.Join(PluginDir, PluginFile) + " or gopjrt's standard locations); run scripts/setup.sh to install XLA's CPU plugin, or set " + compute.ConfigEnvVar
	}
	return Engine{b, "go", reason}, nil
}

func joinReasons(rs []string) string {
	out := ""
	for i, r := range rs {
		if i > 0 {
			out += "; "
		}
		out += r
	}
	return out
}

// standardXLA tries XLA from the standard plugin locations with auto-install off, so that a
// machine without a plugin falls back quietly instead of trying the network.
func standardXLA() (b compute.Backend, err error) {
	xla.EnableAutoInstall(false)
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("xla: %v", r)
		}
	}()
	return compute.NewWithConfig("xla")
}

// FindProjectPlugin returns the absolute path of the project's XLA CPU plugin, searching
// PluginDir beside the executable (bin/deepretina → ../deps/pjrt), in the working folder and
// its parents, and in the repository this package was compiled from (which is where tests and
// notebooks that import the module from a local checkout find it).
func FindProjectPlugin() (string, bool) { return xlaplugin.Find() }
