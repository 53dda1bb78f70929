//go:build linux && cgo

package xlaplugin

/*
#define _GNU_SOURCE
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int kept_freed_memory;

// keep_freed_memory runs when the program is loaded, before the Go runtime and any thread
// start (a thread that has made its own malloc arena keeps it, so later is too late). It makes
// glibc's malloc serve every thread from the main arena (whose heap, unlike a thread arena's,
// can grow past 64 MiB without mmap), never mmap a block (so a freed block is not unmapped),
// and keep the freed top of the heap mapped up to INT_MAX bytes. DEEPRETINA_MALLOC=default in
// the environment leaves glibc's defaults.
__attribute__((constructor)) static void keep_freed_memory(void) {
	const char *v = getenv("DEEPRETINA_MALLOC");
	if (v != NULL && strcmp(v, "default") == 0) return;
#if defined(M_MMAP_MAX) && defined(M_TRIM_THRESHOLD) && defined(M_ARENA_MAX)
	kept_freed_memory = mallopt(M_ARENA_MAX, 1) == 1 && mallopt(M_MMAP_MAX, 0) == 1 &&
		mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
#endif
}

static int freed_memory_kept(void) { return kept_freed_memory; }

// touch writes one byte per 4 KiB page of p[0:n] (volatile, so that the writes are not
// optimised away before a free).
static void touch(char *p, size_t n) {
	volatile char *v = p;
	for (size_t i = 0; i < n; i += 4096) v[i] = 1;
}

// refault_pages allocates and writes n bytes, frees them, allocates and writes n bytes again,
// and returns how many minor page faults the second write took.
static long refault_pages(size_t n) {
	struct rusage before, after;
	char *p = malloc(n);
	if (!p) return -1;
	touch(p, n);
	free(p);
	p = malloc(n);
	if (!p) return -1;
	getrusage(RUSAGE_THREAD, &before);
	touch(p, n);
	getrusage(RUSAGE_THREAD, &after);
	free(p);
	return after.ru_minflt - before.ru_minflt;
}
*/
import "C"

// FreedHostMemoryKept reports whether the C allocator of this process keeps the memory it
// frees, as this package sets it up when the program is loaded (glibc on Linux, unless
// DEEPRETINA_MALLOC=default is in the environment).
//
// Why: XLA's CPU plugin allocates each execution's scratch memory as one block (90 MB for a
// LinearStackedBNCNN training step at batch 64, hundreds of MB at batch 512) with malloc and
// frees it at the end. With glibc's defaults a block that large is mmap'ed and unmapped every
// time, so every training step page-faults through all of it again, each page zeroed by the
// kernel. With the block served from the main heap and kept there, the next step reuses it.
// The cost is that the process keeps memory it has freed (up to its peak use) instead of
// returning it to the system. The settings must be in place before any thread has allocated
// (a thread that has its own malloc arena keeps it), hence at load time rather than when the
// engine is created.
func FreedHostMemoryKept() bool { return C.freed_memory_kept() == 1 }

// refaultPages allocates, writes and frees n bytes, then allocates and writes n bytes again on
// the calling OS thread, and returns the minor page faults of the second write (-1 if malloc
// failed). The caller should hold its OS thread (runtime.LockOSThread).
func refaultPages(n int) int64 { return int64(C.refault_pages(C.size_t(n))) }
