package repofile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFindIn: the first root holding the file wins; a folder of that name or a missing file
// is not found.
func TestFindIn(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for _, root := range []string{b, c} {
		if err := os.MkdirAll(filepath.Join(root, "deps", "x"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "deps", "x", "f.so"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, ok := FindIn([]string{a, b, c}, "deps/x/f.so"); !ok || got != filepath.Join(b, "deps", "x", "f.so") {
		t.Errorf("FindIn = %q, %v; want the file under %s", got, ok, b)
	}
	if got, ok := FindIn([]string{a, b}, "deps/x"); ok {
		t.Errorf("a folder was found: %q", got)
	}
	if got, ok := FindIn([]string{a}, "deps/x/f.so"); ok {
		t.Errorf("found %q in a root without it", got)
	}
}

// TestSearchRootsReachTheRepository: from this package's folder the roots include the
// repository root, which holds go.mod.
func TestSearchRootsReachTheRepository(t *testing.T) {
	if _, ok := Find("go.mod"); !ok {
		t.Errorf("go.mod not found from %v", SearchRoots())
	}
}
