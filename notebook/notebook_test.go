package notebook

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deepretina/deepretina/figures"
	"github.com/deepretina/deepretina/internal/browser"
	"github.com/deepretina/deepretina/retina"
)

// recorder is an Output that keeps what a notebook would show: displays in order, and for each
// display id the position of its output and its latest content (as Jupyter replaces it).
type recorder struct {
	outputs []string
	byID    map[string]int
	updates int
	fail    error
}

func (r *recorder) Display(h string) error {
	r.outputs = append(r.outputs, h)
	return r.fail
}

func (r *recorder) Update(id, h string) error {
	r.updates++
	if r.byID == nil {
		r.byID = map[string]int{}
	}
	if i, ok := r.byID[id]; ok {
		r.outputs[i] = h
	} else {
		r.byID[id] = len(r.outputs)
		r.outputs = append(r.outputs, h)
	}
	return r.fail
}

var divID = regexp.MustCompile(`<div id="([^"]+)" class="deepretina-figure">`)

func line(t *testing.T, title string, n int) *figures.Figure {
	t.Helper()
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(i)
	}
	fig, err := figures.Line(title, "x", "y", figures.Series{Name: "s", X: x, Y: x})
	if err != nil {
		t.Fatal(err)
	}
	return fig
}

// TestPageDrawsOffline displays plotly.js, two figures, a table and a live chart updated three
// times, then renders what the notebook would hold in headless chromium with no network: every
// figure drew, the live one in its last state, and plotly.js is on the page once.
func TestPageDrawsOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("needs headless chromium; runs in the full tier, scripts/test.sh")
	}
	rec := &recorder{}
	p := NewPage(rec)
	if err := p.LoadPlotly(); err != nil {
		t.Fatal(err)
	}
	if err := p.Show(line(t, "it's </script> one", 3)); err != nil {
		t.Fatal(err)
	}
	if err := p.ShowTable(figures.Table{Columns: []string{"cell"}, Rows: [][]string{{"<b>0</b>"}}}); err != nil {
		t.Fatal(err)
	}
	live, err := p.NewLive()
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		if err := live.Figure(line(t, "live", n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Show(line(t, "two", 2)); err != nil {
		t.Fatal(err)
	}
	if len(rec.outputs) != 5 || rec.updates != 3 {
		t.Fatalf("%d outputs and %d updates, want 5 outputs (loader, figure, table, live, figure) and 3 updates", len(rec.outputs), rec.updates)
	}
	if !strings.HasPrefix(rec.outputs[0], figures.LoaderMarker) {
		t.Error("LoadPlotly's output does not begin with the loader marker")
	}
	if !strings.Contains(rec.outputs[2], "<td>&lt;b&gt;0&lt;/b&gt;</td>") {
		t.Errorf("table not escaped: %s", rec.outputs[2])
	}
	ids := map[string]bool{}
	for _, o := range rec.outputs {
		for _, m := range divID.FindAllStringSubmatch(o, -1) {
			if ids[m[1]] {
				t.Errorf("figure id %s used twice", m[1])
			}
			ids[m[1]] = true
		}
	}
	if len(ids) != 3 {
		t.Errorf("%d figures on the page, want 3", len(ids))
	}
	if !strings.Contains(rec.outputs[3], `"x":[0,1,2]`) {
		t.Errorf("the live output is not in its last state: %.300s", rec.outputs[3])
	}
	page := filepath.Join(t.TempDir(), "nb.html")
	html := "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>\n" + strings.Join(rec.outputs, "\n") + "</body></html>"
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dom, err := browser.DumpDOM(ctx, page)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(dom, `class="deepretina-figure js-plotly-plot"`); n != 3 {
		t.Errorf("%d of 3 figures drew", n)
	}
	if !strings.Contains(dom, "it's &lt;/script&gt; one") {
		t.Error("the title with an apostrophe and a closing script tag is not drawn as text")
	}
}

func TestTrainingChart(t *testing.T) {
	rec := &recorder{}
	c := NewPage(rec).NewTrainingChart("Training")
	c.MinInterval = time.Hour // only the first step and the epochs redraw
	var steps, epochs int
	opts := c.Options(retina.TrainOptions{OnStep: func(retina.StepInfo) { steps++ }, OnEpoch: func(retina.EpochRecord) { epochs++ }})
	for s := 1; s <= 5; s++ {
		opts.OnStep(retina.StepInfo{Epoch: 1, Step: s, Steps: 5, Loss: -float64(s), MeanLoss: -1})
	}
	opts.OnEpoch(retina.EpochRecord{Epoch: 1, TrainLoss: -3, ValCorr: 0.4, TestCorr: 0.35, LR: 0.002})
	if steps != 5 || epochs != 1 {
		t.Errorf("the caller's callbacks ran %d and %d times, want 5 and 1", steps, epochs)
	}
	if rec.updates != 2 || len(rec.outputs) != 1 {
		t.Fatalf("%d updates into %d outputs, want 2 (first step, epoch) into 1", rec.updates, len(rec.outputs))
	}
	if !strings.Contains(rec.outputs[0], "epoch 1 done: validation r 0.400") || !strings.Contains(rec.outputs[0], `"x":[0.2,0.4,0.6,0.8,1]`) {
		t.Errorf("after the epoch the chart must hold all 5 steps and say so: %.400s", rec.outputs[0])
	}
	meta := &retina.RunMeta{Epoch: 3, Stopped: "completed", BestEpoch: 2, BestValCorr: 0.5, TestCorrAtBest: 0.45,
		History: []retina.EpochRecord{{Epoch: 1, ValCorr: 0.4, LR: 0.002}, {Epoch: 2, ValCorr: 0.5, LR: 0.002}, {Epoch: 3, ValCorr: 0.48, LR: 0.001}}}
	if err := c.Done(meta, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.outputs[0], "3 epochs (completed); best validation r 0.500 at epoch 2") || !strings.Contains(rec.outputs[0], `"y":[0.4,0.5,0.48]`) {
		t.Errorf("Done must draw the run's whole history: %.600s", rec.outputs[0])
	}
	trainErr := errors.New("NaN loss")
	if err := c.Done(nil, trainErr); !errors.Is(err, trainErr) || !strings.Contains(rec.outputs[0], "training stopped: NaN loss") {
		t.Errorf("Done(nil, err) = %v; chart %.200s", err, rec.outputs[0])
	}

	broken := &recorder{fail: errors.New("pipe closed")}
	b := NewPage(broken).NewTrainingChart("x")
	b.OnEpoch(retina.EpochRecord{Epoch: 1, LR: 0.001})
	b.OnEpoch(retina.EpochRecord{Epoch: 2, LR: 0.001})
	if err := b.Err(); err == nil || broken.updates != 1 {
		t.Errorf("a failing output: Err %v after %d updates; the chart must stop redrawing and keep the error", err, broken.updates)
	}
	if err := b.Done(nil, nil); err == nil || !strings.Contains(err.Error(), "pipe closed") {
		t.Errorf("Done must return the redraw error, got %v", err)
	}
}

func TestWorkDir(t *testing.T) {
	root := t.TempDir()
	t.Setenv("DEEPRETINA_NOTEBOOK_WORK", root)
	dir, err := WorkDir("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() || dir != filepath.Join(root, "quickstart") {
		t.Errorf("WorkDir = %q (%v)", dir, err)
	}
	t.Setenv("DEEPRETINA_NOTEBOOK_WORK", "")
	t.Chdir(root)
	if dir, err = WorkDir("x"); err != nil || dir != filepath.Join(root, "work", "x") {
		t.Errorf("without the variable: %q, %v; want work/x beside the notebook", dir, err)
	}
}
