package figures

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/deepretina/deepretina/internal/repofile"
)

// PlotlyJSPath is where plotly.js lies relative to the repository root once scripts/setup.sh
// has run `npm ci` (package.json pins plotly.js-dist-min 2.34.0, the version whose schema
// go-plotly v0.7.0 generates).
const PlotlyJSPath = "node_modules/plotly.js-dist-min/plotly.min.js"

// FindPlotlyJS returns the absolute path of plotly.min.js, looking for PlotlyJSPath beside the
// executable (bin/deepretina → ../node_modules), in the working folder and its parents, and in
// the source tree this package was compiled from (where tests and notebooks that import the
// module from a local checkout find it). The error names the file and the set-up script.
func FindPlotlyJS() (string, error) { return findPlotlyJS(repofile.SearchRoots()) }

func findPlotlyJS(roots []string) (string, error) {
	if p, ok := repofile.FindIn(roots, PlotlyJSPath); ok {
		return p, nil
	}
	return "", fmt.Errorf("plotly.js not found: %s is missing (looked beside the executable, in the working folder and its parents, and in the source tree); run scripts/setup.sh, which installs it with npm ci", PlotlyJSPath)
}

// LoadPlotlyJS reads plotly.min.js (see FindPlotlyJS).
func LoadPlotlyJS() ([]byte, error) {
	path, err := FindPlotlyJS()
	if err != nil {
		return nil, err
	}
	js, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plotly.js: %w", err)
	}
	if len(js) == 0 {
		return nil, fmt.Errorf("plotly.js %s is empty; run scripts/setup.sh to reinstall it", path)
	}
	return js, nil
}

// FigureJSON encodes a figure for a <script> element: encoding/json already writes '<', '>',
// '&', U+2028 and U+2029 as \u escapes (so "</script>" in a title cannot close the element and
// a line separator cannot end a JavaScript string), and the apostrophe becomes \u0027 as well,
// so the text is also safe inside a single-quoted JavaScript string. It is valid JSON and a
// valid JavaScript expression. Non-finite numbers are an error (plotly has no NaN); the
// builders of this package already draw them as gaps.
func FigureJSON(fig *Figure) ([]byte, error) {
	if fig == nil {
		return nil, fmt.Errorf("nil figure")
	}
	data, err := json.Marshal(fig)
	if err != nil {
		return nil, fmt.Errorf("encode figure: %w", err)
	}
	return bytes.ReplaceAll(data, []byte("'"), []byte(`\u0027`)), nil
}

// scriptSafe makes JavaScript source safe inside a <script> element: a literal "</script" (in
// any case) or "<!--" would end or confuse the element, so they are written with an escaped
// slash or bang, which means the same inside the string or regular-expression literals where
// they can occur.
func scriptSafe(js []byte) []byte {
	out := bytes.ReplaceAll(js, []byte("<!--"), []byte(`<\!--`))
	var b bytes.Buffer
	for {
		i := indexFold(out, "</script")
		if i < 0 {
			b.Write(out)
			return b.Bytes()
		}
		b.Write(out[:i])
		b.WriteString(`<\/`)
		out = out[i+2:]
	}
}

func indexFold(s []byte, sub string) int {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if bytes.EqualFold(s[i:i+n], []byte(sub)) {
			return i
		}
	}
	return -1
}
