package viz

import (
	"fmt"
	"math"
	"strconv"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/retina/nn"
	"github.com/deepretina/deepretina/torchio"
)

// Filter is the spatio-temporal filter of one first-layer unit (a conv1 channel of a CNN) or of
// one cell of an LN model, split the usual way: the spatial map at the frame where the filter
// has most energy, and the time course at that map's largest pixel.
type Filter struct {
	Name string
	// Spatial: [H][W] weights at frame PeakFrame.
	Spatial [][]float64
	// Temporal: [History] weights at (PeakRow, PeakCol), oldest frame first.
	Temporal []float64
	// LagsMS: [History] time of each frame before the predicted one, in ms (negative; the
	// newest frame is −1000/frame rate).
	LagsMS           []float64
	PeakFrame        int
	PeakRow, PeakCol int
	History, H, W    int
	weights          []float64 // [History, H, W]
}

// Weights returns the whole filter: [History, H, W] (oldest frame first), row-major.
func (f Filter) Weights() []float64 { return f.weights }

// Filters reads a model's first-layer filters, which act on the z-scored stimulus: each conv1
// channel's kernel [History, k, k] for the CNNs (a LinearStackedBNCNN's stack of 3×3 kernels
// collapsed into one), or each cell's dense filter [History, H, W] for an LN model.
func Filters(model *retina.Model) ([]Filter, error) {
	if model == nil || model.Meta == nil {
		return nil, fmt.Errorf("filters: no model")
	}
	cfg := model.Meta.Model
	hist := cfg.ImgShape[0]
	lagsMS := make([]float64, hist)
	frameMS := 1000 / model.Meta.FrameRate
	if model.Meta.FrameRate <= 0 {
		frameMS = 10
	}
	for i := range lagsMS {
		lagsMS[i] = -float64(hist-i) * frameMS
	}
	ctx := model.Scope().At(retina.ModelScope)
	if cfg.Type == nn.ModelLN {
		sd, err := torchio.ExportStateDict(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("filters: %w", err)
		}
		w, ok := sd["sequential.1.weight"]
		if !ok {
			return nil, fmt.Errorf("filters: the LN model has no dense weight (state dict key sequential.1.weight)")
		}
		flat, err := floats(w)
		if err != nil {
			return nil, fmt.Errorf("filters: %w", err)
		}
		h, wd := cfg.ImgShape[1], cfg.ImgShape[2]
		size := hist * h * wd
		if len(flat) != cfg.NCells*size {
			return nil, fmt.Errorf("filters: dense weight has %d values, want %d cells × %d", len(flat), cfg.NCells, size)
		}
		out := make([]Filter, cfg.NCells)
		for c := range out {
			out[c] = newFilter("cell "+strconv.Itoa(cellID(model, c)), flat[c*size:(c+1)*size], hist, h, wd, lagsMS)
		}
		return out, nil
	}
	kernel, _, err := nn.CollapsedKernel(ctx, cfg, nn.LayerConv1)
	if err != nil {
		return nil, fmt.Errorf("filters: %w", err)
	}
	dims := kernel.Shape().Dimensions // [k, k, History, C]
	if len(dims) != 4 || dims[2] != hist {
		return nil, fmt.Errorf("filters: conv1 kernel is %v, want [k, k, %d, channels]", dims, hist)
	}
	flat, err := floats(kernel)
	if err != nil {
		return nil, fmt.Errorf("filters: %w", err)
	}
	kh, kw, nc := dims[0], dims[1], dims[3]
	out := make([]Filter, nc)
	for o := range out {
		w := make([]float64, hist*kh*kw)
		for f := 0; f < hist; f++ {
			for y := 0; y < kh; y++ {
				for x := 0; x < kw; x++ {
					w[(f*kh+y)*kw+x] = flat[((y*kw+x)*hist+f)*nc+o]
				}
			}
		}
		out[o] = newFilter("channel "+strconv.Itoa(o), w, hist, kh, kw, lagsMS)
	}
	return out, nil
}

func cellID(model *retina.Model, c int) int {
	if c < len(model.Meta.CellIDs) {
		return model.Meta.CellIDs[c]
	}
	return c
}

func floats(t *tensors.Tensor) ([]float64, error) {
	if v, err := tensors.CopyFlatData[float32](t); err == nil {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out, nil
	}
	return tensors.CopyFlatData[float64](t)
}

// newFilter splits w [hist, h, wd] into its spatial map at the frame of largest energy and the
// time course at that map's largest absolute value.
func newFilter(name string, w []float64, hist, h, wd int, lagsMS []float64) Filter {
	best, bestE := 0, -1.0
	for f := 0; f < hist; f++ {
		e := 0.0
		for _, v := range w[f*h*wd : (f+1)*h*wd] {
			e += v * v
		}
		if e > bestE {
			best, bestE = f, e
		}
	}
	spatial := make([][]float64, h)
	py, px, pv := 0, 0, -1.0
	for y := range spatial {
		spatial[y] = make([]float64, wd)
		for x := range spatial[y] {
			v := w[(best*h+y)*wd+x]
			spatial[y][x] = v
			if math.Abs(v) > pv {
				py, px, pv = y, x, math.Abs(v)
			}
		}
	}
	temporal := make([]float64, hist)
	for f := range temporal {
		temporal[f] = w[(f*h+py)*wd+px]
	}
	return Filter{Name: name, Spatial: spatial, Temporal: temporal, LagsMS: lagsMS, PeakFrame: best,
		PeakRow: py, PeakCol: px, History: hist, H: h, W: wd, weights: w}
}

// FilterFigures draws filters: their spatial maps (diverging colours centred on zero, six to a
// figure) and then one figure of their time courses.
func FilterFigures(title string, filters []Filter) ([]*figures.Figure, error) {
	if len(filters) == 0 {
		return nil, fmt.Errorf("no filters to draw")
	}
	var figs []*figures.Figure
	for start := 0; start < len(filters); start += figures.MaxPanels {
		chunk := filters[start:min(start+figures.MaxPanels, len(filters))]
		panels := make([]figures.Panel, len(chunk))
		for i, f := range chunk {
			panels[i] = figures.Panel{
				Title:  fmt.Sprintf("%s (%.0f ms)", f.Name, f.LagsMS[f.PeakFrame]),
				XLabel: "x (px)", YLabel: "y (px)", YReversed: true, EqualAspect: true,
				Heatmap: &figures.Heatmap{Z: f.Spatial, Colorscale: "RdBu", Symmetric: true, NoColorbar: true},
			}
		}
		rows, cols := gridShape(len(panels))
		t := title + ": spatial maps at each filter's strongest frame"
		if len(filters) > figures.MaxPanels {
			t += fmt.Sprintf(" (%d–%d of %d)", start+1, start+len(chunk), len(filters))
		}
		fig, err := figures.Grid(t, rows, cols, panels)
		if err != nil {
			return nil, err
		}
		figs = append(figs, fig)
	}
	series := make([]figures.Series, len(filters))
	for i, f := range filters {
		series[i] = figures.Series{Name: f.Name, X: f.LagsMS, Y: f.Temporal}
	}
	fig, err := figures.Line(title+": time courses at each map's strongest pixel", "time before the predicted frame (ms)", "weight", series...)
	if err != nil {
		return nil, err
	}
	return append(figs, fig), nil
}
