package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/retina/runconfig"
)

// The recipe search (scripts/recipes.sh) trains its candidates with `train --config`, which
// starts from runconfig.DefaultConfig: every candidate config must parse that way, describe the
// small simulated retina, and name its run after its file; default.json must be the CLI default
// itself (runconfig.SmallConfig), so that its quick-mode smoke test trains what `train` with no
// config trains. Every config the script's candidate list names must exist.
func TestRecipeConfigs(t *testing.T) {
	dir := filepath.Join("..", "..", "scripts", "recipes")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recipe configs in %s: %v", dir, err)
	}
	for _, f := range files {
		cfg, err := runconfig.LoadConfig(f, runconfig.DefaultConfig())
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if name == "default" {
			if want := runconfig.SmallConfig(); !reflect.DeepEqual(cfg, want) {
				t.Errorf("%s differs from runconfig.SmallConfig:\n got %+v\nwant %+v", f, cfg, want)
			}
			continue
		}
		if cfg.ExpName != name {
			t.Errorf("%s: exp_name %q; expected the file's name %q", f, cfg.ExpName, name)
		}
		if cfg.Dataset != "sim-small" || len(cfg.ImgShape) != 3 || !slices.Equal(cfg.ImgShape[1:], []int{20, 20}) {
			t.Errorf("%s: dataset %q, img_shape %v; expected sim-small with 20×20 frames", f, cfg.Dataset, cfg.ImgShape)
		}
	}
	script, err := os.ReadFile(filepath.Join("..", "..", "scripts", "recipes.sh"))
	if err != nil {
		t.Fatal(err)
	}
	candidates := regexp.MustCompile(`(?m)^\s*"([\w.-]+) (\S+) (\w+)"\s*$`).FindAllStringSubmatch(string(script), -1)
	if len(candidates) < 2 {
		t.Fatalf("scripts/recipes.sh: found %d candidates; expected the list CANDIDATES", len(candidates))
	}
	for _, c := range candidates {
		if c[2] == "-" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, c[2])); err != nil {
			t.Errorf("candidate %s: config %v", c[1], err)
		}
	}
}
