// Package report assembles the one-page HTML report of a trained run that `deepretina report`
// writes, so that a notebook or a Go program can build the same page: training curves, test
// scores cell by cell beside an LN baseline and the reliability ceiling, predicted vs recorded
// rates, first-layer filters, and the results of the phenomena battery and the interneuron
// probe when their files are given.
//
//	model, err := retina.LoadModel("runs/bncnn-small", retina.LoadOptions{})
//	rec, err := retina.LoadData(model.Meta.Config, nil)
//	rep, err := report.Run("runs/bncnn-small", model, rec, report.Options{Seconds: 10,
//		Phenomena: "runs/bncnn-small/phenomena/results.json"})
//	err = rep.WriteFile("report.html") // or notebook.DisplayReport(rep)
//
// Layering: analysis, viz, figures ← report ← cmd/deepretina, notebooks.
package report
