package figures

import (
	"fmt"
	"math"

	grob "github.com/MetalBlueberry/go-plotly/generated/v2.34.0/graph_objects"
	"github.com/MetalBlueberry/go-plotly/pkg/types"
)

// Figure is a go-plotly v0.7.0 figure (plotly.js 2.34.0 schema). Every builder of this package
// returns one; callers may adjust it further with go-plotly's own types before rendering.
type Figure = grob.Fig

// Series is one line (or set of markers) of a panel. NaN or infinite values are drawn as gaps.
type Series struct {
	Name  string
	X, Y  []float64 // same length
	Mode  string    // "lines" (default), "markers" or "lines+markers"
	Dash  string    // "" (solid), "dash", "dot", "dashdot"
	Color string    // any CSS colour; "" = the palette colour of Group
	Width float64   // line width in px; 0 = plotly's default
	Size  float64   // marker size in px; 0 = plotly's default
	// Group ties series of several panels to one legend entry and one colour ("" = Name).
	Group string
}

// BarSeries is one set of bars of a panel: Values[i] is the bar of Categories[i].
type BarSeries struct {
	Name       string
	Categories []string
	Values     []float64
	Color      string
	Group      string // as Series.Group
}

// Heatmap is a colour-coded matrix: Z[row][col] is drawn at (X[col], Y[row]). X and Y may be
// nil (indices).
type Heatmap struct {
	Z          [][]float64
	X, Y       []float64
	Colorscale string // a plotly colour-scale name ("RdBu", "Viridis", …); "" = "Viridis"
	ZTitle     string // colour-bar title
	// Symmetric centres the colour scale on zero (zmid 0), so that a diverging scale such as
	// "RdBu" shows the sign of filters and correlations.
	Symmetric bool
	// ZRange fixes the colour scale's [min, max] (several heat maps on one scale); nil: the
	// data's range.
	ZRange []float64
	// NoColorbar hides the colour bar (panels that share one scale, or small multiples).
	NoColorbar bool
}

// Panel is one subplot: its title, axis labels and what it draws.
type Panel struct {
	Title          string
	XLabel, YLabel string
	XLog, YLog     bool
	// YFromZero extends the y axis to zero (a quantity that is positive but may be constant,
	// such as a learning rate).
	YFromZero bool
	// YReversed puts the first y value at the top, as images are drawn (row 0 first).
	YReversed bool
	// EqualAspect draws one x unit as long as one y unit (square pixels of a heat-map image).
	EqualAspect bool
	Series      []Series
	Bars        []BarSeries
	Heatmap     *Heatmap
}

// MaxPanels is the largest number of panels one figure holds (go-plotly v0.7.0's layout has six
// x and six y axes).
const MaxPanels = 6

// paletteColour is colour i of plotly's default cycle (D3 category10), assigned to legend
// groups in order.
func paletteColour(i int) string {
	p := [...]string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}
	return p[i%len(p)]
}

// Line is a one-panel line chart.
func Line(title, xLabel, yLabel string, series ...Series) (*Figure, error) {
	return Grid(title, 1, 1, []Panel{{XLabel: xLabel, YLabel: yLabel, Series: series}})
}

// Bars is a one-panel grouped bar chart.
func Bars(title, xLabel, yLabel string, bars ...BarSeries) (*Figure, error) {
	return Grid(title, 1, 1, []Panel{{XLabel: xLabel, YLabel: yLabel, Bars: bars}})
}

// HeatmapFigure is a one-panel heat map.
func HeatmapFigure(title, xLabel, yLabel string, h Heatmap) (*Figure, error) {
	return Grid(title, 1, 1, []Panel{{XLabel: xLabel, YLabel: yLabel, Heatmap: &h}})
}

