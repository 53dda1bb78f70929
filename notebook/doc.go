// Package notebook shows deepretina's charts in Jupyter notebooks run by the GoNB kernel
// (github.com/janpfeifer/gonb, v0.11.1): figures drawn through window.Plotly.newPlot with their
// JSON safely escaped (package figures), plotly.js inlined into the page once — so that
// notebooks and their HTML exports work with no network — and charts that update in place by
// Jupyter display id while a model trains, instead of a wall of log lines.
//
// GoNB runs every cell as a new process: what a cell computes is gone in the next one, so
// notebooks keep their work in files (WorkDir) and heavy steps reuse what an earlier cell saved
// (retina.Train resumes or returns a finished run; retina.LoadModel reloads it).
//
// A notebook's first cells:
//
//	!*go mod edit -require=github.com/deepretina/deepretina@v0.0.0-00010101000000-000000000000 -replace=github.com/deepretina/deepretina=${GONB_DIR}/.. -require=github.com/janpfeifer/gonb@v0.11.1
//
//	import "github.com/deepretina/deepretina/notebook"
//	%%
//	notebook.MustLoadPlotly() // once per notebook: plotly.js, inlined
//
// and later ones:
//
//	%%
//	notebook.MustShow(viz.Frames("Stimulus", rec.Train.Stimulus, []int{0, 50, 100}, rec.FrameRate))
//	chart := notebook.NewTrainingChart("Training")
//	meta, err := retina.Train(ctx, cfg, runDir, chart.Options(retina.TrainOptions{Data: rec}))
//	chart.MustDone(meta, err) // the whole curve, from the run's history
//
// Errors: Show and the other methods return them; the Must forms panic with them, which is
// what a notebook cell wants (GoNB prints the panic and scripts/notebooks.sh fails on it).
//
// Outside GoNB (a test, a plain program) nothing is displayed unless a Page is given an Output
// of its own, which is how this package is tested.
package notebook
