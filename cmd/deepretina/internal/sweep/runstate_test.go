package sweep

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// eval.json's null scores (a NaN written by jsonnull) read back as NaN, at the top level and
// per recording; present scores read back as written.
func TestReadEvalSummaryNullScores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eval.json")
	data := `{"cnn_pearson_mean": 0.8, "ln_pearson_mean": null, "ceiling_mean": 0.9,
		"recordings": [{"name": "a", "cnn_pearson_mean": null, "ln_pearson_mean": 0.5, "ceiling_mean": 0.7, "fev_mean": 0.4}]}`
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := readEvalSummary(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.CNNPearsonMean != 0.8 || !math.IsNaN(s.LNPearsonMean) || s.CeilingMean != 0.9 || !math.IsNaN(s.FEVMean) {
		t.Errorf("top-level scores %+v: want 0.8, NaN, 0.9, NaN (null and missing read as NaN)", s)
	}
	if len(s.Recordings) != 1 {
		t.Fatalf("recordings %+v: want 1", s.Recordings)
	}
	if r := s.Recordings[0]; r.Name != "a" || !math.IsNaN(r.CNNPearsonMean) || r.LNPearsonMean != 0.5 || r.FEVMean != 0.4 {
		t.Errorf("recording %+v: want a, NaN, 0.5, …, 0.4", r)
	}
	if err := os.WriteFile(path, []byte(`{"cnn_pearson_mean": "high"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readEvalSummary(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a malformed eval.json: error %v, want one naming %s", err, path)
	}
}
