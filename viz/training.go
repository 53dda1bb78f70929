package viz

import (
	"fmt"

	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/retina"
)

// Curves is a training curve: the records of finished epochs and, optionally, the loss of every
// training step (a live chart adds them as training goes).
type Curves struct {
	Epochs []retina.EpochRecord
	// StepX is the position of each step in epochs: (epoch − 1) + step/steps.
	StepX []float64
	// StepLoss is each step's batch loss (same length as StepX).
	StepLoss []float64
}

// AddStep appends one training step (from retina.TrainOptions.OnStep).
func (c *Curves) AddStep(s retina.StepInfo) {
	steps := max(s.Steps, 1)
	c.StepX = append(c.StepX, float64(s.Epoch-1)+float64(s.Step)/float64(steps))
	c.StepLoss = append(c.StepLoss, s.Loss)
}

// TrainingCurves draws a training curve in three panels: the loss (every step's batch loss as a
// thin line, each epoch's mean as markers), the validation and test correlations after each
// epoch, and the learning rate.
func TrainingCurves(title string, c Curves) (*figures.Figure, error) {
	if len(c.StepX) != len(c.StepLoss) {
		return nil, fmt.Errorf("training curves: %d step positions for %d step losses", len(c.StepX), len(c.StepLoss))
	}
	n := len(c.Epochs)
	epoch, loss, val, test, lr := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i, e := range c.Epochs {
		epoch[i], loss[i], val[i], test[i], lr[i] = float64(e.Epoch), e.TrainLoss, e.ValCorr, e.TestCorr, e.LR
	}
	lossPanel := figures.Panel{Title: "loss", XLabel: "epoch", YLabel: "Poisson loss"}
	if len(c.StepX) > 0 {
		lossPanel.Series = append(lossPanel.Series, figures.Series{Name: "batch loss", X: c.StepX, Y: c.StepLoss, Width: 1, Color: "#9ecae1"})
	}
	lossPanel.Series = append(lossPanel.Series, figures.Series{Name: "epoch mean loss", X: epoch, Y: loss, Mode: "lines+markers"})
	return figures.Grid(title, 1, 3, []figures.Panel{
		lossPanel,
		{Title: "correlation with the recorded rate", XLabel: "epoch", YLabel: "mean Pearson r", Series: []figures.Series{
			{Name: "validation r", X: epoch, Y: val, Mode: "lines+markers"},
			{Name: "test r", X: epoch, Y: test, Mode: "lines+markers", Dash: "dash"},
		}},
		{Title: "learning rate", XLabel: "epoch", YLabel: "lr", YFromZero: true, Series: []figures.Series{
			{Name: "learning rate", X: epoch, Y: lr, Mode: "lines+markers"},
		}},
	})
}
