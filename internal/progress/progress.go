// Package progress reports long work: a live bar on a terminal, and in logs (CI, files) a line
// about every 10% so long runs show signs of life without flooding the output.
package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Bar tracks done out of total units of work.
type Bar struct {
	bar      *progressbar.ProgressBar
	w        io.Writer
	label    string
	total    int
	done     int
	lastTen  int
	lastLine time.Time
	start    time.Time
}

// New starts a bar at done/total units, writing to w (io.Discard or nil for silence).
func New(w io.Writer, label string, total, done int) *Bar {
	if w == nil {
		w = io.Discard
	}
	b := &Bar{w: w, label: label, total: max(1, total), done: done, lastTen: tenth(done, total),
		start: time.Now(), lastLine: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b.bar = progressbar.NewOptions(b.total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
		)
		_ = b.bar.Set(done)
	}
	return b
}

func tenth(done, total int) int { return 10 * done / max(1, total) }

// Step records one more unit done, with a status shown next to the label.
func (b *Bar) Step(status string) { b.Set(b.done+1, b.total, status) }

// Set records done out of total units (total may change as work is discovered).
func (b *Bar) Set(done, total int, status string) {
	b.done, b.total = done, max(1, total)
	if b.bar != nil {
		if status != "" {
			b.bar.Describe(b.label + " " + status)
		}
		b.bar.ChangeMax(b.total)
		_ = b.bar.Set(done)
		return
	}
	if b.w == io.Discard {
		return
	}
	if t := tenth(done, b.total); t != b.lastTen || time.Since(b.lastLine) > 30*time.Second {
		b.lastTen, b.lastLine = t, time.Now()
		fmt.Fprintf(b.w, "  %s: %d/%d  %s  (%.0fs)\n", b.label, done, b.total, status, time.Since(b.start).Seconds())
	}
}

// Finish clears a terminal bar.
func (b *Bar) Finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
	}
}

// FormatBytes writes a byte count the way a log reader wants it: 3.6 GB, 205.0 kB, 12 B.
func FormatBytes(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	v, u := float64(n), 0
	for v >= 1000 && u < len(units)-1 {
		v /= 1000
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", v, units[u])
}
