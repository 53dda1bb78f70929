package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepretina/deepretina/figures"
)

// TestAddProbeSummary draws the summary of a probe.json (a null value stays a gap) and refuses
// summaries that are not objects of numbers, naming the file and the key.
func TestAddProbeSummary(t *testing.T) {
	cases := []struct {
		name, body string
		figures    int    // charts added
		wantErr    string // "" for none
	}{
		{"learned and untrained", `{"summary": {"scoring": "held-out", "learned": {"bipolar": 0.5, "amacrine": null}, "untrained": {"bipolar": 0.2}}}`, 1, ""},
		{"no cell types", `{"summary": {"scoring": "held-out"}}`, 0, ""},
		{"group not an object", `{"summary": {"learned": 3}}`, 0, "summary.learned is not an object"},
		{"value not a number", `{"summary": {"learned": {"bipolar": "x"}}}`, 0, "summary.learned.bipolar is x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "probe.json")
			if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			rep := figures.NewReport("x")
			err := addProbe(rep, path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %v; want one naming %s and saying %q", err, path, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Figures(); got != tc.figures {
				t.Errorf("%d charts, want %d", got, tc.figures)
			}
		})
	}
}

// TestAddProbeRefusesANonObject: probe.json must be a JSON object whose summary is an object.
func TestAddProbeRefusesANonObject(t *testing.T) {
	for name, body := range map[string]string{"array": `[1, 2]`, "summary not an object": `{"summary": 3}`} {
		path := filepath.Join(t.TempDir(), "probe.json")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := addProbe(figures.NewReport("x"), path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v; want one naming %s", name, err, path)
		}
	}
}
