//go:build !linux

package transform

// yieldToWriter is Linux-only (thread priorities): elsewhere the workers
// share the CPU with DuckDB's writing thread as equals.
func yieldToWriter(delta int) {}

// threadNice is not known here.
func threadNice() (int, bool) { return 0, false }
