// Package fsutil holds the file-system helpers shared by deepretina's writers: atomic writes
// of result files and checkpoints, and temporary files with the usual permissions.
//
//	err := fsutil.WriteFileAtomic("runs/x/eval.json", data) // the old content or the new, never a torn file
//	f, err := fsutil.CreateTemp(dir, ".results.json.tmp-")  // … write, sync, close, then os.Rename
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

// WriteFileAtomic writes data to path through a fsynced temporary file and a rename, so
// readers see the old content or the new, never a torn file; on failure (a full disk, say) the
// old file is untouched. The file gets the usual mode of new files (0666 less the umask).
func WriteFileAtomic(path string, data []byte) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("write %s: is a directory; expected the path of a file", path)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return SyncFile(dir)
}

// SyncFile fsyncs a file or folder (a folder: so that a rename in it is durable).
func SyncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
