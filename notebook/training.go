package notebook

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/deepretina/deepretina/retina"
	"github.com/deepretina/deepretina/viz"
)

// TrainingChart is a live training curve (viz.TrainingCurves) redrawn in place as a run trains:
// hand its OnStep and OnEpoch to retina.Train (Options does), then call Done with what Train
// returned. Redraws after steps are at most one per MinInterval; every finished epoch redraws.
type TrainingChart struct {
	// MinInterval is the least time between two redraws after steps (default 0.5 s).
	MinInterval time.Duration

	title string
	live  *Live

	mu       sync.Mutex
	curves   viz.Curves
	status   string
	lastDraw time.Time
	err      error
}

// NewTrainingChart starts a live training chart on the GoNB cell being run.
func NewTrainingChart(title string) *TrainingChart { return New().NewTrainingChart(title) }

// NewTrainingChart starts a live training chart on the page.
func (p *Page) NewTrainingChart(title string) *TrainingChart {
	c := &TrainingChart{MinInterval: 500 * time.Millisecond, title: title}
	c.live, c.err = p.NewLive()
	return c
}

// Options returns opts with OnStep and OnEpoch set to the chart's (any callbacks already in
// opts are still called, after the chart's).
func (c *TrainingChart) Options(opts retina.TrainOptions) retina.TrainOptions {
	step, epoch := opts.OnStep, opts.OnEpoch
	opts.OnStep = func(s retina.StepInfo) {
		c.OnStep(s)
		if step != nil {
			step(s)
		}
	}
	opts.OnEpoch = func(e retina.EpochRecord) {
		c.OnEpoch(e)
		if epoch != nil {
			epoch(e)
		}
	}
	return opts
}

// OnStep records a training step and redraws when MinInterval has passed since the last redraw.
func (c *TrainingChart) OnStep(s retina.StepInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.curves.AddStep(s)
	c.status = fmt.Sprintf("epoch %d, step %d/%d, loss %.4g", s.Epoch, s.Step, s.Steps, s.MeanLoss)
	if time.Since(c.lastDraw) >= c.MinInterval {
		c.drawLocked()
	}
}

// OnEpoch records a finished epoch and redraws.
func (c *TrainingChart) OnEpoch(e retina.EpochRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.curves.Epochs = append(c.curves.Epochs, e)
	c.status = fmt.Sprintf("epoch %d done: validation r %.3f, test r %.3f", e.Epoch, e.ValCorr, e.TestCorr)
	c.drawLocked()
}

// Done draws the final chart: the run's whole history from meta (which also holds the epochs of
// an earlier session that this one resumed, or all of them when the run had already finished
// and Train returned at once), with the steps seen live. trainErr is Train's error; Done returns
// it, or the first error a redraw met.
func (c *TrainingChart) Done(meta *retina.RunMeta, trainErr error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if meta != nil {
		c.curves.Epochs = meta.History
		c.status = fmt.Sprintf("%d epochs (%s); best validation r %.3f at epoch %d, test r %.3f there",
			meta.Epoch, stoppedWhy(meta), meta.BestValCorr, meta.BestEpoch, meta.TestCorrAtBest)
	}
	if trainErr != nil {
		c.status = "training stopped: " + trainErr.Error()
	}
	c.drawLocked()
	return errors.Join(trainErr, c.err)
}

// MustDone is Done, panicking on error.
func (c *TrainingChart) MustDone(meta *retina.RunMeta, trainErr error) { must(c.Done(meta, trainErr)) }

// Err is the first error a redraw met (callbacks cannot return one).
func (c *TrainingChart) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *TrainingChart) drawLocked() {
	if c.err != nil {
		return
	}
	c.lastDraw = time.Now()
	title := c.title
	if c.status != "" {
		title += " — " + c.status
	}
	fig, err := viz.TrainingCurves(title, c.curves)
	if err == nil {
		err = c.live.Figure(fig)
	}
	c.err = err
}

func stoppedWhy(meta *retina.RunMeta) string {
	if meta.Stopped == "" {
		return "stopped"
	}
	return meta.Stopped
}
