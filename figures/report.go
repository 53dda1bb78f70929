package figures

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Table is a plain table of a report: a header row and rows of text cells.
type Table struct {
	Columns []string
	Rows    [][]string
}

// Report is one self-contained HTML page of titled sections, each holding an optional text, a
// table and a figure. Build it with the Add methods, write it with WriteFile or Render.
type Report struct {
	Title    string
	Subtitle string // one line under the title (e.g. what was run, when)
	sections []section
}

type section struct {
	heading, text string
	table         *Table
	fig           *Figure
}

// NewReport starts an empty report.
func NewReport(title string) *Report { return &Report{Title: title} }

// AddText adds a section of text (paragraphs separated by blank lines).
func (r *Report) AddText(heading, text string) {
	r.sections = append(r.sections, section{heading: heading, text: text})
}

// AddTable adds a section with a table.
func (r *Report) AddTable(heading string, t Table) {
	r.sections = append(r.sections, section{heading: heading, table: &t})
}

// AddFigure adds a section with an interactive chart and a caption (may be empty).
func (r *Report) AddFigure(heading, caption string, fig *Figure) {
	r.sections = append(r.sections, section{heading: heading, text: caption, fig: fig})
}

// Figures is the number of charts in the report.
func (r *Report) Figures() int {
	n := 0
	for _, s := range r.sections {
		if s.fig != nil {
			n++
		}
	}
	return n
}

// WriteFile renders the report with plotly.js inlined (LoadPlotlyJS) and writes it atomically
// (a temporary file in the same folder, renamed over path), so a reader never sees half a page.
func (r *Report) WriteFile(path string) error {
	js, err := LoadPlotlyJS()
	if err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	var buf bytes.Buffer
	if err := r.Render(&buf, js); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	return writeAtomic(path, buf.Bytes())
}

// Render writes the page to w with plotlyJS (the text of plotly.min.js) inlined.
func (r *Report) Render(w io.Writer, plotlyJS []byte) error {
	if len(plotlyJS) == 0 {
		return fmt.Errorf("no plotly.js to inline (see FindPlotlyJS)")
	}
	var b bytes.Buffer
	esc := html.EscapeString
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(r.Title))
	b.WriteString(reportCSS)
	b.WriteString("<script>")
	b.WriteString(plotlyGlobal(plotlyJS))
	b.WriteString("</script>\n</head>\n<body>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n", esc(r.Title))
	if r.Subtitle != "" {
		fmt.Fprintf(&b, "<p class=\"subtitle\">%s</p>\n", esc(r.Subtitle))
	}
	nFig := 0
	for _, s := range r.sections {
		b.WriteString("<section>\n")
		if s.heading != "" {
			fmt.Fprintf(&b, "<h2>%s</h2>\n", esc(s.heading))
		}
		for _, para := range strings.Split(strings.TrimSpace(s.text), "\n\n") {
			if para != "" {
				fmt.Fprintf(&b, "<p>%s</p>\n", esc(para))
			}
		}
		if s.table != nil {
			writeTable(&b, *s.table)
		}
		if s.fig != nil {
			js, err := FigureJSON(s.fig)
			if err != nil {
				return fmt.Errorf("section %q: %w", s.heading, err)
			}
			id := fmt.Sprintf("figure-%d", nFig)
			nFig++
			fmt.Fprintf(&b, "<div class=\"figure\" id=\"%s\"></div>\n", id)
			fmt.Fprintf(&b, "<script>(function(){var f=%s;Plotly.newPlot(%q,f.data,f.layout,f.config);})();</script>\n", js, id)
		}
		b.WriteString("</section>\n")
	}
	b.WriteString("</body>\n</html>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// HTML returns the table as an HTML <table> element, every cell escaped (for notebook
// outputs; cells reading "yes" and "no" get the classes "yes" and "no", which a report colours).
func (t Table) HTML() string {
	var b bytes.Buffer
	writeTable(&b, t)
	return b.String()
}

func writeTable(b *bytes.Buffer, t Table) {
	esc := html.EscapeString
	b.WriteString("<table>\n<thead><tr>")
	for _, c := range t.Columns {
		fmt.Fprintf(b, "<th>%s</th>", esc(c))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, row := range t.Rows {
		b.WriteString("<tr>")
		for _, c := range row {
			class := ""
			switch c {
			case "yes":
				class = ` class="yes"`
			case "no":
				class = ` class="no"`
			}
			fmt.Fprintf(b, "<td%s>%s</td>", class, esc(c))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
}

const reportCSS = `<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
p.subtitle { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.yes { background: #e3f5e1; }
td.no { background: #fbe3e1; }
div.figure { width: 100%; }
</style>
`

// writeAtomic writes data to a temporary file next to path and renames it over path.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