// Grid lays out panels (row-major) on a rows×cols grid with their own axes and titles, one
// legend for the whole figure (series of the same Group share an entry and a colour). At most
// MaxPanels panels; fewer panels than cells leave the last cells empty.
func Grid(title string, rows, cols int, panels []Panel) (*Figure, error) {
	if rows < 1 || cols < 1 {
		return nil, fmt.Errorf("grid of %d×%d panels: rows and columns must be ≥ 1", rows, cols)
	}
	if len(panels) > rows*cols {
		return nil, fmt.Errorf("%d panels do not fit a %d×%d grid", len(panels), rows, cols)
	}
	if len(panels) > MaxPanels {
		return nil, fmt.Errorf("%d panels; a figure holds at most %d", len(panels), MaxPanels)
	}
	const gapX, gapY = 0.08, 0.22
	w := (1 - float64(cols-1)*gapX) / float64(cols)
	h := (1 - float64(rows-1)*gapY) / float64(rows)
	// The legend goes below the plots, far enough (in px, converted to the paper's fraction)
	// to clear the bottom row's tick labels and axis title.
	const top, bottom, rowPx = 70, 130, 330
	height := float64(top + bottom + rowPx*rows)
	layout := &grob.Layout{
		Height: types.N(height),
		Margin: &grob.LayoutMargin{T: types.N(top), B: types.N(bottom), L: types.N(60), R: types.N(30)},
		Legend: &grob.LayoutLegend{Orientation: grob.LayoutLegendOrientationH, X: types.N(0),
			Y: types.N(-65 / (height - top - bottom)), Yanchor: grob.LayoutLegendYanchorTop},
	}
	if title != "" {
		layout.Title = &grob.LayoutTitle{Text: types.S(title)}
	}
	fig := &grob.Fig{Layout: layout, Config: &grob.Config{Responsive: types.True, Displaylogo: types.False}}
	lg := &legendGroups{colours: map[string]string{}, shown: map[string]bool{}}
	for i, p := range panels {
		row, col := i/cols, i%cols
		x0 := float64(col) * (w + gapX)
		y1 := 1 - float64(row)*(h+gapY)
		xd, yd := []float64{x0, math.Min(1, x0+w)}, []float64{math.Max(0, y1-h), y1}
		xName, yName := panelAxes(layout, i, p, xd, yd)
		for _, s := range p.Series {
			if len(s.X) != len(s.Y) {
				return nil, fmt.Errorf("panel %q series %q: %d x values for %d y values", p.Title, s.Name, len(s.X), len(s.Y))
			}
			fig.AddTraces(seriesTrace(s, lg, xName, yName))
		}
		for _, b := range p.Bars {
			if len(b.Categories) != len(b.Values) {
				return nil, fmt.Errorf("panel %q bars %q: %d categories for %d values", p.Title, b.Name, len(b.Categories), len(b.Values))
			}
			fig.AddTraces(barTrace(b, lg, xName, yName))
		}
		if hm := p.Heatmap; hm != nil {
			tr, err := heatmapTrace(*hm, xName, yName, xd, yd)
			if err != nil {
				return nil, fmt.Errorf("panel %q: %w", p.Title, err)
			}
			fig.AddTraces(tr)
		}
	}
	return fig, nil
}

// legendGroups gives each legend group of a figure its colour and shows its entry once.
type legendGroups struct {
	colours map[string]string
	shown   map[string]bool
}

// of returns the group of a trace (its name when it has none), the group's colour and whether
// this is the group's first trace (the one whose legend entry is shown).
func (g *legendGroups) of(group, name string) (string, string, bool) {
	if group == "" {
		group = name
	}
	c, ok := g.colours[group]
	if !ok {
		c = paletteColour(len(g.colours))
		g.colours[group] = c
	}
	first := !g.shown[group]
	g.shown[group] = true
	return group, c, first
}

// panelAxes sets the axes of panel i (its domain xd × yd in the paper's fractions) and its title,
// and returns the axes' names.
func panelAxes(layout *grob.Layout, i int, p Panel, xd, yd []float64) (xName, yName string) {
	xName, yName = axisName("x", i), axisName("y", i)
	xa := &grob.LayoutXaxis{Domain: xd, Anchor: grob.LayoutXaxisAnchor(yName), Automargin: types.True}
	ya := &grob.LayoutYaxis{Domain: yd, Anchor: grob.LayoutYaxisAnchor(xName), Automargin: types.True}
	if p.XLabel != "" {
		xa.Title = &grob.LayoutXaxisTitle{Text: types.S(p.XLabel)}
	}
	if p.YLabel != "" {
		ya.Title = &grob.LayoutYaxisTitle{Text: types.S(p.YLabel)}
	}
	if p.XLog {
		xa.Type = grob.LayoutXaxisTypeLog
	}
	if p.YLog {
		ya.Type = grob.LayoutYaxisTypeLog
	}
	if p.YFromZero {
		ya.Rangemode = grob.LayoutYaxisRangemodeTozero
	}
	if p.YReversed {
		ya.Autorange = grob.LayoutYaxisAutorangeReversed
	}
	if p.EqualAspect {
		ya.Scaleanchor = xName
		ya.Constrain = grob.LayoutYaxisConstrainDomain
		xa.Constrain = grob.LayoutXaxisConstrainDomain
	}
	setAxes(layout, i, xa, ya)
	if p.Title != "" {
		layout.Annotations = append(layout.Annotations, grob.LayoutAnnotation{
			Text: types.S(p.Title), Showarrow: types.False,
			X: (xd[0] + xd[1]) / 2, Y: yd[1], Xref: grob.LayoutAnnotationXrefPaper, Yref: grob.LayoutAnnotationYrefPaper,
			Xanchor: grob.LayoutAnnotationXanchorCenter, Yanchor: grob.LayoutAnnotationYanchorBottom,
			Font: &grob.LayoutAnnotationFont{Size: types.N(14)},
		})
	}
	return xName, yName
}

