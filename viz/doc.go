// Package viz draws deepretina's data, models and results as interactive charts: go-plotly
// figures (package figures) that HTML reports and notebooks display. It is the one place where
// the project's charts of runs are built — training curves, test-set scores against the LN
// baseline and the retina's reliability ceiling, predicted against recorded firing rates,
// first-layer filters, stimulus frames, spike rasters with their PSTH and the results of a grid
// search — so that `deepretina report` and the notebooks (package notebook) show the same
// pictures. Every builder returns an error instead of a half-drawn figure.
//
// From a run folder to a page:
//
//	model, err := retina.LoadModel("runs/bncnn-small", retina.LoadOptions{})
//	curves, err := viz.TrainingCurves("Training", viz.Curves{Epochs: model.Meta.History})
//	rec, err := retina.LoadData(model.Meta.Config, nil)
//	ev, err := analysis.Evaluate(model, nil, "", rec)
//	scores, err := viz.Scores(ev)
//	pred, err := model.Predict(rec.Test.Stimulus)
//	rates, err := viz.PredictedRates(rec, model.Meta.InputShape[0], nil, 10, viz.Prediction{Name: "CNN", Rates: pred})
//	filters, err := viz.Filters(model)
//	maps, err := viz.FilterFigures("First-layer filters", filters)
//	rep := figures.NewReport("bncnn-small")
//	rep.AddFigure("Training", "", curves)
//	…
//	err = rep.WriteFile("report.html") // self-contained: plotly.js inlined
//
// Times are in seconds (stimulus, rasters, rates) or milliseconds before the predicted frame
// (filters); rates in Hz; correlations are Pearson r.
package viz
