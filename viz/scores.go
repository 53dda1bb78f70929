package viz

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/deepretina/deepretina/analysis"
	"github.com/deepretina/deepretina/figures"
)

// names returns the labels of an evaluation's model and baseline columns: "CNN" and "LN", or
// "LN" and "baseline" when the evaluated model is itself an LN model (as eval's table says).
func names(ev *analysis.Evaluation) (self, base string) {
	if strings.EqualFold(ev.Model, "LN") {
		return "LN", "baseline"
	}
	return "CNN", "LN"
}

func checkEval(ev *analysis.Evaluation) error {
	if ev == nil {
		return fmt.Errorf("no evaluation")
	}
	n := len(ev.Cells)
	for _, col := range []struct {
		name string
		v    []float64
	}{{"model r", ev.CNNPearson}, {"ceiling", ev.Ceiling}} {
		if len(col.v) != n {
			return fmt.Errorf("evaluation has %d cells but %d %s values", n, len(col.v), col.name)
		}
	}
	if ev.LNPearson != nil && len(ev.LNPearson) != n {
		return fmt.Errorf("evaluation has %d cells but %d LN r values", n, len(ev.LNPearson))
	}
	return nil
}

// Scores draws an evaluation cell by cell: bars of the model's and the LN baseline's Pearson r
// next to the retina's reliability ceiling, with the means last. Unavailable scores (NaN) are
// left out.
func Scores(ev *analysis.Evaluation) (*figures.Figure, error) {
	if err := checkEval(ev); err != nil {
		return nil, err
	}
	self, base := names(ev)
	cats := make([]string, 0, len(ev.Cells)+1)
	for _, c := range ev.Cells {
		cats = append(cats, "cell "+strconv.Itoa(c))
	}
	cats = append(cats, "mean")
	with := func(v []float64, mean float64) []float64 { return append(append([]float64(nil), v...), mean) }
	bars := []figures.BarSeries{{Name: self + " r", Categories: cats, Values: with(ev.CNNPearson, ev.CNNPearsonMean)}}
	if ev.LNPearson != nil {
		bars = append(bars, figures.BarSeries{Name: base + " r", Categories: cats, Values: with(ev.LNPearson, ev.LNPearsonMean)})
	}
	bars = append(bars, figures.BarSeries{Name: "reliability ceiling", Categories: cats, Values: with(ev.Ceiling, ev.CeilingMean), Color: "#7f7f7f"})
	return figures.Bars(fmt.Sprintf("Test set: %s vs %s vs the retina's reliability", self, base), "", "Pearson r with the trial-averaged rate", bars...)
}

// ScoresScatter draws the form of the papers' performance figure: one point per cell, the
// model's r against the LN baseline's r (left) and against the cell's reliability ceiling
// (right), with the diagonal on which both are equal. Points above the left diagonal are cells
// the model predicts better than LN; points near the right diagonal are predicted as well as
// the retina's own trial-to-trial variability allows.
func ScoresScatter(ev *analysis.Evaluation) (*figures.Figure, error) {
	if err := checkEval(ev); err != nil {
		return nil, err
	}
	self, base := names(ev)
	lo, hi := 1.0, 0.0
	for _, v := range [][]float64{ev.CNNPearson, ev.LNPearson, ev.Ceiling} {
		for _, x := range v {
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
		}
	}
	lo = math.Min(0, math.Floor(lo*10)/10)
	hi = math.Max(1, math.Ceil(hi*10)/10)
	diag := figures.Series{Name: "equal", X: []float64{lo, hi}, Y: []float64{lo, hi}, Dash: "dot", Color: "#7f7f7f"}
	labels := func(v []float64) figures.Series {
		return figures.Series{Name: "cells", X: v, Y: ev.CNNPearson, Mode: "markers", Size: 9, Group: "cells"}
	}
	var panels []figures.Panel
	if ev.LNPearson != nil {
		panels = append(panels, figures.Panel{Title: self + " vs " + base, XLabel: base + " r", YLabel: self + " r",
			Series: []figures.Series{diag, labels(ev.LNPearson)}})
	}
	panels = append(panels, figures.Panel{Title: self + " vs reliability ceiling", XLabel: "ceiling (r of a perfect model: split-half r, Spearman–Brown corrected)", YLabel: self + " r",
		Series: []figures.Series{diag, labels(ev.Ceiling)}})
	return figures.Grid("Per-cell performance", 1, len(panels), panels)
}

// ScoresTable lists an evaluation's per-cell scores and their means (as `deepretina eval`
// prints them; "n/a" for unavailable scores).
func ScoresTable(ev *analysis.Evaluation) figures.Table {
	self, base := names(ev)
	t := figures.Table{Columns: []string{"cell", self + " r", base + " r", "ceiling", self + " FEV", self + " bits/spike"}}
	at := func(v []float64, i int) string {
		if i >= len(v) {
			return "n/a"
		}
		return fmtScore(v[i])
	}
	for i, c := range ev.Cells {
		t.Rows = append(t.Rows, []string{strconv.Itoa(c), at(ev.CNNPearson, i), at(ev.LNPearson, i), at(ev.Ceiling, i), at(ev.FEV, i), at(ev.BitsPerSpike, i)})
	}
	ln := "n/a"
	if ev.LNPearson != nil {
		ln = fmtScore(ev.LNPearsonMean)
	}
	t.Rows = append(t.Rows, []string{"mean", fmtScore(ev.CNNPearsonMean), ln, fmtScore(ev.CeilingMean), fmtScore(ev.FEVMean), ""})
	return t
}

func fmtScore(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(x, 'f', 3, 64)
}
