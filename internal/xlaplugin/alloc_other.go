//go:build !(linux && cgo)

package xlaplugin

// FreedHostMemoryKept reports false: the allocator set-up is for glibc (see the Linux build).
func FreedHostMemoryKept() bool { return false }

func refaultPages(int) int64 { return -1 }
