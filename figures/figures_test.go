package figures

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deepretina/deepretina/internal/browser"
)

// evil is a title that breaks naive embedding: an apostrophe (GoNB's helper puts the JSON in
// a single-quoted string), a closing script tag, an HTML comment opener, non-ASCII text and the
// JavaScript line separators.
const evil = "it's </script><script>document.title='pwned'</script> <!-- µm ü 😀 \u2028\u2029 \"q\" & done"

func evilFigure() *Figure {
	return must(Line(evil, "time (ms)", "rate (Hz)",
		Series{Name: "cell 'a'", X: []float64{0, 1, 2, 3}, Y: []float64{1, math.NaN(), 3, math.Inf(1)}},
		Series{Name: "cell b", X: []float64{0, 1, 2, 3}, Y: []float64{2, 1, 0, 1}, Dash: "dash"}))
}

func must(f *Figure, err error) *Figure {
	if err != nil {
		panic(err)
	}
	return f
}

func TestFigureJSONEscapes(t *testing.T) {
	js, err := FigureJSON(evilFigure())
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"'", "<", ">", "&", "\u2028", "\u2029"} {
		if bytes.Contains(js, []byte(bad)) {
			t.Errorf("figure JSON contains a raw %q", bad)
		}
	}
	var back struct {
		Data []struct {
			Name string `json:"name"`
			Y    []*float64
		} `json:"data"`
		Layout struct {
			Title struct {
				Text string `json:"text"`
			} `json:"title"`
		} `json:"layout"`
	}
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatalf("escaped JSON does not parse: %v", err)
	}
	if back.Layout.Title.Text != evil {
		t.Errorf("title round trip: got %q, want %q", back.Layout.Title.Text, evil)
	}
	if back.Data[0].Name != "cell 'a'" {
		t.Errorf("series name round trip: %q", back.Data[0].Name)
	}
	y := back.Data[0].Y
	if len(y) != 4 || y[0] == nil || *y[0] != 1 || y[1] != nil || y[3] != nil {
		t.Errorf("NaN and Inf must become null gaps, got %v", y)
	}
}

