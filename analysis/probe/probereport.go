package probe

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/figures"
)

// Report draws the probe's results as a self-contained HTML report (figures.Report): the
// learned-vs-untrained summary per cell type, the best unit of every recorded cell, correlation
// maps, receptive fields, integrated-gradients attributions and the similarity to the control.
func (p *ProbeResult) Report(title, subtitle string) (*figures.Report, error) {
	rep := figures.NewReport(title)
	if subtitle != "" {
		rep.AddText("About", subtitle)
	}
	var errs []error
	add := func(heading, caption string, fig *figures.Figure, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", heading, err))
			return
		}
		rep.AddFigure(heading, caption, fig)
	}
	where := "before the ReLU (the batch norm's output, as the reference)"
	if !p.PreNonlinearity {
		where = "after the ReLU"
	}
	rep.AddTable("Mean held-out r per cell type", p.summaryTable())
	rep.AddText("How to read it", fmt.Sprintf(
		"Every unit (channel × row × column) of every hidden layer, read %s, is correlated (Pearson r over time) with each recorded cell's membrane potential, "+
			"with the stimulus shifted by up to %d pixel(s) in each direction. The unit is chosen on the first half of each cell's series and scored on the second "+
			"(a gap of the model's history between them, so no stimulus frame is seen by both): that held-out r is the cell's score. "+
			"In sample is the best unit's r on the whole series (the reference's procedure), which rewards selection; "+
			"the null is the held-out r of the cell's potential shifted circularly against the stimulus (by a quarter, half and three quarters of the series), "+
			"what selection alone reaches. %d recorded cells that were exact copies of another (|r| > %g, e.g. sign-flipped) were merged, so each signal counts once. "+
			"The untrained control is a model of the same architecture with its initial weights: what it reaches is owed to the architecture, "+
			"the rest to training. Headline group: %q.", where, p.MaxShift, len(p.MergedDuplicates), DuplicateThreshold, p.SummaryGroup))
	if p.Validation != nil {
		rep.AddTable(p.Validation.heading(), p.Validation.table())
		if text := p.Validation.text(); text != "" {
			rep.AddText("Why the target is not met", text)
		}
	}
	fig, err := p.summaryBars()
	add("Learned vs untrained", "Mean best r per cell type and stimulus group.", fig, err)
	for _, gc := range p.Comparisons {
		rep.AddTable(fmt.Sprintf("Best unit per recorded cell (%s)", gc.Group), cellTable(gc))
	}
	if gc := p.comparison(p.SummaryGroup); gc != nil {
		for _, ct := range cellTypes(gc.Learned) {
			c := bestCellOfType(gc.Learned, ct)
			fig, err := correlationMapFigure(c, gc.Learned)
			add(fmt.Sprintf("Correlation maps: %s cell %d of %s", ct, c.Cell, c.Source),
				fmt.Sprintf("r of every unit with the %s cell that matched best (group %s), channels side by side, at the shift of each layer's best unit.", ct, gc.Group),
				fig, err)
		}
	}
	p.addReceptiveFields(rep, add)
	if p.Attribution != nil {
		p.addAttribution(rep, add)
	}
	if len(p.Similarity) > 0 {
		rep.AddTable("Similarity of the trained layers to the untrained control", similarityTable(p.Similarity))
		rep.AddText("", "Each number beside its null: the same statistic with the control's activity shifted circularly in time by half the white-noise stimulus, i.e. for independent series; a number at its null says nothing about shared structure.")
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("probe report: %v", errs)
	}
	return rep, nil
}

func (p *ProbeResult) comparison(group string) *GroupComparison {
	for i := range p.Comparisons {
		if p.Comparisons[i].Group == group {
			return &p.Comparisons[i]
		}
	}
	return nil
}

