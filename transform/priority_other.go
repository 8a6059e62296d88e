//go:build !linux

package transform

// Thread priorities are Linux-only: elsewhere the workers share the CPU
// with DuckDB's writing thread as equals (runNiced runs f as it is).

func lowerThisThread(delta int) {}

// threadNice is not known here.
func threadNice() (int, bool) { return 0, false }

const canLowerThreads = false
