// Package browser renders HTML pages in headless chromium (Debian's package, installed by
// scripts/setup.sh) with the network shut off, so that tests can check that reports and
// notebook exports really draw their charts offline.
//
//	dom, err := browser.DumpDOM(ctx, "out/report.html")
//	if err != nil { … }
//	fmt.Println(browser.CountCharts(dom), "charts drew")
package browser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Find returns the chromium executable on PATH.
func Find() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chromium not found on PATH: run scripts/setup.sh (it installs Debian's chromium package, which the report tests use)")
}

// args are the flags that make headless chromium render a local file deterministically with
// no network: a proxy that refuses every connection catches any fetch the page might try.
func args(userDir string, extra ...string) []string {
	a := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--user-data-dir=" + userDir, "--virtual-time-budget=10000",
	}
	return append(a, extra...)
}

func run(ctx context.Context, extra ...string) (stdout []byte, err error) {
	bin, err := Find()
	if err != nil {
		return nil, err
	}
	userDir, err := os.MkdirTemp("", "deepretina-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(userDir)
	cmd := exec.CommandContext(ctx, bin, args(userDir, extra...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tail := errb.String()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return nil, fmt.Errorf("chromium %s: %w\n%s", strings.Join(extra, " "), err, tail)
	}
	return out.Bytes(), nil
}

// DumpDOM loads an HTML file, lets its scripts run, and returns the resulting DOM.
func DumpDOM(ctx context.Context, htmlPath string) (string, error) {
	abs, err := filepath.Abs(htmlPath)
	if err != nil {
		return "", err
	}
	out, err := run(ctx, "--dump-dom", "file://"+abs)
	return string(out), err
}

// Screenshot renders an HTML file into a PNG of width×height pixels.
func Screenshot(ctx context.Context, htmlPath, pngPath string, width, height int) error {
	abs, err := filepath.Abs(htmlPath)
	if err != nil {
		return err
	}
	png, err := filepath.Abs(pngPath)
	if err != nil {
		return err
	}
	if _, err := run(ctx, "--screenshot="+png, fmt.Sprintf("--window-size=%d,%d", width, height), "file://"+abs); err != nil {
		return err
	}
	if st, err := os.Stat(png); err != nil || st.Size() == 0 {
		return fmt.Errorf("chromium wrote no screenshot %s (%v)", png, err)
	}
	return nil
}

// CountCharts counts the plotly charts drawn in a DOM: plotly gives each chart's SVG layers
// class "main-svg" (at least one per chart).
func CountCharts(dom string) int { return strings.Count(dom, `class="main-svg"`) }

// CountPlots counts the plotly charts in a DOM by their containers (one per newPlot that drew).
func CountPlots(dom string) int { return strings.Count(dom, `class="plot-container plotly"`) }
