// Package probe compares the hidden units of a retina model with recorded (or simulated)
// interneurons, as the Neuron 2023 paper (Maheswaranathan et al.) does: for each interneuron,
// the hidden unit whose response correlates best with its membrane potential, chosen on one
// half of the stimulus and scored on the other, beside a circular-shift null and an untrained
// control. Probe runs everything `deepretina probe` reports (the comparison per stimulus group,
// receptive fields, attribution, similarity to a control), and Report draws it.
//
// One file per concern: interneurons.go (interneuron files and the comparison), heldout.go
// (the held-out split and circular-shift null), duplicates.go (cells recorded twice),
// validation.go (per-type verdicts against the simulator's truth), probe.go (everything
// together) and probereport.go (its HTML report). The unit recordings, receptive fields,
// attribution and similarity it uses are package analysis.
//
// Probing the hidden units with recorded interneurons, against an untrained control:
//
//	in := analysis.InputOf(model)
//	cells, _ := probe.LoadInterneurons([]string{"data/sim-small/bipolars_sim.h5"}, in, probe.InterneuronOptions{})
//	cells, merged := probe.MergeDuplicateCells(cells)          // sign-flipped copies counted once
//	cmp, _ := probe.CompareInterneurons(analysis.ModelUnits(model), cells, probe.CompareOptions{MaxShift: 1})
//	s := cmp.ByType["bipolar"]
//	fmt.Println(s.HeldOut, s.Null, s.MeanBest) // held out (chosen on one half, scored on the other), its null, in sample
//	control, _ := retina.NewModel(model.Meta.Model, model.Meta.NormStats, 1, retina.LoadOptions{})
//	base, _ := probe.CompareInterneurons(analysis.ModelUnits(control), cells, probe.CompareOptions{MaxShift: 1})
package probe
