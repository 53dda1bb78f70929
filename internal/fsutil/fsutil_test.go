package fsutil

import (
	"os"
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
