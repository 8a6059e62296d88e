//go:build !unix

package landing

import "os"

// openRead opens a landed file for reading (see openfile_unix.go).
func openRead(path string) (*os.File, error) { return os.Open(path) }
