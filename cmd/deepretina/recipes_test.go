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

// The larger recipe (docs/validation.md, "The larger recipe") is documented as a user's
// commands and measured through scripts/recipes.sh's data variant "large": both must simulate
// the same data and train the same config, or the measured numbers would not be those of the
// documented command.
func TestLargerRecipeDocumentedAsMeasured(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "scripts", "recipes.sh"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "validation.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The variant's seconds outside --quick, and its simulate flags.
	secs := regexp.MustCompile(`(?m)^\s*large\) \[\[ \$QUICK == 1 \]\] && echo \d+ \|\| echo (\d+) ;;`).FindSubmatch(script)
	flags := regexp.MustCompile(`(?m)^\s*(?:[\w-]+ \| )*large(?: \| [\w-]+)*\) echo "([^"]*)" ;;`).FindSubmatch(script)
	if secs == nil || flags == nil {
		t.Fatalf("scripts/recipes.sh: expected data_seconds and data_flags cases for the variant large (seconds %q, flags %q)", secs, flags)
	}
	sim := regexp.MustCompile(`(?m)^bin/deepretina simulate .*--preset small --seed 1 --train-seconds (\S+) (.*)$`).FindSubmatch(doc)
	if sim == nil {
		t.Fatal("docs/validation.md: expected the larger recipe's `bin/deepretina simulate … --preset small --seed 1 --train-seconds S FLAGS` line")
	}
	if string(sim[1]) != string(secs[1]) || strings.TrimSpace(string(sim[2])) != string(flags[1]) {
		t.Errorf("docs/validation.md simulates --train-seconds %s %s; scripts/recipes.sh's variant large measured --train-seconds %s %s",
			sim[1], sim[2], secs[1], flags[1])
	}
	train := regexp.MustCompile(`(?m)^bin/deepretina train .*--config scripts/recipes/(\S+)`).FindSubmatch(doc)
	cand := regexp.MustCompile(`(?m)^\s*"large (\S+) large"\s*$`).FindSubmatch(script)
	if train == nil || cand == nil {
		t.Fatalf("expected a `bin/deepretina train … --config scripts/recipes/FILE` line in docs/validation.md (%q) and the candidate \"large FILE large\" in scripts/recipes.sh (%q)", train, cand)
	}
	if string(train[1]) != string(cand[1]) {
		t.Errorf("docs/validation.md trains scripts/recipes/%s; scripts/recipes.sh's candidate large trains %s", train[1], cand[1])
	}
}
