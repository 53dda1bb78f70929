// Package fsutil holds the file-system helpers shared by deepretina's writers.
//
//	f, err := fsutil.CreateTemp(dir, ".results.json.tmp-")
//	// … write, sync, close, then os.Rename(f.Name(), final)
package fsutil

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// CreateTemp creates a new file in dir whose name starts with prefix, like os.CreateTemp, but
// with the permissions of an ordinary new file (0666 less the umask, usually 0644) rather than
// 0600: the file is renamed into place as a result the user will share and read with other tools.
func CreateTemp(dir, prefix string) (*os.File, error) {
	for range 1000 {
		name := filepath.Join(dir, fmt.Sprintf("%s%016x", prefix, rand.Uint64()))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("create a temporary file in %s: too many name collisions", dir)
}
