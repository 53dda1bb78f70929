package figures

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// NotebookSnippet returns the HTML a notebook cell (GoNB: gonbui.DisplayHTML) displays for fig:
// a <div> with the given id and a script that draws into it through window.Plotly.newPlot,
// with the figure JSON escaped as FigureJSON describes. It does not carry plotly.js: the page
// must have loaded it (PlotlyLoaderSnippet, or a Notebook's first figure). When plotly.js is
// missing the div says so instead of staying blank. divID must be a plain identifier
// ([A-Za-z0-9_-]).
func NotebookSnippet(fig *Figure, divID string) (string, error) {
	if divID == "" || strings.Trim(divID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
		return "", fmt.Errorf("div id %q: expected letters, digits, '_' or '-'", divID)
	}
	js, err := FigureJSON(fig)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`<div id="%[1]s" class="deepretina-figure"></div>
<script>(function(){var el=document.getElementById("%[1]s");var f=%[2]s;
if(!window.Plotly){el.textContent="plotly.js is not loaded: display figures.PlotlyLoaderSnippet() (or a figures.Notebook's first figure) before this cell";return;}
window.Plotly.newPlot(el,f.data,f.layout,f.config);})();</script>
`, divID, js), nil
}

// LoaderMarker begins every plotly.js loader snippet (PlotlyLoaderSnippet, a Notebook's first
// figure). The project's nbconvert template (notebooks/nbconvert/deepretina) inlines plotly.js
// once in the exported page's head and leaves out the outputs that begin with it, so that an
// exported notebook carries the 3.6 MB library once.
const LoaderMarker = "<!-- deepretina:plotly-loader -->"

// PlotlyLoaderSnippet returns a <script> element that defines window.Plotly from plotly.js
// inlined (LoadPlotlyJS), unless the page already has it, preceded by LoaderMarker. Display it
// once per notebook page; exported notebooks then render offline.
func PlotlyLoaderSnippet() (string, error) {
	js, err := LoadPlotlyJS()
	if err != nil {
		return "", err
	}
	return plotlyLoader(js), nil
}

func plotlyLoader(js []byte) string {
	return LoaderMarker + "<script>if(!window.Plotly){" + plotlyGlobal(js) + "}</script>\n"
}

// plotlyGlobal wraps plotly.min.js, a UMD bundle, so that it always sets window.Plotly: with
// define, exports and module shadowed, it does not register itself with a module loader
// (classic Jupyter pages have RequireJS's define) and falls through to self.Plotly.
func plotlyGlobal(js []byte) string {
	return "(function(define,exports,module){\n" + string(scriptSafe(js)) + "\n})(undefined,undefined,undefined);"
}

// Notebook draws figures in notebook cells: its first snippet carries plotly.js (inlined once
// per Notebook value), later ones only the figure. Each figure gets a random div id, so that
// cells run by separate processes (as GoNB runs them) never collide.
type Notebook struct {
	plotlyJS []byte
	loaded   bool
}

// NewNotebook reads plotly.js (LoadPlotlyJS).
func NewNotebook() (*Notebook, error) {
	js, err := LoadPlotlyJS()
	if err != nil {
		return nil, err
	}
	return &Notebook{plotlyJS: js}, nil
}

// HTML returns the snippet that displays fig (see NotebookSnippet), preceded by the plotly.js
// loader the first time.
func (nb *Notebook) HTML(fig *Figure) (string, error) {
	var id [6]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", fmt.Errorf("div id: %w", err)
	}
	s, err := NotebookSnippet(fig, "deepretina-fig-"+hex.EncodeToString(id[:]))
	if err != nil {
		return "", err
	}
	if !nb.loaded {
		nb.loaded = true
		s = plotlyLoader(nb.plotlyJS) + s
	}
	return s, nil
}
