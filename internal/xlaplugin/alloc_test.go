package xlaplugin

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// refaultSize is larger than glibc's largest mmap threshold (32 MiB) and than a thread arena's
// heap (64 MiB), as a training step's scratch memory is.
const refaultSize = 96 << 20

// TestFreedHostMemoryKept checks that a freed block as large as a training step's scratch
// memory is reused without page faults in this process, where the package set up the
// allocator at load time, and (the control) that with glibc's defaults (DEEPRETINA_MALLOC=default,
// in a child process) the same reallocation faults on nearly every page.
func TestFreedHostMemoryKept(t *testing.T) {
	if os.Getenv("XLAPLUGIN_REFAULT_CHILD") == "1" {
		runtime.LockOSThread()
		os.Stdout.WriteString("refaults " + strconv.FormatInt(refaultPages(refaultSize), 10) + "\n")
		return
	}
	if !FreedHostMemoryKept() {
		t.Skip("the C library is not glibc (or cgo is off): the allocator set-up has no effect here")
	}
	pages := int64(refaultSize / os.Getpagesize())
	runtime.LockOSThread()
	kept := refaultPages(refaultSize)
	runtime.UnlockOSThread()
	if kept < 0 || kept > pages/20 {
		t.Errorf("rewriting a reallocated %d MiB block took %d page faults (%d pages), want almost none", refaultSize>>20, kept, pages)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestFreedHostMemoryKept$", "-test.count=1")
	cmd.Env = append(os.Environ(), "XLAPLUGIN_REFAULT_CHILD=1", "DEEPRETINA_MALLOC=default")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	_, after, ok := strings.Cut(string(out), "refaults ")
	if !ok {
		t.Fatalf("child process printed no fault count:\n%s", out)
	}
	deflt, err := strconv.ParseInt(strings.Fields(after)[0], 10, 64)
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	if deflt < pages*9/10 {
		t.Fatalf("control: with glibc's defaults rewriting a reallocated %d MiB block took %d page faults, expected about %d (one per page)", refaultSize>>20, deflt, pages)
	}
	t.Logf("page faults rewriting a reallocated %d MiB block: %d with glibc's defaults, %d as set up", refaultSize>>20, deflt, kept)
}
