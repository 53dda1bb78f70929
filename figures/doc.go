// Package figures builds the project's charts and HTML reports: go-plotly (v0.7.0, plotly.js
// 2.34.0 schema) figure values for line charts, bar charts, heat maps and multi-panel layouts;
// a report writer that puts several titled figures and tables into one self-contained HTML page
// with plotly.js inlined, so that the page renders with no network; and the HTML snippet a
// notebook cell displays for a figure. It imports nothing of this project, so every layer (the
// phenomena battery, analyses, the command line, notebooks) can use it.
//
// plotly.js comes from npm (plotly.js-dist-min 2.34.0, pinned in the repository's package.json
// and installed into node_modules/ by scripts/setup.sh); FindPlotlyJS locates it.
//
// Example:
//
//	fig, err := figures.Grid("Step response", 1, 2, []figures.Panel{
//		{Title: "truth", XLabel: "time (ms)", YLabel: "rate (Hz)", Series: []figures.Series{{Name: "cell 0", X: t, Y: truth}}},
//		{Title: "model", XLabel: "time (ms)", YLabel: "rate (Hz)", Series: []figures.Series{{Name: "cell 0", X: t, Y: model}}},
//	})
//	if err != nil { … }
//	cell, err := figures.NotebookSnippet(fig, "step") // HTML for a notebook cell (after PlotlyLoaderSnippet)
//	rep := figures.NewReport("Retinal phenomena")
//	rep.AddTable("Summary", figures.Table{Columns: []string{"experiment", "reproduced"}, Rows: rows})
//	rep.AddFigure("Step response", "Full-field step 0 → −1 → 0.", fig)
//	err = rep.WriteFile("out/report.html") // inlines node_modules/plotly.js-dist-min/plotly.min.js
//
// Figure JSON is escaped for embedding in a <script> element: '<', '>', '&', U+2028, U+2029 and
// the apostrophe become \u escapes, so titles such as "it's </script>" cannot end the script
// or break a quoted string around it.
package figures