func cellTypes(c *InterneuronComparison) []string {
	var out []string
	for t := range c.ByType {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func f3(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", x)
}

func (p *ProbeResult) summaryTable() figures.Table {
	t := figures.Table{Columns: []string{"group", "cell type", "cells", "learned: held out", "null", "in sample",
		"untrained: held out", "null", "in sample", "learned − untrained (held out)", "learned held out by layer"}}
	for _, gc := range p.Comparisons {
		for _, ct := range cellTypes(gc.Learned) {
			s := gc.Learned.ByType[ct]
			u := TypeSummary{HeldOut: math.NaN(), Null: math.NaN(), MeanBest: math.NaN()}
			if gc.Untrained != nil {
				u = gc.Untrained.ByType[ct]
			}
			byLayer := ""
			for _, l := range p.Layers {
				byLayer += fmt.Sprintf("%s %s  ", l.Name, f3(s.HeldOutByLayer[l.Name]))
			}
			name := gc.Group
			if gc.Group == p.SummaryGroup {
				name += " (headline)"
			}
			if len(gc.Learned.RepeatedStimulus) > 0 {
				name += " (repeated stimulus: held out is not independent)"
			}
			t.Rows = append(t.Rows, []string{name, ct, fmt.Sprint(s.Cells), f3(s.HeldOut), f3(s.Null), f3(s.MeanBest),
				f3(u.HeldOut), f3(u.Null), f3(u.MeanBest), f3(s.HeldOut - u.HeldOut), byLayer})
		}
	}
	return t
}

func (p *ProbeResult) summaryBars() (*figures.Figure, error) {
	var panels []figures.Panel
	for _, gc := range p.Comparisons {
		if len(panels) == figures.MaxPanels {
			break
		}
		types := cellTypes(gc.Learned)
		learned, untrained := make([]float64, len(types)), make([]float64, len(types))
		lnull, unull := make([]float64, len(types)), make([]float64, len(types))
		for i, ct := range types {
			learned[i], lnull[i] = gc.Learned.ByType[ct].HeldOut, gc.Learned.ByType[ct].Null
			untrained[i], unull[i] = math.NaN(), math.NaN()
			if gc.Untrained != nil {
				untrained[i], unull[i] = gc.Untrained.ByType[ct].HeldOut, gc.Untrained.ByType[ct].Null
			}
		}
		panels = append(panels, figures.Panel{Title: "stimulus group " + gc.Group, XLabel: "cell type", YLabel: "mean held-out r",
			Bars: []figures.BarSeries{{Name: "learned", Categories: types, Values: learned},
				{Name: "learned null", Categories: types, Values: lnull, Color: "#9ecae1"},
				{Name: "untrained", Categories: types, Values: untrained},
				{Name: "untrained null", Categories: types, Values: unull, Color: "#c7c7c7"}}})
	}
	return figures.Grid("", 1, len(panels), panels)
}

func cellTable(gc GroupComparison) figures.Table {
	t := figures.Table{Columns: []string{"file", "cell", "type", "best r", "best unit (layer, channel, row, col; shift)"}}
	for _, m := range gc.Learned.Cells[0].Layers {
		t.Columns = append(t.Columns, m.Layer+" r")
	}
	t.Columns = append(t.Columns, "untrained best r")
	for i, c := range gc.Learned.Cells {
		b := c.Best
		row := []string{c.Source, fmt.Sprint(c.Cell), c.CellType, f3(b.R),
			fmt.Sprintf("%s, %d, %d, %d; (%d, %d)", b.Layer, b.Channel, b.Row, b.Col, b.ShiftY, b.ShiftX)}
		for _, m := range c.Layers {
			row = append(row, f3(m.R))
		}
		un := "n/a"
		if gc.Untrained != nil {
			un = f3(gc.Untrained.Cells[i].Best.R)
		}
		t.Rows = append(t.Rows, append(row, un))
	}
	return t
}

func bestCellOfType(c *InterneuronComparison, ct string) CellComparison {
	var best CellComparison
	first := true
	for _, cell := range c.Cells {
		if cell.CellType == ct && (first || cell.Best.R > best.Best.R) {
			best, first = cell, false
		}
	}
	return best
}

// mosaic tiles maps (each [h·w]) side by side, separated by a column of NaN (drawn as a gap),
// with row 0 at the top.
func mosaic(maps [][]float64, h, w int) figures.Heatmap {
	cols := len(maps)*(w+1) - 1
	z := make([][]float64, h)
	for y := range z {
		z[y] = make([]float64, cols)
		for x := range z[y] {
			z[y][x] = math.NaN()
		}
		for k, m := range maps {
			for x := 0; x < w; x++ {
				z[y][k*(w+1)+x] = m[y*w+x]
			}
		}
	}
	// Heat maps put row 0 at the bottom; reversing the rows puts it at the top, as an image.
	slices.Reverse(z)
	return figures.Heatmap{Z: z}
}

func correlationMapFigure(c CellComparison, comp *InterneuronComparison) (*figures.Figure, error) {
	var panels []figures.Panel
	for _, l := range comp.Layers {
		m, ok := c.Maps[l.Name]
		if !ok {
			continue
		}
		hm := mosaic(m, l.Shape[1], l.Shape[2])
		hm.Colorscale, hm.ZTitle, hm.Symmetric = "RdBu", "r", true
		var best float64
		for _, lm := range c.Layers {
			if lm.Layer == l.Name {
				best = lm.R
			}
		}
		panels = append(panels, figures.Panel{Title: fmt.Sprintf("%s: %d channels, left to right (best r %.3f)", l.Name, l.Shape[0], best),
			XLabel: "column (channels side by side)", YLabel: "row", Heatmap: &hm})
	}
	return figures.Grid("", len(panels), 1, panels)
}

func (p *ProbeResult) addReceptiveFields(rep *figures.Report, add func(string, string, *figures.Figure, error)) {
	groups := map[string][]UnitRF{}
	var order []string
	for _, u := range p.ReceptiveFields {
		if _, ok := groups[u.Layer]; !ok {
			order = append(order, u.Layer)
		}
		groups[u.Layer] = append(groups[u.Layer], u)
	}
	t := figures.Table{Columns: []string{"target", "rank-1 explained", "centre (row, col)", "size σ (px)", "Gaussian R²", "temporal peak (ms)", "r with recorded STA"}}
	for _, u := range p.ReceptiveFields {
		sta := "n/a"
		if u.RecordedSTA != nil {
			sta = f3(*u.RecordedSTA)
		}
		g := u.Gaussian
		t.Rows = append(t.Rows, []string{u.Target, f3(u.Explained), fmt.Sprintf("(%.1f, %.1f)", g.CentreY, g.CentreX),
			fmt.Sprintf("%.2f", g.Sigma()), f3(g.R2), fmt.Sprintf("%.0f", u.PeakLagMS), sta})
	}
	rep.AddTable("Receptive fields (mean gradient over white noise)", t)
	for _, layer := range order {
		us := groups[layer]
		name := layer
		what := "channel"
		if layer == "" {
			name, what = "ganglion cells", "cell"
		}
		var spatial [][]float64
		var series []figures.Series
		rf0 := us[0].RF
		for _, u := range us {
			if u.Sep.Spatial == nil {
				spatial = append(spatial, make([]float64, rf0.H*rf0.W))
				continue
			}
			spatial = append(spatial, u.Sep.Spatial)
			x := make([]float64, len(u.Sep.Temporal))
			for k := range x {
				x[k] = -float64(rf0.History-k) * 1000 / p.FrameRate
			}
			series = append(series, figures.Series{Name: fmt.Sprintf("%s %d", what, u.Index), X: x, Y: u.Sep.Temporal})
		}
		hm := mosaic(spatial, rf0.H, rf0.W)
		hm.Colorscale, hm.Symmetric = "RdBu", true
		panels := []figures.Panel{
			{Title: fmt.Sprintf("spatial parts, %s %d… left to right", what, us[0].Index), XLabel: "column", YLabel: "row", Heatmap: &hm},
			{Title: "temporal parts", XLabel: "time before the response (ms)", YLabel: "weight", Series: series},
		}
		if layer == "" {
			var sta [][]float64
			for _, u := range us {
				if u.STA == nil {
					break
				}
				st, err := analysis.Rank1(u.STA, rf0.History, rf0.H*rf0.W)
				if err != nil {
					break
				}
				sta = append(sta, st.Spatial)
			}
			if len(sta) == len(us) {
				shm := mosaic(sta, rf0.H, rf0.W)
				shm.Colorscale, shm.Symmetric = "RdBu", true
				panels = append(panels, figures.Panel{Title: "recorded cells' spike-triggered averages (spatial parts)", XLabel: "column", YLabel: "row", Heatmap: &shm})
			}
		}
		fig, err := figures.Grid("", len(panels), 1, panels)
		add("Receptive fields: "+name,
			"Rank-1 decomposition of the mean gradient of each "+what+" over white noise (units: the centre unit of each channel, before its ReLU).", fig, err)
	}
}

func (p *ProbeResult) addAttribution(rep *figures.Report, add func(string, string, *figures.Figure, error)) {
	a := p.Attribution
	t := figures.Table{Columns: []string{"layer", "channel carrying most of the response (mean share)", "mean share per channel", "completeness residual"}}
	for _, la := range a.Layers {
		shares := ""
		for c, v := range la.MeanShare {
			shares += fmt.Sprintf("%d: %+.2f  ", c, v)
		}
		t.Rows = append(t.Rows, []string{la.Layer, fmt.Sprintf("%d (%+.2f)", la.TopChannel, la.MeanShare[la.TopChannel]), shares, fmt.Sprintf("%.2g", la.Residual)})
	}
	rep.AddTable(fmt.Sprintf("Which channels carry the response to %s", a.Stimulus.Name), t)
	hist := p.InputShape[0]
	for _, la := range a.Layers {
		full := la.Full
		T := len(full.Output[0])
		x := make([]float64, T)
		for i := range x {
			x[i] = float64(i+hist-a.Stimulus.From) * 1000 / p.FrameRate
		}
		nc := len(full.Channels[0][0])
		var series []figures.Series
		for c := 0; c < nc; c++ {
			y := make([]float64, T)
			for k := range full.Cells {
				for i := range y {
					y[i] += full.Channels[k][i][c] / float64(len(full.Cells))
				}
			}
			series = append(series, figures.Series{Name: fmt.Sprintf("channel %d", c), X: x, Y: y})
		}
		resp := make([]float64, T)
		for k := range full.Cells {
			for i := range resp {
				resp[i] += (full.Output[k][i] - full.Baseline[k]) / float64(len(full.Cells))
			}
		}
		series = append(series, figures.Series{Name: "response − response to grey", X: x, Y: resp, Dash: "dash", Color: "#000000"})
		cats := make([]string, nc)
		for c := range cats {
			cats[c] = fmt.Sprint(c)
		}
		fig, err := figures.Grid("", 2, 1, []figures.Panel{
			{Title: "attribution per channel, mean over cells", XLabel: "time from the frames of interest (ms)", YLabel: "rate (Hz)", Series: series},
			{Title: "share of the response in the frames of interest", XLabel: "channel", YLabel: "mean share",
				Bars: []figures.BarSeries{{Name: "share", Categories: cats, Values: la.MeanShare}}},
		})
		add(fmt.Sprintf("Integrated gradients: %s over the channels of %s", a.Stimulus.Name, la.Layer),
			a.Stimulus.Description+fmt.Sprintf(" Zero (mean grey) baseline, %d α steps; the channels' attributions add up to the response minus the response to grey.", full.Steps),
			fig, err)
	}
}

func similarityTable(sims []analysis.LayerSimilarity) figures.Table {
	t := figures.Table{Columns: []string{"layer", "mean r of matched channels (Hungarian)", "null", "mean best r per unit", "null",
		"canonical correlations", "null"}}
	ccs := func(xs []float64) string {
		cc := ""
		for _, v := range xs {
			cc += fmt.Sprintf("%.2f ", v)
		}
		return cc
	}
	for _, s := range sims {
		t.Rows = append(t.Rows, []string{s.Layer, f3(s.MeanMatchedR), f3(s.NullMeanMatchedR), f3(s.MeanBestR), f3(s.NullMeanBestR), ccs(s.CCA), ccs(s.NullCCA)})
	}
	return t
}
