package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Checks of the paths given on the command line, made before any work so that a mistake costs
// nothing and names the flag.

// checkRunFolder checks that path (given with flag) is a folder, as `deepretina train` writes.
func checkRunFolder(flag, path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: no such run folder", flag, path)
	case err != nil:
		return fmt.Errorf("%s %s: %w", flag, path, err)
	case !st.IsDir():
		return fmt.Errorf("%s %s: is a file, not a run folder (expected the folder `deepretina train` wrote, holding checkpoints/)", flag, path)
	}
	return nil
}

// checkOutputFile checks that path (given with flag) can be written as a result file: it is
// not a folder and not one of the inputs (whatever the spelling: relative paths, symbolic
// links, hard links).
func checkOutputFile(flag, path string, inputs map[string]string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a new file cannot be an existing input
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", flag, path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("%s %s: is a folder; expected the path of a file to write", flag, path)
	}
	for inFlag, in := range inputs {
		if ist, err := os.Stat(in); err == nil && os.SameFile(st, ist) {
			return fmt.Errorf("%s %s is the file given to %s (%s): writing it would replace the input; choose another %s", flag, path, inFlag, in, flag)
		}
	}
	return nil
}

// removeIfEmpty removes dir when it is an empty folder (one a failed command created).
func removeIfEmpty(dir string) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) == 0 {
		_ = os.Remove(dir)
	}
}