func TestScriptSafe(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`var s="</script>";`, `var s="<\/script>";`},
		{`var s="</SCRIPT >";`, `var s="<\/SCRIPT >";`},
		{`x="<!--";`, `x="<\!--";`},
		{`a<b`, `a<b`},
	} {
		if got := string(scriptSafe([]byte(tc.in))); got != tc.want {
			t.Errorf("scriptSafe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestGrid(t *testing.T) {
	series := func(name string) Series {
		return Series{Name: name, X: []float64{0, 1}, Y: []float64{1, 2}, Group: "g-" + name}
	}
	fig, err := Grid("two panels", 1, 2, []Panel{
		{Title: "truth", XLabel: "t", YLabel: "r", Series: []Series{series("a"), series("b")}},
		{Title: "model", XLabel: "t", YLabel: "r", YLog: true, Series: []Series{series("a")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	js, err := FigureJSON(fig)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Data []struct {
			Xaxis, Yaxis, Legendgroup string
			Showlegend                bool
			Line                      struct{ Color string }
		} `json:"data"`
		Layout map[string]json.RawMessage `json:"layout"`
	}
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Data) != 3 {
		t.Fatalf("%d traces, want 3", len(back.Data))
	}
	want := []struct {
		x, y string
		show bool
	}{{"x", "y", true}, {"x", "y", true}, {"x2", "y2", false}}
	for i, w := range want {
		d := back.Data[i]
		if d.Xaxis != w.x || d.Yaxis != w.y || d.Showlegend != w.show {
			t.Errorf("trace %d: axes %s/%s showlegend %v, want %s/%s %v", i, d.Xaxis, d.Yaxis, d.Showlegend, w.x, w.y, w.show)
		}
	}
	if back.Data[0].Line.Color != back.Data[2].Line.Color || back.Data[0].Line.Color == back.Data[1].Line.Color {
		t.Errorf("colours by group: %s %s %s", back.Data[0].Line.Color, back.Data[1].Line.Color, back.Data[2].Line.Color)
	}
	for _, key := range []string{"xaxis", "yaxis", "xaxis2", "yaxis2", "annotations"} {
		if _, ok := back.Layout[key]; !ok {
			t.Errorf("layout lacks %s", key)
		}
	}
	if !strings.Contains(string(back.Layout["yaxis2"]), `"type":"log"`) {
		t.Errorf("second panel's y axis is not logarithmic: %s", back.Layout["yaxis2"])
	}
}

func TestOnePanelBuildersReturnErrors(t *testing.T) {
	if _, err := Line("t", "x", "y", Series{Name: "s", X: []float64{1}, Y: nil}); err == nil {
		t.Error("Line accepted a series with 1 x and 0 y values")
	}
	if _, err := Bars("t", "x", "y", BarSeries{Name: "b", Categories: []string{"a", "b"}, Values: []float64{1}}); err == nil {
		t.Error("Bars accepted 2 categories for 1 value")
	}
	if _, err := HeatmapFigure("t", "x", "y", Heatmap{}); err == nil {
		t.Error("HeatmapFigure accepted an empty matrix")
	}
}

func TestGridRejects(t *testing.T) {
	seven := make([]Panel, 7)
	for _, tc := range []struct {
		name       string
		rows, cols int
		panels     []Panel
		want       string
	}{
		{"too many panels", 3, 3, seven, "at most 6"},
		{"does not fit", 1, 2, make([]Panel, 3), "do not fit"},
		{"zero rows", 0, 2, nil, "rows and columns"},
		{"ragged series", 1, 1, []Panel{{Series: []Series{{Name: "s", X: []float64{1, 2}, Y: []float64{1}}}}}, "2 x values for 1 y values"},
		{"ragged bars", 1, 1, []Panel{{Bars: []BarSeries{{Name: "b", Categories: []string{"a"}, Values: []float64{1, 2}}}}}, "1 categories for 2 values"},
		{"ragged heat map", 1, 1, []Panel{{Heatmap: &Heatmap{Z: [][]float64{{1, 2}, {3}}}}}, "row 1 has 1 values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Grid("", tc.rows, tc.cols, tc.panels)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFindPlotlyJSMissingNamesFileAndSetup(t *testing.T) {
	_, err := findPlotlyJS([]string{t.TempDir()})
	if err == nil {
		t.Fatal("no error for a tree without node_modules")
	}
	for _, want := range []string{filepath.Join("node_modules", "plotly.js-dist-min", "plotly.min.js"), "scripts/setup.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	root := t.TempDir()
	p := filepath.Join(root, filepath.FromSlash(PlotlyJSPath))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := findPlotlyJS([]string{t.TempDir(), root})
	if err != nil || got != p {
		t.Fatalf("findPlotlyJS = %q, %v; want %q", got, err, p)
	}
}

func TestRenderReport(t *testing.T) {
	rep := NewReport("Report <1> & 'two'")
	rep.AddTable("Summary", Table{Columns: []string{"experiment", "reproduced"}, Rows: [][]string{{"a<b", "yes"}, {"c", "no"}}})
	rep.AddFigure("Evil", "caption with </script>", evilFigure())
	rep.AddFigure("Bars", "", must(Bars("bars", "cat", "val", BarSeries{Name: "v", Categories: []string{"x", "y"}, Values: []float64{1, 2}})))
	var buf bytes.Buffer
	if err := rep.Render(&buf, []byte(`window.Plotly={newPlot:function(){}}; var s="</script>";`)); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if n := strings.Count(page, "Plotly.newPlot("); n != 2 {
		t.Errorf("%d newPlot calls, want 2", n)
	}
	// The only closing script tags are the ones the writer emits: plotly.js + 2 figures.
	if n := strings.Count(strings.ToLower(page), "</script>"); n != 3 {
		t.Errorf("%d </script> tags, want 3", n)
	}
	for _, want := range []string{"<title>Report &lt;1&gt; &amp; &#39;two&#39;</title>", "<td>a&lt;b</td>", `<td class="yes">yes</td>`, "caption with &lt;/script&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if err := rep.Render(&buf, nil); err == nil {
		t.Error("rendering without plotly.js must fail")
	}
}

// TestReportAndNotebookDrawOffline renders a report and a page of notebook snippets in headless
// chromium with the network shut off and checks that every chart drew and that the evil
// title stayed text.
func TestReportAndNotebookDrawOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("needs headless chromium; runs in the full tier, scripts/test.sh")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	rep := NewReport("offline")
	rep.AddFigure("evil", "", evilFigure())
	hm := must(HeatmapFigure("map", "x", "y", Heatmap{Z: [][]float64{{1, 2}, {3, math.NaN()}}, Colorscale: "RdBu", ZTitle: "r"}))
	rep.AddFigure("heat map", "", hm)
	grid, err := Grid("grid", 2, 2, []Panel{
		{Title: "a", Series: []Series{{Name: "s", X: []float64{0, 1}, Y: []float64{0, 1}}}},
		{Title: "b", Bars: []BarSeries{{Name: "b", Categories: []string{"p", "q"}, Values: []float64{1, 3}}}},
		{Title: "c", Heatmap: &Heatmap{Z: [][]float64{{0, 1}, {1, 0}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rep.AddFigure("grid", "", grid)
	reportPath := filepath.Join(dir, "report.html")
	if err := rep.WriteFile(reportPath); err != nil {
		t.Fatal(err)
	}
	dom, err := browser.DumpDOM(ctx, reportPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := browser.CountPlots(dom); n != 3 {
		t.Errorf("report: %d charts drew, want 3", n)
	}
	if browser.CountCharts(dom) < 3 {
		t.Errorf("report: %d main-svg layers, want ≥ 3", browser.CountCharts(dom))
	}
	if strings.Contains(dom, "pwned") && strings.Contains(dom, "<title>pwned") {
		t.Error("the figure title's script ran")
	}
	if !strings.Contains(dom, "it's &lt;/script&gt;") {
		t.Error("the evil title is not drawn as text")
	}

	nb, err := NewNotebook()
	if err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	page.WriteString("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>\n")
	for _, f := range []*Figure{evilFigure(), hm} {
		s, err := nb.HTML(f)
		if err != nil {
			t.Fatal(err)
		}
		page.WriteString(s)
	}
	page.WriteString("</body></html>\n")
	if n := strings.Count(page.String(), "(function(define,exports,module)"); n != 1 {
		t.Errorf("plotly.js inlined %d times, want once", n)
	}
	nbPath := filepath.Join(dir, "notebook.html")
	if err := os.WriteFile(nbPath, []byte(page.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if dom, err = browser.DumpDOM(ctx, nbPath); err != nil {
		t.Fatal(err)
	}
	if n := browser.CountPlots(dom); n != 2 {
		t.Errorf("notebook page: %d charts drew, want 2", n)
	}

	// A snippet without the loader says what is missing instead of staying blank.
	s, err := NotebookSnippet(hm, "lonely")
	if err != nil {
		t.Fatal(err)
	}
	lonely := filepath.Join(dir, "lonely.html")
	if err := os.WriteFile(lonely, []byte("<html><body>"+s+"</body></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if dom, err = browser.DumpDOM(ctx, lonely); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dom, "plotly.js is not loaded") {
		t.Error("a snippet without plotly.js does not say so")
	}
}

func TestNotebookSnippetRejectsBadID(t *testing.T) {
	for _, id := range []string{"", `a"b`, "x y", "<p>"} {
		if _, err := NotebookSnippet(must(Line("t", "", "")), id); err == nil {
			t.Errorf("id %q accepted", id)
		}
	}
}

// TestImagePanels: heat-map images put row 0 at the top with square pixels; a symmetric scale is
// centred on zero, a fixed range is kept, a hidden colour bar is hidden; a bad range is an error.
func TestImagePanels(t *testing.T) {
	fig, err := Grid("images", 1, 2, []Panel{
		{Title: "a", YReversed: true, EqualAspect: true, Heatmap: &Heatmap{Z: [][]float64{{-1, 2}, {3, 4}}, Symmetric: true, NoColorbar: true}},
		{Title: "b", YFromZero: true, Heatmap: &Heatmap{Z: [][]float64{{0, 1}}, ZRange: []float64{-2, 2}}, Series: []Series{{Name: "dots", X: []float64{0}, Y: []float64{0}, Mode: "markers", Size: 3}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	js, err := FigureJSON(fig)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Data []struct {
			Type       string   `json:"type"`
			Zmid       *float64 `json:"zmid"`
			Zmin, Zmax *float64
			Zauto      *bool `json:"zauto"`
			Showscale  *bool `json:"showscale"`
			Marker     struct{ Size *float64 }
		} `json:"data"`
		Layout struct {
			Yaxis  struct{ Autorange, Scaleanchor, Constrain any } `json:"yaxis"`
			Xaxis  struct{ Constrain any }                         `json:"xaxis"`
			Yaxis2 struct{ Autorange, Scaleanchor, Rangemode any } `json:"yaxis2"`
		} `json:"layout"`
	}
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	y := back.Layout.Yaxis
	if y.Autorange != "reversed" || y.Scaleanchor != "x" || y.Constrain != "domain" || back.Layout.Xaxis.Constrain != "domain" {
		t.Errorf("image axes: %+v, x %+v", y, back.Layout.Xaxis)
	}
	if back.Layout.Yaxis2.Rangemode != "tozero" {
		t.Errorf("panel b's y axis must start at zero: %+v", back.Layout.Yaxis2)
	}
	if back.Layout.Yaxis2.Autorange != nil || back.Layout.Yaxis2.Scaleanchor != nil {
		t.Errorf("panel b is no image but has %+v", back.Layout.Yaxis2)
	}
	a, b := back.Data[0], back.Data[2] // panel b's series come before its heat map
	if a.Zmid == nil || *a.Zmid != 0 || a.Showscale == nil || *a.Showscale {
		t.Errorf("symmetric heat map without colour bar: zmid %v showscale %v", a.Zmid, a.Showscale)
	}
	if b.Zmid != nil || b.Zmin == nil || *b.Zmin != -2 || b.Zmax == nil || *b.Zmax != 2 || b.Zauto == nil || *b.Zauto {
		t.Errorf("fixed range: zmid %v zmin %v zmax %v zauto %v", b.Zmid, b.Zmin, b.Zmax, b.Zauto)
	}
	if m := back.Data[1].Marker.Size; m == nil || *m != 3 {
		t.Errorf("marker size %v, want 3", m)
	}
	for _, r := range [][]float64{{1}, {2, 1}, {1, 1}} {
		if _, err := HeatmapFigure("", "", "", Heatmap{Z: [][]float64{{1}}, ZRange: r}); err == nil || !strings.Contains(err.Error(), "colour range") {
			t.Errorf("range %v: error %v", r, err)
		}
	}
}

func TestTableHTMLAndLoaderMarker(t *testing.T) {
	h := Table{Columns: []string{"a<b"}, Rows: [][]string{{"it's & <i>"}, {"yes"}}}.HTML()
	for _, want := range []string{"<th>a&lt;b</th>", "<td>it&#39;s &amp; &lt;i&gt;</td>", `<td class="yes">yes</td>`} {
		if !strings.Contains(h, want) {
			t.Errorf("table HTML %q lacks %q", h, want)
		}
	}
	s, err := PlotlyLoaderSnippet()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, LoaderMarker+"<script>") {
		t.Errorf("the loader does not begin with the marker the nbconvert template skips: %.80q", s)
	}
	nb, err := NewNotebook()
	if err != nil {
		t.Fatal(err)
	}
	first, err := nb.HTML(evilFigure())
	if err != nil {
		t.Fatal(err)
	}
	second, err := nb.HTML(evilFigure())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first, LoaderMarker) || strings.Contains(second, LoaderMarker) {
		t.Error("a Notebook's first snippet must carry the marked loader, later ones not")
	}
}
