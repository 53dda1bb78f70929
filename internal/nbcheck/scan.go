package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// notebook is the part of an .ipynb (nbformat 4) that the checks read.
type notebook struct {
	NBFormat int    `json:"nbformat"`
	Cells    []cell `json:"cells"`
}

type cell struct {
	CellType       string   `json:"cell_type"`
	Source         text     `json:"source"`
	ExecutionCount *int     `json:"execution_count"`
	Outputs        []output `json:"outputs"`
}

type output struct {
	OutputType string          `json:"output_type"`
	Name       string          `json:"name"` // stream: stdout or stderr
	Text       text            `json:"text"`
	Data       map[string]text `json:"data"`
	EName      string          `json:"ename"`
	EValue     string          `json:"evalue"`
}

// text is a multi-line string of nbformat: a string or a list of strings to be joined.
type text string

func (t *text) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*t = text(s)
		return nil
	}
	var parts []string
	if err := json.Unmarshal(data, &parts); err != nil {
		// Non-text MIME data (application/json, …) is not read by the checks.
		*t = ""
		return nil
	}
	*t = text(strings.Join(parts, ""))
	return nil
}

func readNotebook(path string) (*notebook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var nb notebook
	if err := json.Unmarshal(data, &nb); err != nil {
		return nil, fmt.Errorf("%s: not a notebook: %w", path, err)
	}
	if nb.NBFormat != 4 {
		return nil, fmt.Errorf("%s: nbformat %d, expected 4", path, nb.NBFormat)
	}
	return &nb, nil
}

// loaderMarker begins the output that carries plotly.js (figures.LoaderMarker).
const loaderMarker = "<!-- deepretina:plotly-loader -->"

var (
	// What a Go program that failed leaves on stderr in GoNB: a panic (nbconvert exits 0 on it),
	// a non-zero exit status as GoNB reports it, a fatal runtime error, a signal.
	failure = regexp.MustCompile(`(?m)(^panic: |^fatal error: |^exit status \d+\s*$|^signal: \w+|^ERROR: )`)
	// draws matches a cell that displays a chart through package notebook.
	draws = regexp.MustCompile(`\bnotebook\.(MustShow|Show|NewTrainingChart)\(|\.Figure\(`)
	// figureDiv is the <div> a figure snippet draws into (figures.NotebookSnippet).
	figureDiv = regexp.MustCompile(`<div id="([A-Za-z0-9_-]+)" class="deepretina-figure">`)
)

// report is what scanning an executed notebook found.
type report struct {
	Figures  int      // figure snippets in the outputs (the final state of live outputs)
	Problems []string // each one fails the notebook
}

// scan checks an executed notebook: every code cell ran, no output is an error, no Go program
// panicked or exited non-zero (GoNB only prints that on stderr, and nbconvert exits 0), a cell
// that draws a chart displayed one, plotly.js was displayed before the first figure, and figure
// ids are unique on the page.
func scan(nb *notebook) report {
	var r report
	loaded := false
	ids := map[string]int{}
	for i, c := range nb.Cells {
		if c.CellType != "code" {
			continue
		}
		where := fmt.Sprintf("cell %d", i+1)
		if first := firstLine(string(c.Source)); first != "" {
			where += fmt.Sprintf(" (%s)", first)
		}
		if c.ExecutionCount == nil && strings.TrimSpace(string(c.Source)) != "" {
			r.Problems = append(r.Problems, where+": was not executed")
		}
		before := r.Figures
		for _, o := range c.Outputs {
			switch o.OutputType {
			case "error":
				r.Problems = append(r.Problems, fmt.Sprintf("%s: error output %s: %s", where, o.EName, o.EValue))
			case "stream":
				if m := failure.FindStringIndex(string(o.Text)); m != nil {
					r.Problems = append(r.Problems, fmt.Sprintf("%s: the program failed (%s): %s", where, o.Name, excerpt(string(o.Text), m[0])))
				}
			case "display_data", "execute_result", "update_display_data":
				h := string(o.Data["text/html"])
				if strings.HasPrefix(h, loaderMarker) {
					loaded = true
				}
				for _, m := range figureDiv.FindAllStringSubmatch(h, -1) {
					r.Figures++
					if !loaded {
						r.Problems = append(r.Problems, fmt.Sprintf("%s: figure %s is displayed before plotly.js (notebook.LoadPlotly) was", where, m[1]))
					}
					if prev, dup := ids[m[1]]; dup {
						r.Problems = append(r.Problems, fmt.Sprintf("%s: figure id %s is used again (first in cell %d)", where, m[1], prev))
					}
					ids[m[1]] = i + 1
				}
			}
		}
		if r.Figures == before && draws.MatchString(string(c.Source)) {
			r.Problems = append(r.Problems, where+": draws a chart but its outputs hold none")
		}
	}
	return r
}

// firstLine is a cell's first line of code, skipping blank lines and GoNB's "%%" marker.
func firstLine(src string) string {
	for _, l := range strings.Split(src, "\n") {
		if l = strings.TrimSpace(l); l != "" && l != "%%" {
			return l
		}
	}
	return ""
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// excerpt returns a few lines of s from the line holding position at, without terminal colours.
func excerpt(s string, at int) string {
	start := strings.LastIndex(s[:at], "\n")
	lines := strings.SplitN(s[start+1:], "\n", 6)
	if len(lines) > 5 {
		lines = lines[:5]
	}
	return ansi.ReplaceAllString(strings.TrimSpace(strings.Join(lines, "\n")), "")
}
