package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/deepretina/deepretina/retina/runconfig"
)

// TestREADMECoversEveryFlagAndConfigKey keeps the command reference, docs/cli.md (linked from
// the README), from drifting away from the commands: every command has a "## deepretina
// <command>" section naming each of its flags (and no flag it lacks), the train section lists
// every config key in its table, and the checkpoint names (mid-epoch ones included) are
// documented.
func TestREADMECoversEveryFlagAndConfigKey(t *testing.T) {
	data, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	ref := string(data)
	sections := map[string]string{}
	for _, part := range strings.Split(ref, "\n## deepretina ")[1:] {
		name, body, _ := strings.Cut(part, "\n")
		sections[strings.TrimSpace(name)] = body
	}
	flagRef := regexp.MustCompile("`--([a-z][a-z0-9-]*)")
	seen := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if !c.Runnable() || c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		path := strings.TrimPrefix(c.CommandPath(), "deepretina ")
		seen[path] = true
		body, ok := sections[path]
		if !ok {
			t.Errorf(`docs/cli.md documents no command %q (expected a "### deepretina %s" section)`, path, path)
			return
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" {
				return
			}
			if !strings.Contains(body, "`--"+f.Name) {
				t.Errorf("docs/cli.md, deepretina %s: flag --%s (%s) is not documented", path, f.Name, f.Usage)
			}
		})
		for _, m := range flagRef.FindAllStringSubmatch(body, -1) {
			if f := c.Flags().Lookup(m[1]); f == nil || f.Hidden {
				t.Errorf("docs/cli.md, deepretina %s: documents --%s, which the command does not have", path, m[1])
			}
		}
	}
	walk(newRoot())
	for name := range sections {
		if !seen[name] {
			t.Errorf("docs/cli.md documents a command deepretina %s that does not exist", name)
		}
	}
	train := sections["train"]
	for _, k := range runconfig.ConfigKeys() {
		if !strings.Contains(train, "| `"+k+"` |") {
			t.Errorf("docs/cli.md, deepretina train: config key %s is not in the table of keys", k)
		}
	}
	for _, want := range []string{"checkpoints/epoch-NNNN/", "checkpoints/epoch-NNNN-step-SSSSSS/", "run.json"} {
		if !strings.Contains(train, want) {
			t.Errorf("docs/cli.md, deepretina train: %s is not documented", want)
		}
	}
}
