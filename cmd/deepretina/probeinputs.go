package main

import (
	"fmt"
	"slices"

	"github.com/deepretina/deepretina/datasets"
)

// checkInterneuronFiles reads the --interneurons files before any work and refuses a stimulus
// group the probe would use whose stimulus never changes: no unit can correlate with a cell
// through it, and the probe would find that out only at its end. groups are --groups (nil:
// the probe's default choice, boxes, else whitenoise, else every group).
func checkInterneuronFiles(files, groups []string) error {
	for _, f := range files {
		set, err := datasets.LoadInterneuronFile(f)
		if err != nil {
			return fmt.Errorf("--interneurons %s: %w", f, err)
		}
		for _, g := range probedGroups(set, groups) {
			if constant(g.Stimuli.Data) {
				return fmt.Errorf("--interneurons %s: group %q: the stimulus is constant (every value %g over its %d frames): no hidden unit can be compared with the cells through it; give a file whose stimulus varies, or choose other --groups",
					f, g.Name, g.Stimuli.Data[0], g.Stimuli.T)
			}
		}
	}
	return nil
}

// probedGroups are the groups of set that the probe uses for --groups names (missing names are
// the probe's own error to give).
func probedGroups(set *datasets.InterneuronSet, names []string) []datasets.InterneuronGroup {
	var out []datasets.InterneuronGroup
	if len(names) > 0 {
		for _, g := range set.Groups {
			if slices.Contains(names, g.Name) {
				out = append(out, g)
			}
		}
		return out
	}
	for _, pref := range []string{"boxes", "whitenoise"} {
		for _, g := range set.Groups {
			if g.Name == pref {
				return []datasets.InterneuronGroup{g}
			}
		}
	}
	return set.Groups
}

func constant(x []float32) bool {
	for _, v := range x {
		if v != x[0] {
			return false
		}
	}
	return len(x) > 0
}
