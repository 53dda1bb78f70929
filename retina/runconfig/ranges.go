package runconfig

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

// Ranges maps config keys to lists of values; the runs are their Cartesian product.
type Ranges map[string][]json.RawMessage

// LoadRanges reads a ranges JSON file (key → list of values). Keys must be config keys.
func LoadRanges(path string) (Ranges, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ranges %s: %w", path, err)
	}
	var r Ranges
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("ranges %s: expected a JSON object mapping keys to lists of values: %w", path, err)
	}
	valid := configKeys()
	for k, vs := range r {
		if !slices.Contains(valid, k) {
			return nil, fmt.Errorf("ranges %s: unknown key %q; valid keys: %s", path, k, strings.Join(valid, ", "))
		}
		if len(vs) == 0 {
			return nil, fmt.Errorf("ranges %s: key %q has an empty list", path, k)
		}
	}
	return r, nil
}

// Expand returns one config per combination of the ranges, applied over base, each with
// ExpName suffixed by its settings so every run gets its own folder. Keys are varied in
// sorted order, the last key fastest. A value whose label is not a single non-empty folder name
// (a path, "", "..") and two combinations that would share a folder are errors naming the key.
func (r Ranges) Expand(base Config) ([]Config, error) {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r[k] {
			if label := valueLabel(v); !validFolderName(label) {
				return nil, fmt.Errorf("ranges: key %q: value %s gives the folder label %q, which is not a single non-empty folder name (no / or \\, not . or ..)", k, v, label)
			}
		}
	}
	combos := [][]int{{}}
	for _, k := range keys {
		var next [][]int
		for _, c := range combos {
			for i := range r[k] {
				next = append(next, append(slices.Clone(c), i))
			}
		}
		combos = next
	}
	baseJSON, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	var out []Config
	folders := map[string][]int{} // folder name → the combination that has it
	for _, combo := range combos {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(baseJSON, &m)
		var parts []string
		for i, k := range keys {
			v := r[k][combo[i]]
			m[k] = v
			parts = append(parts, k+"="+valueLabel(v))
		}
		data, _ := json.Marshal(m)
		cfg, err := ParseConfig(data, Config{})
		if err != nil {
			return nil, fmt.Errorf("ranges combination %s: %w", strings.Join(parts, ","), err)
		}
		if len(parts) > 0 {
			cfg.ExpName = sanitize(base.ExpName + "_" + strings.Join(parts, "_"))
		}
		if prev, ok := folders[cfg.ExpName]; ok {
			i := 0
			for prev[i] == combo[i] {
				i++
			}
			k := keys[i]
			return nil, fmt.Errorf("ranges: key %q: two runs would share the folder %q (values %s and %s)", k, cfg.ExpName, r[k][prev[i]], r[k][combo[i]])
		}
		if len(cfg.ExpName) > 255 {
			return nil, fmt.Errorf("ranges combination %s: the folder name %q is longer than 255 bytes", strings.Join(parts, ","), cfg.ExpName)
		}
		folders[cfg.ExpName] = combo
		out = append(out, cfg)
	}
	return out, nil
}

// valueLabel writes a JSON value for a folder name: "naturalscene", 0.001, [8,8] → 8x8.
func valueLabel(v json.RawMessage) string {
	s := strings.Trim(string(v), `" `)
	s = strings.NewReplacer("[", "", "]", "", " ", "", ",", "x").Replace(s)
	return s
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.', r == '=':
			return r
		}
		return '-'
	}, s)
}
