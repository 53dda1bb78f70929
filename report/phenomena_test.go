package report

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadPhenomenaResults reads both layouts of deepretina phenomena's results.json in the
// file's order, and refuses malformed files with an error naming the file and what is wrong.
func TestReadPhenomenaResults(t *testing.T) {
	const exp = `{"description": "d", "criterion": "c", "model": {"r": 0.5}, "reproduced": true}`
	cases := []struct {
		name, json string
		order      []string // nil: an error is expected
		wantErr    string
	}{
		{"flat", `{"kind": "phenomena", "run": "r", "zeta": ` + exp + `, "alpha": ` + exp + `, "n": 2}`, []string{"zeta", "alpha"}, ""},
		{"experiments", `{"kind": "phenomena", "experiments": {"b": ` + exp + `, "a": ` + exp + `}}`, []string{"b", "a"}, ""},
		{"not JSON", `{`, nil, "expected the results.json of deepretina phenomena"},
		{"no experiments", `{"kind": "phenomena", "n": 0}`, nil, "no experiments"},
		{"lacks reproduced", `{"x": {"model": {"r": 1}}}`, nil, `experiment "x" lacks "reproduced"`},
		{"bad experiment", `{"x": {"model": 3}}`, nil, `experiment "x"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "results.json")
			if err := os.WriteFile(path, []byte(tc.json), 0o644); err != nil {
				t.Fatal(err)
			}
			order, res, err := readPhenomenaResults(path)
			if tc.order == nil {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %v; want one naming %s and saying %q", err, path, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(order, tc.order) || len(res) != len(tc.order) {
				t.Errorf("order %v (%d results), want %v", order, len(res), tc.order)
			}
		})
	}
}
