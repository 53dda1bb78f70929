// Command nbcheck fails a notebook run that went wrong, which nbconvert does not always do: it
// exits 0 when a Go cell panics or exits non-zero, since GoNB only prints that on stderr.
// scripts/notebooks.sh runs it on every executed notebook and its HTML export.
//
//	nbcheck [-html EXPORT.html] [-min-figures N] EXECUTED.ipynb
//
// It scans the executed notebook (every code cell ran; no error output; no panic, fatal error,
// signal or non-zero exit status on stderr; plotly.js displayed before the first figure; figure
// ids unique), counts the figures, and with -html renders the export in headless chromium with
// the network shut off and checks that every figure drew. Problems are listed and the exit
// status is 1.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	htmlPath := flag.String("html", "", "the notebook's HTML export, to render in headless chromium")
	minFigures := flag.Int("min-figures", 1, "fewest figures the notebook must show")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: nbcheck [-html EXPORT.html] [-min-figures N] EXECUTED.ipynb")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	path := flag.Arg(0)
	nb, err := readNotebook(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nbcheck:", err)
		os.Exit(1)
	}
	r := scan(nb)
	if r.Figures < *minFigures {
		r.Problems = append(r.Problems, fmt.Sprintf("%d figures, expected at least %d", r.Figures, *minFigures))
	}
	if *htmlPath != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		r.Problems = append(r.Problems, checkDrawn(ctx, *htmlPath, r.Figures)...)
		cancel()
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(os.Stderr, "nbcheck: %s: %d problems\n", path, len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintln(os.Stderr, "  -", p)
		}
		os.Exit(1)
	}
	drew := ""
	if *htmlPath != "" {
		drew = ", all drawn in " + *htmlPath
	}
	fmt.Printf("nbcheck: %s: %d cells, %d figures%s\n", path, len(nb.Cells), r.Figures, drew)
}
