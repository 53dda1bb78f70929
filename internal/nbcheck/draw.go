package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/deepretina/deepretina/internal/browser"
)

var (
	drawnFigure   = regexp.MustCompile(`class="deepretina-figure js-plotly-plot"`)
	undrawnFigure = regexp.MustCompile(`class="deepretina-figure"`)
	remoteScript  = regexp.MustCompile(`(?i)<script[^>]+src="(https?:)?//`)
)

// checkDrawn renders an exported notebook page in headless chromium with the network shut off
// and checks that all of its want figures drew and that the page loads no script from elsewhere.
func checkDrawn(ctx context.Context, htmlPath string, want int) []string {
	data, err := os.ReadFile(htmlPath)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	if m := remoteScript.Find(data); m != nil {
		problems = append(problems, fmt.Sprintf("%s loads a script from the network: %s", htmlPath, m))
	}
	if n := strings.Count(string(data), loaderMarker); n != 0 {
		problems = append(problems, fmt.Sprintf("%s carries plotly.js in %d outputs besides its head (export it with the deepretina template)", htmlPath, n))
	}
	dom, err := browser.DumpDOM(ctx, htmlPath)
	if err != nil {
		return append(problems, err.Error())
	}
	drawn, undrawn := len(drawnFigure.FindAllString(dom, -1)), len(undrawnFigure.FindAllString(dom, -1))
	if drawn != want || undrawn != 0 {
		problems = append(problems, fmt.Sprintf("%s: %d of %d figures drew in chromium (%d did not)", htmlPath, drawn, want, undrawn))
	}
	return problems
}
