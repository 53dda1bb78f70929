package figures_test

import (
	"bytes"
	"fmt"
	"log"
	"strings"

	"github.com/deepretina/deepretina/figures"
)

// Build a two-panel figure, show it in a notebook cell and put it in a self-contained report.
func Example() {
	t := []float64{0, 10, 20, 30, 40}
	fig, err := figures.Grid("Step response", 1, 2, []figures.Panel{
		{Title: "truth", XLabel: "time (ms)", YLabel: "rate (Hz)", Series: []figures.Series{{Name: "cell 0", X: t, Y: []float64{5, 5, 30, 12, 8}}}},
		{Title: "model", XLabel: "time (ms)", YLabel: "rate (Hz)", Series: []figures.Series{{Name: "cell 0", X: t, Y: []float64{4, 6, 25, 15, 9}}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("traces:", len(fig.Data))

	// A notebook cell (GoNB: gonbui.DisplayHTML) displays this snippet; the page needs
	// plotly.js once (figures.PlotlyLoaderSnippet, or a figures.Notebook does both).
	cell, err := figures.NotebookSnippet(fig, "step")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.SplitN(cell, "\n", 2)[0])

	rep := figures.NewReport("Retinal phenomena")
	rep.AddTable("Summary", figures.Table{Columns: []string{"experiment", "reproduced"}, Rows: [][]string{{"step_response", "yes"}}})
	rep.AddFigure("Step response", "Full-field step 0 → −1 → 0.", fig)
	// rep.WriteFile("out/report.html") inlines plotly.js from node_modules (FindPlotlyJS);
	// Render takes it as an argument:
	var page bytes.Buffer
	if err := rep.Render(&page, []byte("/* plotly.min.js */")); err != nil {
		log.Fatal(err)
	}
	fmt.Println("figures:", rep.Figures(), "charts drawn:", strings.Count(page.String(), "Plotly.newPlot("))
	// Output:
	// traces: 2
	// <div id="step" class="deepretina-figure"></div>
	// figures: 1 charts drawn: 1
}
