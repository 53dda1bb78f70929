package retina

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows a live bar on a terminal and, in logs (CI, files), a line every ~10% so
// long epochs still show signs of life without flooding the output.
type progress struct {
	bar      *progressbar.ProgressBar
	w        io.Writer
	label    string
	total    int
	done     int
	lastLine time.Time
	start    time.Time
}

func newProgress(w io.Writer, label string, total, done int) *progress {
	p := &progress{w: w, label: label, total: total, done: done, start: time.Now(), lastLine: time.Now()}
	if w == io.Discard {
		return p
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("batch"),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
		)
		_ = p.bar.Set(done)
	}
	return p
}

func (p *progress) step(status string) {
	p.done++
	if p.bar != nil {
		p.bar.Describe(p.label + " " + status)
		_ = p.bar.Add(1)
		return
	}
	if p.w == io.Discard {
		return
	}
	every := max(1, p.total/10)
	if p.done%every == 0 || time.Since(p.lastLine) > 30*time.Second {
		p.lastLine = time.Now()
		fmt.Fprintf(p.w, "  %s: batch %d/%d  %s  (%.0fs)\n", p.label, p.done, p.total, status, time.Since(p.start).Seconds())
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
