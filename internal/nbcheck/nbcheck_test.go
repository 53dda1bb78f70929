package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deepretina/deepretina/figures"
)

// codeCell builds an executed code cell with the given outputs (nbformat 4 JSON values).
func codeCell(src string, outputs ...map[string]any) map[string]any {
	if outputs == nil {
		outputs = []map[string]any{}
	}
	return map[string]any{"cell_type": "code", "source": src, "execution_count": 1, "metadata": map[string]any{}, "outputs": outputs}
}

func stream(name string, lines ...string) map[string]any {
	return map[string]any{"output_type": "stream", "name": name, "text": lines}
}

func htmlOut(h string) map[string]any {
	return map[string]any{"output_type": "display_data", "metadata": map[string]any{}, "data": map[string]any{"text/html": h}}
}

func figureHTML(t *testing.T, id string) string {
	t.Helper()
	fig, err := figures.Line("it's a chart", "x", "y", figures.Series{Name: "s", X: []float64{0, 1}, Y: []float64{1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := figures.NotebookSnippet(fig, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func parse(t *testing.T, cells ...map[string]any) *notebook {
	t.Helper()
	data, err := json.Marshal(map[string]any{"nbformat": 4, "nbformat_minor": 5, "metadata": map[string]any{}, "cells": cells})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "nb.ipynb")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	nb, err := readNotebook(path)
	if err != nil {
		t.Fatal(err)
	}
	return nb
}

// TestScan: the failures nbconvert lets through (a panic, a non-zero exit, a fatal runtime error,
// a killed program), error outputs, cells that never ran, figures before plotly.js and reused
// figure ids are problems; a clean run with stderr chatter is not.
func TestScan(t *testing.T) {
	loader := htmlOut(figures.LoaderMarker + "<script>window.Plotly={}</script>")
	notRun := codeCell("%%\nfmt.Println(1)")
	notRun["execution_count"] = nil
	for _, tc := range []struct {
		name    string
		cells   []map[string]any
		figures int
		want    []string // one substring per expected problem, in order
	}{
		{"clean", []map[string]any{
			{"cell_type": "markdown", "source": "# title", "metadata": map[string]any{}},
			codeCell("%%\nnotebook.MustLoadPlotly()", loader),
			codeCell("%%\nnotebook.MustShow(fig, nil)", stream("stderr", "engine: XLA CPU plugin\n", "training 2 epochs\n"), htmlOut(figureHTML(t, "a")), htmlOut(figureHTML(t, "b"))),
			codeCell(""),
		}, 2, nil},
		{"panic", []map[string]any{codeCell("%%\n\npanic(err)", stream("stderr", "panic: boom\n", "\n", "goroutine 1 [running]:\n", "exit status 2\n"))}, 0,
			[]string{"cell 1 (panic(err)): the program failed (stderr): panic: boom"}},
		{"exit status", []map[string]any{codeCell("%%\nos.Exit(3)", stream("stderr", "2026/11/26 log line\n", "exit status 3\n"))}, 0,
			[]string{"the program failed (stderr): exit status 3"}},
		{"fatal error", []map[string]any{codeCell("%%\nx()", stream("stderr", "fatal error: all goroutines are asleep - deadlock!\n"))}, 0,
			[]string{"fatal error: all goroutines are asleep"}},
		{"killed", []map[string]any{codeCell("%%\nx()", stream("stdout", "signal: killed\n"))}, 0,
			[]string{"the program failed (stdout): signal: killed"}},
		{"GoNB error", []map[string]any{codeCell("import \"x\"", stream("stderr", "ERROR: failed to run \"/usr/local/go/bin/go get\": exit status 1\n"))}, 0,
			[]string{"ERROR: failed to run"}},
		{"error output", []map[string]any{codeCell("%%\nx()", map[string]any{"output_type": "error", "ename": "ERROR", "evalue": "compilation failed", "traceback": []string{}})}, 0,
			[]string{"error output ERROR: compilation failed"}},
		{"not executed", []map[string]any{notRun}, 0, []string{"cell 1 (fmt.Println(1)): was not executed"}},
		{"figure before plotly.js", []map[string]any{codeCell("%%\nshow()", htmlOut(figureHTML(t, "a"))), codeCell("%%\nload()", loader)}, 1,
			[]string{"figure a is displayed before plotly.js"}},
		{"figure id reused", []map[string]any{codeCell("%%\nload()", loader, htmlOut(figureHTML(t, "a"))), codeCell("%%\nshow()", htmlOut(figureHTML(t, "a")))}, 2,
			[]string{"cell 2 (show()): figure id a is used again (first in cell 1)"}},
		{"chart lost", []map[string]any{codeCell("%%\nload()", loader), codeCell("%%\nnotebook.MustShow(viz.Scores(ev))", stream("stdout", "scored\n")),
			codeCell("%%\nc := notebook.NewTrainingChart(\"t\")"), codeCell("%%\nlive.Figure(fig)")}, 0,
			[]string{"cell 2 (notebook.MustShow(viz.Scores(ev))): draws a chart but its outputs hold none", "cell 3", "cell 4"}},
		{"words that are not failures", []map[string]any{codeCell("%%\nx()", stream("stdout", "no panic: the exit status 0 of everything\n"))}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := scan(parse(t, tc.cells...))
			if r.Figures != tc.figures {
				t.Errorf("%d figures, want %d", r.Figures, tc.figures)
			}
			if len(r.Problems) != len(tc.want) {
				t.Fatalf("problems %q, want %d containing %q", r.Problems, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(r.Problems[i], w) {
					t.Errorf("problem %q does not contain %q", r.Problems[i], w)
				}
			}
		})
	}
}

// TestCheckDrawn renders pages in headless chromium: all figures drawn passes; a figure whose
// plotly.js is missing, a count that does not match, a script from the network and plotly.js
// left in the outputs are problems.
func TestCheckDrawn(t *testing.T) {
	if testing.Short() {
		t.Skip("needs headless chromium; runs in the full tier, scripts/test.sh")
	}
	js, err := figures.LoadPlotlyJS()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page := func(name string, head, body string) string {
		p := filepath.Join(dir, name)
		html := "<!DOCTYPE html><html><head><meta charset=\"utf-8\">" + head + "</head><body>" + body + "</body></html>"
		if err := os.WriteFile(p, []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plotly := "<script>" + string(js) + "</script>"
	two := figureHTML(t, "a") + figureHTML(t, "b")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, tc := range []struct {
		name string
		path string
		want int
		msgs []string
	}{
		{"drawn", page("ok.html", plotly, two), 2, nil},
		{"no plotly.js", page("none.html", "", two), 2, []string{"0 of 2 figures drew in chromium (2 did not)"}},
		{"fewer than scanned", page("few.html", plotly, two), 3, []string{"2 of 3 figures drew"}},
		{"remote script", page("cdn.html", plotly+`<script src="https://cdn.plot.ly/plotly-2.34.0.min.js"></script>`, two), 2, []string{"loads a script from the network"}},
		{"loader left in", page("loader.html", plotly, figures.LoaderMarker+two), 2, []string{"carries plotly.js in 1 outputs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checkDrawn(ctx, tc.path, tc.want)
			if len(got) != len(tc.msgs) {
				t.Fatalf("problems %q, want %d containing %q", got, len(tc.msgs), tc.msgs)
			}
			for i, w := range tc.msgs {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %q does not contain %q", got[i], w)
				}
			}
		})
	}
}
