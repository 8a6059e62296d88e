//go:build !linux || !cgo

package transform

// releaseFreed does nothing where the C allocators' trimming is not known
// (trim_linux.go).
func releaseFreed() {}
