package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deepretina/deepretina/internal/browser"
)

// TestReport trains a tiny run with its LN baseline and writes its report three times: bare
// (no phenomena or probe results: the page says where they would come from), with the
// phenomena results and a probe.json found in the run folder, and with bad inputs that must be
// errors naming the flag or the file. The page must render every chart in headless chromium
// with the network shut off, and its scores must be eval's.
func TestReport(t *testing.T) {
	if testing.Short() {
		t.Skip("needs headless chromium; runs in the full tier, scripts/test.sh")
	}
	work := t.TempDir()
	runs := filepath.Join(work, "runs")
	if out, err := runEngine(t, "train", "--config", tinyConfig(t, work, ""), "--out", runs); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	run := filepath.Join(runs, "tiny")
	if out, err := runEngine(t, "eval", "--run", run); err != nil {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	var ev struct {
		CNNMean float64 `json:"cnn_pearson_mean"`
		LNMean  float64 `json:"ln_pearson_mean"`
	}
	readJSON(t, filepath.Join(run, "eval.json"), &ev)

	// The tiny run has 8 cells and 4 first-layer channels: training 1, scores 2, rates 2 (6 + 2
	// cells), filters 2 (one figure of 4 maps, one of time courses).
	const bare = 7
	page := filepath.Join(work, "bare.html")
	out, err := runEngine(t, "report", "--run", run, "--out", page)
	if err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if !strings.Contains(out, fmt.Sprintf("(%d charts)", bare)) {
		t.Errorf("report says %q, want %d charts", out, bare)
	}
	text := checkReportDraws(t, page, bare)
	for _, want := range []string{"Training curves", "Test-set scores", "Predicted vs recorded rates", "First-layer filters",
		fmt.Sprintf("<td>%.3f</td><td>%.3f</td>", ev.CNNMean, ev.LNMean),
		"No phenomena results: `deepretina phenomena --run " + run + " --out " + filepath.Join(run, "phenomena") + "`",
		"No probe results: " + filepath.Join(run, "probe", "probe.json")} {
		if !strings.Contains(text, want) {
			t.Errorf("the bare report lacks %q", want)
		}
	}

	if out, err := runEngine(t, "phenomena", "--run", run, "--out", filepath.Join(run, "phenomena"), "--only", "step_response,omitted_stimulus"); err != nil {
		t.Fatalf("phenomena: %v\n%s", err, out)
	}
	probe := `{"summary": {"scoring": "held-out", "learned": {"bipolar": 0.81, "amacrine": 0.74}, "untrained": {"bipolar": 0.52, "amacrine": null},
	  "learned_null": {"bipolar": 0.03, "amacrine": 0.01}},
	  "note": "it's </script><script>document.title='pwned'</script>", "cells": [{"type": "bipolar", "best_r": 0.9}]}`
	if err := os.MkdirAll(filepath.Join(run, "probe"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(run, "probe", "probe.json"), probe)
	full := filepath.Join(work, "full.html")
	if out, err := runEngine(t, "report", "--run", run, "--out", full); err != nil {
		t.Fatalf("report with phenomena and probe: %v\n%s", err, out)
	}
	text = checkReportDraws(t, full, bare+2)
	for _, want := range []string{"Retinal phenomena", "<td>step_response</td>", "<td>omitted_stimulus</td>", "model vs truth",
		"Interneuron probe", "<td>bipolar</td><td>0.810</td><td>0.520</td><td>0.290</td><td>0.030</td>", "<td>amacrine</td><td>0.740</td><td>n/a</td>",
		"<th>learned null</th>", "mean held-out r (unit chosen on one half",
		"<td>cells[0].best_r</td><td>0.9</td>", "it's &lt;/script&gt;&lt;script&gt;"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report with phenomena and probe lacks %q", want)
		}
	}
	if strings.Contains(text, "<title>pwned") {
		t.Error("a string of probe.json ran as a script")
	}

	bad := filepath.Join(work, "bad.json")
	writeFile(t, bad, `{"step_response": {"model": {}}}`)
	badProbe := filepath.Join(work, "badprobe.json")
	writeFile(t, badProbe, `{"summary": {"learned": {"bipolar": "high"}}}`)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", page}, "--run and --out are required"},
		{[]string{"--run", run}, "--run and --out are required"},
		{[]string{"--run", filepath.Join(work, "missing"), "--out", page}, "--run"},
		{[]string{"--run", run, "--out", work}, "--out"},
		{[]string{"--run", run, "--out", page, "--seconds", "-1"}, "--seconds -1"},
		{[]string{"--run", run, "--out", page, "--phenomena", filepath.Join(work, "nowhere")}, "--phenomena " + filepath.Join(work, "nowhere")},
		{[]string{"--run", run, "--out", page, "--phenomena", work}, "--phenomena " + work + ": the folder holds no results.json"},
		{[]string{"--run", run, "--out", page, "--phenomena", bad}, `phenomena results ` + bad + `: experiment "step_response" lacks "reproduced"`},
		{[]string{"--run", run, "--out", page, "--probe", badProbe}, "probe results " + badProbe + ": summary.learned.bipolar is high, not a number"},
		{[]string{"--run", run, "--out", page, "--ln", run}, "LN baseline " + run + ": is a BNCNN run"},
	} {
		out, err := runEngine(t, append([]string{"report"}, tc.args...)...)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("report %v: err %v, output %q; want an error containing %q", tc.args, err, out, tc.want)
		}
	}
}

// checkReportDraws renders a report in headless chromium with no network and checks that all
// its charts, and only those, drew; it returns the page's text.
func checkReportDraws(t *testing.T, page string, charts int) string {
	t.Helper()
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), `<div class="figure"`); n != charts {
		t.Errorf("%s has %d figures, want %d", page, n, charts)
	}
	if regexp.MustCompile(`<script[^>]+src=`).Match(data) {
		t.Errorf("%s loads a script from elsewhere", page)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dom, err := browser.DumpDOM(ctx, page)
	if err != nil {
		t.Fatal(err)
	}
	if n := browser.CountPlots(dom); n != charts {
		t.Errorf("%s: %d charts drew, want %d", page, n, charts)
	}
	return dom
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
