// Package repofile finds a file that the set-up installs in the repository (XLA's CPU plugin in
// deps/pjrt, plotly.js in node_modules) from a binary, a test or a notebook, wherever it runs:
// beside the executable, in the working folder and its parents, and in the source tree this
// package was compiled from. It is a low-level leaf.
package repofile

import (
	"os"
	"path/filepath"
	"runtime"
)

// SearchRoots are the folders Find searches, in order: the executable's folder and its parent
// (bin/deepretina → the repository), the working folder and every folder above it, and the
// repository this package was compiled from.
func SearchRoots() []string {
	var roots []string
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			roots = append(roots, filepath.Dir(exe), filepath.Dir(filepath.Dir(exe)))
		}
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			roots = append(roots, dir)
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		// <repo>/internal/repofile/repofile.go → <repo>
		roots = append(roots, filepath.Dir(filepath.Dir(filepath.Dir(file))))
	}
	return roots
}

// Find returns the absolute path of the regular file rel (slash-separated, relative to the
// repository root) under the first of SearchRoots that holds it.
func Find(rel string) (string, bool) { return FindIn(SearchRoots(), rel) }

// FindIn is Find over the given roots.
func FindIn(roots []string, rel string) (string, bool) {
	for _, root := range roots {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			if abs, err := filepath.Abs(p); err == nil {
				return abs, true
			}
		}
	}
	return "", false
}
