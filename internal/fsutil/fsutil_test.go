package fsutil

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCreateTempHonoursUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	f, err := CreateTemp(dir, ".x.tmp-")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := os.Stat(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 || !strings.HasPrefix(st.Name(), ".x.tmp-") {
		t.Fatalf("temporary file %s has mode %v, want 0644", st.Name(), st.Mode().Perm())
	}
	g, err := CreateTemp(dir, ".x.tmp-")
	if err != nil || g.Name() == f.Name() {
		t.Fatalf("second file: %v, %v", g, err)
	}
	g.Close()
}

func TestWriteFileAtomicKeepsOldContentOnFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "run.json")
	if err := WriteFileAtomic(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Fatalf("content %q", b)
	}
	// A write that cannot complete (the target is a directory) leaves no temporary files and
	// no damage.
	sub := filepath.Join(dir, "sub")
	_ = os.Mkdir(sub, 0o755)
	_ = os.WriteFile(filepath.Join(sub, "keep"), []byte("x"), 0o644)
	if err := WriteFileAtomic(sub, []byte("data")); err == nil {
		t.Fatal("writing over a directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Fatalf("unrelated file changed: %q", b)
	}
}

// Result files are ordinary files (0666 less the umask), not private 0600 temporaries; a
// directory in the way is named as such.
func TestWriteFileAtomicModeAndDirectory(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	p := filepath.Join(dir, "eval.json")
	if err := WriteFileAtomic(p, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v (%v), want 0644", st.Mode().Perm(), err)
	}
	err := WriteFileAtomic(dir, []byte("{}"))
	if err == nil || !strings.Contains(err.Error(), "is a directory") || strings.Contains(err.Error(), "rename") {
		t.Fatalf("writing onto a directory: %v", err)
	}
}
