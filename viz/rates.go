package viz

import (
	"fmt"
	"math"
	"strconv"

	"github.com/deepretina/deepretina/datasets"
	"github.com/deepretina/deepretina/figures"
)

// Prediction is one model's firing rates for a recording's test stimulus, as Model.Predict
// returns them.
//
//	Rates: [T−history, N] Hz; row t predicts frame t+history
type Prediction struct {
	Name  string // legend entry, e.g. "CNN" or "LN"
	Rates datasets.Matrix
}

// PredictedRates draws, for the cells at columns cols of rec (nil: the first six), the recorded
// test rate (averaged over the repeats) and each prediction over the first `seconds` of the test
// set (0: all of it), one panel per cell. At most figures.MaxPanels cells fit one figure.
func PredictedRates(rec *datasets.Recording, history int, cols []int, seconds float64, preds ...Prediction) (*figures.Figure, error) {
	if rec == nil {
		return nil, fmt.Errorf("predicted rates: no recording")
	}
	n, t := rec.NCells(), rec.Test.Len()
	if cols == nil {
		for c := 0; c < n && c < figures.MaxPanels; c++ {
			cols = append(cols, c)
		}
	}
	if len(cols) == 0 || len(cols) > figures.MaxPanels {
		return nil, fmt.Errorf("predicted rates: %d cells; one figure shows 1 to %d", len(cols), figures.MaxPanels)
	}
	for _, c := range cols {
		if c < 0 || c >= n {
			return nil, fmt.Errorf("predicted rates: cell column %d does not exist (the recording has %d cells)", c, n)
		}
	}
	if history < 0 || history >= t {
		return nil, fmt.Errorf("predicted rates: history %d does not fit a test set of %d frames", history, t)
	}
	for _, p := range preds {
		if p.Rates.Rows != t-history || p.Rates.Cols != n {
			return nil, fmt.Errorf("predicted rates: %q is [%d, %d], the test set needs [%d, %d] ([frames − history, cells])", p.Name, p.Rates.Rows, p.Rates.Cols, t-history, n)
		}
	}
	end := t
	if seconds > 0 {
		end = min(t, history+int(math.Round(seconds*rec.FrameRate)))
	}
	time := make([]float64, end-history)
	for i := range time {
		time[i] = float64(history+i) / rec.FrameRate
	}
	panels := make([]figures.Panel, len(cols))
	for i, c := range cols {
		recorded := make([]float64, end-history)
		for j := range recorded {
			recorded[j] = float64(rec.Test.Rates.At(history+j, c))
		}
		p := figures.Panel{Title: cellName(rec, c), XLabel: "time (s)", YLabel: "rate (Hz)",
			Series: []figures.Series{{Name: "recorded (trial average)", X: time, Y: recorded, Color: "#222222", Width: 1.5}}}
		for _, pr := range preds {
			y := make([]float64, end-history)
			for j := range y {
				y[j] = float64(pr.Rates.At(j, c))
			}
			p.Series = append(p.Series, figures.Series{Name: pr.Name, X: time, Y: y, Width: 1.5})
		}
		panels[i] = p
	}
	rows, gcols := gridShape(len(panels))
	return figures.Grid("Predicted vs recorded firing rates (test set)", rows, gcols, panels)
}

// cellName is "cell <id>" with the file's cell id of column c.
func cellName(rec *datasets.Recording, c int) string {
	if c < len(rec.CellIDs) {
		return "cell " + strconv.Itoa(rec.CellIDs[c])
	}
	return "cell " + strconv.Itoa(c)
}

// gridShape lays n ≤ 6 panels out: one row up to three, then two rows.
func gridShape(n int) (rows, cols int) {
	if n <= 3 {
		return 1, max(n, 1)
	}
	return 2, (n + 1) / 2
}
