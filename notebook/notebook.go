package notebook

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"os"
	"path/filepath"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/deepretina/deepretina/figures"
)

// Output is where a Page sends HTML: a new output of the running cell, or an update of the
// output with a Jupyter display id (created by the first update with that id).
type Output interface {
	Display(html string) error
	Update(displayID, html string) error
}

// GoNB sends to the notebook cell that GoNB is running (package gonbui); outside GoNB it
// displays nothing. Every call waits until GoNB has taken the output (gonbui.Sync): GoNB drops
// what is still in its pipe when a cell's program exits, which lost the last chart of a cell
// now and then.
type GoNB struct{}

// Display implements Output.
func (GoNB) Display(h string) error {
	gonbui.DisplayHTML(h)
	gonbui.Sync()
	return gonbui.Error()
}

// Update implements Output.
func (GoNB) Update(id, h string) error {
	gonbui.UpdateHTML(id, h)
	gonbui.Sync()
	return gonbui.Error()
}

// Page displays figures, tables and text on an Output.
type Page struct{ out Output }

// New returns a Page on the GoNB cell being run.
func New() *Page { return &Page{out: GoNB{}} }

// NewPage returns a Page on out (a test's recorder, say).
func NewPage(out Output) *Page { return &Page{out: out} }

// LoadPlotly displays plotly.js, inlined (figures.PlotlyLoaderSnippet, about 3.6 MB), so that
// the charts of every later cell draw, also in an HTML export and with no network. Display it
// once, in one of the notebook's first cells.
func (p *Page) LoadPlotly() error {
	s, err := figures.PlotlyLoaderSnippet()
	if err != nil {
		return err
	}
	return p.out.Display(s)
}

// Show displays a figure.
func (p *Page) Show(fig *figures.Figure) error {
	id, err := newID("deepretina-fig-")
	if err != nil {
		return err
	}
	s, err := figures.NotebookSnippet(fig, id)
	if err != nil {
		return err
	}
	return p.out.Display(s)
}

// ShowTable displays a table, every cell escaped.
func (p *Page) ShowTable(t figures.Table) error { return p.out.Display(tableHTML(t)) }

// Text displays a paragraph of plain text (escaped).
func (p *Page) Text(text string) error {
	return p.out.Display("<p>" + html.EscapeString(text) + "</p>")
}

// Heading displays a heading (escaped), e.g. above each of several charts of one cell.
func (p *Page) Heading(text string) error {
	return p.out.Display("<h3>" + html.EscapeString(text) + "</h3>")
}

// LoadPlotly displays plotly.js on the GoNB cell being run (see Page.LoadPlotly).
func LoadPlotly() error { return New().LoadPlotly() }

// MustLoadPlotly is LoadPlotly, panicking on error.
func MustLoadPlotly() { must(LoadPlotly()) }

// Show displays a figure in the GoNB cell being run.
func Show(fig *figures.Figure) error { return New().Show(fig) }

// MustShow displays fig, or panics with err when a figure builder failed: written around a
// builder's two results, MustShow(viz.Scores(ev)).
func MustShow(fig *figures.Figure, err error) {
	must(err)
	must(Show(fig))
}

// Heading displays a heading in the GoNB cell being run.
func Heading(text string) error { return New().Heading(text) }

// Text displays a paragraph of plain text in the GoNB cell being run.
func Text(text string) error { return New().Text(text) }

// ShowTable displays a table in the GoNB cell being run.
func ShowTable(t figures.Table) error { return New().ShowTable(t) }

// MustShowTable is ShowTable, panicking on error.
func MustShowTable(t figures.Table) { must(ShowTable(t)) }

// Live is one output that is redrawn in place (Jupyter's display-by-id updates): a chart that
// grows while something runs, or a line of status text.
type Live struct {
	out       Output
	displayID string
	divID     string
}

// NewLive starts a live output on the GoNB cell being run; it appears with its first update.
func NewLive() (*Live, error) { return New().NewLive() }

// NewLive starts a live output on the page.
func (p *Page) NewLive() (*Live, error) {
	did, err := newID("deepretina-live-")
	if err != nil {
		return nil, err
	}
	div, err := newID("deepretina-fig-")
	if err != nil {
		return nil, err
	}
	return &Live{out: p.out, displayID: did, divID: div}, nil
}

// DisplayID is the Jupyter display id the updates go to.
func (l *Live) DisplayID() string { return l.displayID }

// Figure redraws the output as fig.
func (l *Live) Figure(fig *figures.Figure) error {
	s, err := figures.NotebookSnippet(fig, l.divID)
	if err != nil {
		return err
	}
	return l.out.Update(l.displayID, s)
}

// Text redraws the output as a line of plain text (escaped): progress, say.
func (l *Live) Text(format string, args ...any) error {
	return l.out.Update(l.displayID, "<pre>"+html.EscapeString(fmt.Sprintf(format, args...))+"</pre>")
}

// WorkDir returns the folder where a notebook keeps what its cells share (simulated data, run
// folders, results), creating it: $DEEPRETINA_NOTEBOOK_WORK/name when that variable is set
// (scripts/notebooks.sh sets it to a fresh folder), else work/name beside the notebook (GoNB runs
// cells in the notebook's folder).
func WorkDir(name string) (string, error) {
	root := os.Getenv("DEEPRETINA_NOTEBOOK_WORK")
	if root == "" {
		root = "work"
	}
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("notebook work folder: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("notebook work folder: %w", err)
	}
	return abs, nil
}

// MustWorkDir is WorkDir, panicking on error.
func MustWorkDir(name string) string {
	dir, err := WorkDir(name)
	must(err)
	return dir
}

func newID(prefix string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return prefix + hex.EncodeToString(b[:]), nil
}

func tableHTML(t figures.Table) string {
	return `<div class="deepretina-table">` + t.HTML() + "</div>"
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
