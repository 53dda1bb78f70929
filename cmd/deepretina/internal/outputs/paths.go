package outputs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Checks of the paths given on the command line, made before any work so that a mistake costs
// nothing and names the flag.

// CheckRunFolder checks that path (given with flag) is a folder, as `deepretina train` writes.
func CheckRunFolder(flag, path string) error {
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

// RemoveIfEmpty removes dir when it is an empty folder (one a failed command created).
func RemoveIfEmpty(dir string) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) == 0 {
		_ = os.Remove(dir)
	}
}
