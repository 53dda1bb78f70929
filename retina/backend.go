package retina

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // the pure-Go engine, always available
	"github.com/gomlx/go-xla/compute/xla"
)

// The project's own XLA CPU plugin, installed by scripts/setup.sh from the Python package
// lammps-jax-pjrt-cpu 0.11.2 (XLA's CPU PJRT plugin built from jaxlib 0.11.2: PJRT C API 0.115,
// newer than the 0.104 go-xla v0.4.5 is compiled against), pinned by version and SHA-256.
const (
	// PluginDir is where the set-up puts the plugin, relative to the repository root.
	PluginDir = "deps/pjrt"
	// PluginFile is the plugin's file name inside PluginDir.
	PluginFile = "pjrt_c_api_cpu_plugin.so"
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
	return chooseEngine(os.Getenv(compute.ConfigEnvVar), pluginSearchRoots())
}

// chooseEngine is ChooseEngine with its inputs explicit: the value of $GOMLX_BACKEND and the
// folders searched for the project's plugin.
func chooseEngine(envConfig string, roots []string) (Engine, error) {
	// oneDNN convolutions are opt-in (DEEPRETINA_XLA_ONEDNN=1) until the whole suite, the
	// same-seed determinism tests and the notebooks have run with them (docs/engines.md).
	if os.Getenv("DEEPRETINA_XLA_ONEDNN") == "1" && !strings.Contains(strings.ToLower(envConfig), "cuda") {
		setXLACPUFlags()
	}
	if cfg := envConfig; cfg != "" {
		b, err := compute.NewWithConfig(cfg)
		if err != nil {
			return Engine{}, fmt.Errorf("engine %s=%q: %w", compute.ConfigEnvVar, cfg, err)
		}
		return Engine{b, cfg, fmt.Sprintf("engine %s from %s=%s", b.Name(), compute.ConfigEnvVar, cfg)}, nil
	}
	var tried []string
	if path, found := findPlugin(roots); found {
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

// xlaCPUFlags returns the XLA CPU options the engine runs with when DEEPRETINA_XLA_ONEDNN=1,
// added to $XLA_FLAGS unless it already sets them: oneDNN's convolutions (the library PyTorch's CPU convolutions use) in
// place of XLA's own Eigen ones for the convolutions its rewriter accepts, which are the
// forward and input-gradient convolutions (the kernel-gradient ones, a window as large as the
// image with the batch as input features, stay on Eigen). LinearStackedBNCNN trained 1.24×
// faster with them at batch 64 on 2 cores, BNCNN as fast (docs/benchmarks.md).
func xlaCPUFlags() []string {
	return []string{"--xla_cpu_use_onednn=true", "--xla_cpu_experimental_onednn_custom_call=true"}
}

// setXLACPUFlags adds xlaCPUFlags() to $XLA_FLAGS, which XLA's plugin reads when its first client
// is created, leaving any flag the user set there as it is.
func setXLACPUFlags() {
	flags := os.Getenv("XLA_FLAGS")
	for _, f := range xlaCPUFlags() {
		name, _, _ := strings.Cut(f, "=")
		if !strings.Contains(flags, name+"=") && !strings.Contains(flags, name+" ") && !strings.HasSuffix(flags, name) {
			flags = strings.TrimSpace(flags + " " + f)
		}
	}
	_ = os.Setenv("XLA_FLAGS", flags)
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
func FindProjectPlugin() (string, bool) { return findPlugin(pluginSearchRoots()) }

func findPlugin(roots []string) (string, bool) {
	for _, root := range roots {
		p := filepath.Join(root, PluginDir, PluginFile)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			if abs, err := filepath.Abs(p); err == nil {
				return abs, true
			}
		}
	}
	return "", false
}

func pluginSearchRoots() []string {
	var roots []string
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			roots = append(roots, filepath.Dir(exe), filepath.Dir(filepath.Dir(exe)))
		}
	}
	if wd, err := os.Getwd(); err == nil {
		roots = append(roots, ancestors(wd)...)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		roots = append(roots, filepath.Dir(filepath.Dir(file))) // <repo>/retina/backend.go → <repo>
	}
	return roots
}

// ancestors lists dir and every folder above it.
func ancestors(dir string) []string {
	var out []string
	for {
		out = append(out, dir)
		parent := filepath.Dir(dir)
		if parent == dir {
			return out
		}
		dir = parent
	}
}
