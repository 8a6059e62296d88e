//go:build unix

package transform

import (
	"syscall"
	"unsafe"
)

// allocKeyFilter allocates a key filter of words 64-bit words outside the
// Go heap (an anonymous mapping), and returns the function that frees it.
// The filter is large (16 MiB for ten million keys), pointer-free and
// lives as long as the load: on the Go heap it would count as live and
// raise the collector's heap goal by as much again, so the process would
// hold twice its size. Where the mapping fails it is an ordinary slice.
func allocKeyFilter(words int) (keyFilter, func()) {
	b, err := syscall.Mmap(-1, 0, words*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make(keyFilter, words), func() {}
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), words), func() { _ = syscall.Munmap(b) }
}
