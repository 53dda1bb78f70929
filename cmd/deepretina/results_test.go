package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/retina/runconfig"
)

// A NaN score (a cell whose prediction is constant has no correlation) must not wipe
// results.json: it is written as null, and the rows already there survive.
func TestResultsKeepRowsWhenAScoreIsNaN(t *testing.T) {
	out := t.TempDir()
	cfg := runconfig.SmallConfig()
	cfg.ExpName = "first"
	if err := appendResults(out, cfg, &analysis.Evaluation{CNNPearsonMean: 0.5, LNPearsonMean: 0.4, CeilingMean: 0.8, FEVMean: 0.3}); err != nil {
		t.Fatal(err)
	}
	cfg.ExpName = "nan"
	nan := math.NaN()
	if err := appendResults(out, cfg, &analysis.Evaluation{CNNPearsonMean: nan, LNPearsonMean: 0.4, CeilingMean: 0.8, FEVMean: math.Inf(-1)}); err != nil {
		t.Fatalf("a NaN score: %v", err)
	}
	rows := readResultsJSON(t, out)
	if len(rows) != 2 || rows[0]["exp_name"] != "first" || rows[1]["exp_name"] != "nan" {
		t.Fatalf("results.json rows: %v", rows)
	}
	if v, ok := rows[1]["cnn_pearson_mean"]; !ok || v != nil {
		t.Errorf("NaN cnn_pearson_mean written as %v (present %v), want null", v, ok)
	}
	if v := rows[1]["fev_mean"]; v != nil {
		t.Errorf("-Inf fev_mean written as %v, want null", v)
	}
	if rows[1]["ln_pearson_mean"] != 0.4 {
		t.Errorf("finite score written as %v", rows[1]["ln_pearson_mean"])
	}
	// The next run of the sweep still reads the file.
	cfg.ExpName = "third"
	if err := appendResults(out, cfg, &analysis.Evaluation{CNNPearsonMean: 0.1}); err != nil {
		t.Fatalf("after a NaN row: %v", err)
	}
	if rows := readResultsJSON(t, out); len(rows) != 3 {
		t.Fatalf("after a NaN row, %d rows", len(rows))
	}
}

// Recording a run again (a re-run of a finished sweep, or a run extended by more epochs)
// replaces its row instead of adding a second one.
func TestResultsOneRowPerRun(t *testing.T) {
	out := t.TempDir()
	cfg := runconfig.SmallConfig()
	for i, name := range []string{"a", "b", "a", "b", "a"} {
		cfg.ExpName = name
		if err := appendResults(out, cfg, &analysis.Evaluation{CNNPearsonMean: float64(i) / 10}); err != nil {
			t.Fatal(err)
		}
	}
	rows := readResultsJSON(t, out)
	if len(rows) != 2 || rows[0]["exp_name"] != "a" || rows[1]["exp_name"] != "b" {
		t.Fatalf("results.json: %v", rows)
	}
	if rows[0]["cnn_pearson_mean"] != 0.4 || rows[1]["cnn_pearson_mean"] != 0.3 {
		t.Errorf("rows keep stale scores: %v", rows)
	}
	f, err := os.Open(filepath.Join(out, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[1][0] != "a" || recs[2][0] != "b" || recs[1][4] != "0.4000" {
		t.Fatalf("results.csv: %v", recs)
	}
}

func readResultsJSON(t *testing.T, out string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatalf("results.json: %v\n%s", err, data)
	}
	return rows
}
