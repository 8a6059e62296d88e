//go:build !linux || !cgo

package main

// duckdbDefaultMalloc is nil where rawland leaves malloc as it is
// (malloc_linux.go).
func duckdbDefaultMalloc() []string { return nil }
