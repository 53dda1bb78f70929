// Package analysis scores and explains trained retina models: per-cell evaluation against the
// retina's own reliability (Pearson r, fraction of explainable variance, bits per spike), the
// classical linear–nonlinear (LN) analysis (spike-triggered average and covariance, binned and
// parametric static nonlinearities), and the interpretability analyses of the Neuron 2023
// paper: receptive fields of any unit or
// ganglion cell (mean gradient over white noise, reverse correlation, rank-1 space × time split,
// 2-D Gaussian fit), integrated-gradients attribution of ganglion responses to hidden channels,
// most exciting inputs by gradient ascent, and model-to-model similarity (correlation matrices,
// one-to-one matching, canonical correlations).
//
// One file per concern: eval.go (scores), ceiling.go (the reliability ceiling: split-half
// Spearman–Brown corrected, and noise-corrected), ridgeln.go (the ridge LN baseline: a whitened
// filter in a crop around each receptive field), ln.go and lnclassic.go (classical LN), units.go
// (Recorder: hidden units on a stimulus), correlate.go (unit × cell correlations, the
// reference's rule for constant units), graphs.go (targets and graphs on a model's variables),
// receptivefield.go, attribution.go, optimize.go, similarity.go. The comparison of hidden units
// with recorded interneurons, and the whole probe as `deepretina probe` runs it, are package
// analysis/probe.
//
//	model, err := retina.LoadModel("runs/bncnn-small", retina.LoadOptions{})
//	// or an untrained control: retina.NewModel(mcfg, datasets.ComputeNormStats(stim), seed, retina.LoadOptions{})
//	rec, err := retina.LoadData(model.Meta.Config, nil)
//	w, err := model.Windows(rec.Train.Stimulus, rec.Train.Rates) // the model's history and normalisation
//	ln, err := analysis.FitRidgeLN(w, analysis.RidgeLNOptions{})
//	ev, err := analysis.Evaluate(model, ln, analysis.RidgeLNName(ln.Crop), rec) // error: other cells, frame size, history
//	ev.WriteTable(os.Stdout)                                       // json.Marshal(ev): eval.json
//
// Receptive fields and attribution:
//
//	rf, _ := analysis.GradientRF(model, analysis.Ganglion(0), analysis.RFOptions{})
//	st, _ := rf.Decompose()                                  // Spatial [H·W], Temporal [History]
//	g, _ := analysis.FitGaussian2D(st.Spatial, rf.H, rf.W)   // centre and size in pixels
//	ig, _ := analysis.IntegratedGradients(model, stim, nil, analysis.IGOptions{Layer: "conv2"})
//	fmt.Println(ig.Channels[0][t])                           // cell 0's response in window t, per channel
package analysis
