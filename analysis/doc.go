// Package analysis scores and explains trained retina models: per-cell evaluation against the
// retina's own reliability (Pearson r, fraction of explainable variance, bits per spike), and the
// classical linear–nonlinear (LN) baseline fitted by reverse correlation.
//
//	model, err := retina.LoadModel("runs/bncnn-small", retina.LoadOptions{})
//	// or an untrained control: retina.NewModel(mcfg, datasets.ComputeNormStats(stim), seed, retina.LoadOptions{})
//	rec, err := retina.LoadData(model.Meta.Config, nil)
//	w, err := model.Windows(rec.Train.Stimulus, rec.Train.Rates) // the model's history and normalisation
//	ln, err := analysis.FitClassicalLN(w, nil, 20000)
//	ev, err := analysis.Evaluate(model, ln, "classical LN", rec)   // error: other cells, frame size, history
//	ev.WriteTable(os.Stdout)                                       // json.Marshal(ev): eval.json
package analysis
