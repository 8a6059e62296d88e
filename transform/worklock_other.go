//go:build !unix

package transform

import "os"

// Without flock, DuckDB's own lock on the working database is the only
// guard between two rawland processes.
func tryLock(f *os.File) (bool, error) { return true, nil }

func unlock(f *os.File) {}