// seriesTrace draws a series on the axes xName, yName.
func seriesTrace(s Series, lg *legendGroups, xName, yName string) *grob.Scatter {
	group, colour, first := lg.of(s.Group, s.Name)
	if s.Color != "" {
		colour = s.Color
	}
	mode := grob.ScatterModeLines
	if s.Mode != "" {
		mode = grob.ScatterMode(s.Mode)
	}
	line := &grob.ScatterLine{Color: types.C(colour), Dash: types.S(s.Dash)}
	if s.Width > 0 {
		line.Width = types.N(s.Width)
	}
	marker := &grob.ScatterMarker{Color: types.ArrayOKValue(types.UseColor(types.C(colour)))}
	if s.Size > 0 {
		marker.Size = types.ArrayOKValue(types.N(s.Size))
	}
	return &grob.Scatter{
		Name: types.S(s.Name), X: dataArray(s.X), Y: dataArray(s.Y), Mode: mode, Line: line,
		Marker:      marker,
		Legendgroup: types.S(group), Showlegend: types.B(first && s.Name != ""),
		Xaxis: types.S(xName), Yaxis: types.S(yName),
	}
}

// barTrace draws a bar series on the axes xName, yName.
func barTrace(b BarSeries, lg *legendGroups, xName, yName string) *grob.Bar {
	group, colour, first := lg.of(b.Group, b.Name)
	if b.Color != "" {
		colour = b.Color
	}
	return &grob.Bar{
		Name: types.S(b.Name), X: types.DataArray(b.Categories), Y: dataArray(b.Values),
		Marker:      &grob.BarMarker{Color: types.ArrayOKValue(types.UseColor(types.C(colour)))},
		Legendgroup: types.S(group), Showlegend: types.B(first && b.Name != ""),
		Xaxis: types.S(xName), Yaxis: types.S(yName),
	}
}

func heatmapTrace(hm Heatmap, xName, yName string, xd, yd []float64) (*grob.Heatmap, error) {
	if len(hm.Z) == 0 {
		return nil, fmt.Errorf("heat map with no rows")
	}
	z := make([][]any, len(hm.Z))
	for r, row := range hm.Z {
		if len(row) != len(hm.Z[0]) {
			return nil, fmt.Errorf("heat map row %d has %d values, row 0 has %d", r, len(row), len(hm.Z[0]))
		}
		z[r] = finiteOrNil(row)
	}
	if hm.X != nil && len(hm.X) != len(hm.Z[0]) {
		return nil, fmt.Errorf("heat map: %d x values for %d columns", len(hm.X), len(hm.Z[0]))
	}
	if hm.Y != nil && len(hm.Y) != len(hm.Z) {
		return nil, fmt.Errorf("heat map: %d y values for %d rows", len(hm.Y), len(hm.Z))
	}
	scale := hm.Colorscale
	if scale == "" {
		scale = "Viridis"
	}
	tr := &grob.Heatmap{
		Z: types.DataArray(z), Colorscale: &types.ColorScale{Name: scale},
		Xaxis: types.S(xName), Yaxis: types.S(yName),
		Colorbar: &grob.HeatmapColorbar{
			X: types.N(xd[1] + 0.005), Xanchor: grob.HeatmapColorbarXanchorLeft,
			Y: types.N((yd[0] + yd[1]) / 2), Len: types.N(yd[1] - yd[0]), Thickness: types.N(12),
		},
	}
	if hm.Symmetric {
		tr.Zmid = types.N(0)
	}
	if hm.ZRange != nil {
		if len(hm.ZRange) != 2 || !(hm.ZRange[0] < hm.ZRange[1]) {
			return nil, fmt.Errorf("heat map: colour range %v: expected [min, max] with min < max", hm.ZRange)
		}
		tr.Zmin, tr.Zmax = types.N(hm.ZRange[0]), types.N(hm.ZRange[1])
		tr.Zauto = types.False
	}
	if hm.NoColorbar {
		tr.Showscale = types.False
	}
	if hm.ZTitle != "" {
		tr.Colorbar.Title = &grob.HeatmapColorbarTitle{Text: types.S(hm.ZTitle)}
	}
	if hm.X != nil {
		tr.X = dataArray(hm.X)
	}
	if hm.Y != nil {
		tr.Y = dataArray(hm.Y)
	}
	return tr, nil
}

// dataArray turns values into a plotly data array with NaN and ±Inf as null (a gap), which
// encoding/json cannot encode as numbers.
func dataArray(v []float64) *types.DataArrayType { return types.DataArray(finiteOrNil(v)) }

func finiteOrNil(v []float64) []any {
	out := make([]any, len(v))
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			out[i] = nil
		} else {
			out[i] = x
		}
	}
	return out
}

// axisName is plotly's name of the i-th panel's axis: "x", "x2", … as traces refer to it.
func axisName(prefix string, i int) string {
	if i == 0 {
		return prefix
	}
	return fmt.Sprintf("%s%d", prefix, i+1)
}

func setAxes(l *grob.Layout, i int, x *grob.LayoutXaxis, y *grob.LayoutYaxis) {
	switch i {
	case 0:
		l.Xaxis, l.Yaxis = x, y
	case 1:
		l.XAxis2, l.YAxis2 = x, y
	case 2:
		l.XAxis3, l.YAxis3 = x, y
	case 3:
		l.XAxis4, l.YAxis4 = x, y
	case 4:
		l.XAxis5, l.YAxis5 = x, y
	case 5:
		l.XAxis6, l.YAxis6 = x, y
	}
}
