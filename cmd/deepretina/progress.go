package main

import (
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// bar shows progress as a live bar on a terminal and as a line every 10% in logs.
type bar struct {
	label string
	pb    *progressbar.ProgressBar
	last  int
	start time.Time
}

func newBar(label string) *bar {
	b := &bar{label: label, last: -1, start: time.Now()}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		b.pb = progressbar.NewOptions(100, progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription(label), progressbar.OptionClearOnFinish())
	}
	return b
}

// set reports done out of total units of work.
func (b *bar) set(done, total int) {
	pct := int(100 * int64(done) / int64(max(1, total)))
	if b.pb != nil {
		_ = b.pb.Set(pct)
		return
	}
	if pct/10 != b.last/10 {
		b.last = pct
		fmt.Fprintf(os.Stderr, "%s: %d%% (%.0fs)\n", b.label, pct, time.Since(b.start).Seconds())
	}
}

func (b *bar) finish() {
	if b.pb != nil {
		_ = b.pb.Finish()
	}
}
