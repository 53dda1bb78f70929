package runconfig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRangesExpandCartesianProduct(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ranges.json")
	_ = os.WriteFile(p, []byte(`{"stim_type": ["whitenoise", "naturalscene"], "lr": [0.001, 0.01, 0.1]}`), 0o644)
	r, err := LoadRanges(p)
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := r.Expand(SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 6 {
		t.Fatalf("%d runs, want 2×3 = 6", len(cfgs))
	}
	names := map[string]bool{}
	seen := map[string]bool{}
	for _, c := range cfgs {
		names[c.ExpName] = true
		key, _ := json.Marshal([]any{c.StimType, c.LR})
		seen[string(key)] = true
	}
	if len(names) != 6 || len(seen) != 6 {
		t.Fatalf("runs are not distinct: names %v combos %v", names, seen)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"lrate": [1]}`), 0o644)
	if _, err := LoadRanges(bad); err == nil || !strings.Contains(err.Error(), "lrate") {
		t.Fatalf("unknown ranges key: %v", err)
	}
	_ = os.WriteFile(bad, []byte(`{"lr": [-1]}`), 0o644)
	r, _ = LoadRanges(bad)
	if _, err := r.Expand(SmallConfig()); err == nil {
		t.Fatal("invalid value in ranges: no error")
	}
}

// Every run's folder is one folder under --out: ranges values that would give labels that are
// not single folder names, or two runs the same folder, are errors naming the key.
func TestRangesLabelsAreSingleFolderNames(t *testing.T) {
	for _, c := range []struct{ name, ranges, want string }{
		{"path in a value", `{"datapath": ["/data/a", "/data/b"]}`, `key "datapath": value "/data/a" gives the folder label "/data/a"`},
		{"empty string", `{"scheduler": ["", "none"]}`, `key "scheduler": value "" gives the folder label ""`},
		{"dot-dot", `{"dataset": ["..", "x"]}`, `key "dataset": value ".." gives the folder label ".."`},
		{"escaping exp_name", `{"exp_name": ["../../escape"]}`, `key "exp_name": value "../../escape" gives the folder label`},
		{"the same value twice", `{"lr": [0.1, 0.1]}`, `key "lr": two runs would share the folder`},
		{"values with one label", `{"dataset": ["a:b", "a-b"]}`, `key "dataset": two runs would share the folder`},
	} {
		p := filepath.Join(t.TempDir(), "ranges.json")
		_ = os.WriteFile(p, []byte(c.ranges), 0o644)
		r, err := LoadRanges(p)
		if err == nil {
			_, err = r.Expand(SmallConfig())
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
}
