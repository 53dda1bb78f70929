package viz

import (
	"fmt"

	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/retina"
)

// SweepResults draws the runs of a grid search side by side, labelled by their folder names
// (exp_name with the combination's settings): each run's best validation r and its test r at
// that epoch.
func SweepResults(title string, runs []*retina.RunMeta) (*figures.Figure, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("sweep: no runs")
	}
	names := make([]string, len(runs))
	val, test := make([]float64, len(runs)), make([]float64, len(runs))
	for i, m := range runs {
		if m == nil {
			return nil, fmt.Errorf("sweep: run %d has no description", i)
		}
		names[i], val[i], test[i] = m.Config.ExpName, m.BestValCorr, m.TestCorrAtBest
	}
	return figures.Bars(title, "run", "mean Pearson r",
		figures.BarSeries{Name: "best validation r", Categories: names, Values: val},
		figures.BarSeries{Name: "test r at that epoch", Categories: names, Values: test})
}
