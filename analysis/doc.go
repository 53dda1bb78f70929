// Package analysis scores and explains trained retina models: per-cell evaluation against the
// retina's own reliability (Pearson r, fraction of explainable variance, bits per spike), and the
// classical linear–nonlinear (LN) baseline fitted by reverse correlation.
//
//	model, _ := retina.LoadModel("runs/bncnn-small", retina.LoadOptions{})
//	rec, _ := retina.LoadData(model.Meta.Config, nil)
//	w, _ := model.Windows(rec.Train.Stimulus, rec.Train.Rates)
//	ln, _ := analysis.FitClassicalLN(w, nil, 20000)
//	ev, _ := analysis.Evaluate(model, ln, "classical LN", rec)
//	ev.WriteTable(os.Stdout)
package analysis
