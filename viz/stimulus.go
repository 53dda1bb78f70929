package viz

import (
	"fmt"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
)

// Frames draws frames of a stimulus movie side by side as grey images (row 0 at the top), at
// most figures.MaxPanels of them, each titled with its time.
func Frames(title string, m datasets.Movie, frames []int, frameRate float64) (*figures.Figure, error) {
	if len(frames) == 0 || len(frames) > figures.MaxPanels {
		return nil, fmt.Errorf("frames: %d frames; one figure shows 1 to %d", len(frames), figures.MaxPanels)
	}
	if m.T*m.H*m.W != len(m.Data) || m.T == 0 {
		return nil, fmt.Errorf("frames: movie [%d, %d, %d] holds %d values", m.T, m.H, m.W, len(m.Data))
	}
	lo, hi := float32(0), float32(0)
	for i, f := range frames {
		if f < 0 || f >= m.T {
			return nil, fmt.Errorf("frames: frame %d does not exist (the movie has %d)", f, m.T)
		}
		for j, v := range m.Frame(f) {
			if (i == 0 && j == 0) || v < lo {
				lo = v
			}
			if (i == 0 && j == 0) || v > hi {
				hi = v
			}
		}
	}
	zr := []float64{float64(lo), float64(hi)}
	if !(lo < hi) {
		zr = nil // a uniform frame: plotly picks a range around its value
	}
	panels := make([]figures.Panel, len(frames))
	for i, f := range frames {
		data := m.Frame(f)
		z := make([][]float64, m.H)
		for y := range z {
			z[y] = make([]float64, m.W)
			for x := range z[y] {
				z[y][x] = float64(data[y*m.W+x])
			}
		}
		label := fmt.Sprintf("frame %d", f)
		if frameRate > 0 {
			label = fmt.Sprintf("t = %.2f s", float64(f)/frameRate)
		}
		panels[i] = figures.Panel{Title: label, XLabel: "x (px)", YLabel: "y (px)", YReversed: true, EqualAspect: true,
			Heatmap: &figures.Heatmap{Z: z, Colorscale: "Greys", ZRange: zr, NoColorbar: i < len(frames)-1, ZTitle: "intensity"}}
	}
	rows, cols := gridShape(len(panels))
	if len(panels) > 3 {
		rows, cols = 1, len(panels)
	}
	return figures.Grid(title, rows, cols, panels)
}

// CellTrials is one cell's responses to repeats of a stimulus.
type CellTrials struct {
	Name string
	// Spikes: [trials][T] spike counts per frame.
	Spikes [][]float32
	// Rate: [T] firing rate in Hz (the PSTH: e.g. the recording's trial-averaged test rate);
	// nil: computed from Spikes as the mean count per frame × frame rate.
	Rate []float32
}

// RasterPSTH draws, for up to three cells side by side, a spike raster (one row of ticks per
// trial; a frame with spikes is one tick) above the cell's peri-stimulus time histogram.
func RasterPSTH(title string, cells []CellTrials, frameRate float64) (*figures.Figure, error) {
	if len(cells) == 0 || len(cells) > 3 {
		return nil, fmt.Errorf("raster: %d cells; one figure shows 1 to 3", len(cells))
	}
	if frameRate <= 0 {
		return nil, fmt.Errorf("raster: frame rate %g Hz must be positive", frameRate)
	}
	rasters := make([]figures.Panel, len(cells))
	psths := make([]figures.Panel, len(cells))
	for i, c := range cells {
		if len(c.Spikes) == 0 {
			return nil, fmt.Errorf("raster: %s has no trials", c.Name)
		}
		t := len(c.Spikes[0])
		var xs, ys []float64
		for r, trial := range c.Spikes {
			if len(trial) != t {
				return nil, fmt.Errorf("raster: %s trial %d has %d frames, trial 0 has %d", c.Name, r, len(trial), t)
			}
			for f, n := range trial {
				if n > 0 {
					xs = append(xs, float64(f)/frameRate)
					ys = append(ys, float64(r+1))
				}
			}
		}
		rate := c.Rate
		if rate == nil {
			rate = make([]float32, t)
			for _, trial := range c.Spikes {
				for f, n := range trial {
					rate[f] += n * float32(frameRate) / float32(len(c.Spikes))
				}
			}
		}
		if len(rate) != t {
			return nil, fmt.Errorf("raster: %s has a rate of %d frames for trials of %d", c.Name, len(rate), t)
		}
		time, r := make([]float64, t), make([]float64, t)
		for f := range time {
			time[f], r[f] = float64(f)/frameRate, float64(rate[f])
		}
		rasters[i] = figures.Panel{Title: c.Name, XLabel: "time (s)", YLabel: "trial",
			Series: []figures.Series{{Name: "spikes", X: xs, Y: ys, Mode: "markers", Size: 3, Color: "#222222", Group: "spikes"}}}
		psths[i] = figures.Panel{XLabel: "time (s)", YLabel: "rate (Hz)",
			Series: []figures.Series{{Name: "PSTH", X: time, Y: r, Color: "#d62728", Group: "PSTH"}}}
	}
	return figures.Grid(title, 2, len(cells), append(rasters, psths...))
}
