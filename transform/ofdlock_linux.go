//go:build linux

package transform

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// Open-file-description locks. Unlike classic fcntl locks, they conflict
// with every other lock on the file, including the classic ones DuckDB
// takes (a read lock for a read-only session, a write lock for a
// read-write one, held for the whole session), even those of this process.
const fOFDSetlk = 37

// lockExclusive takes an exclusive lock on all of f without waiting. It
// reports false when any DuckDB session, in this process or another, has
// the file open; while rawland holds it, no DuckDB session can open the
// file. Closing f releases it.
func lockExclusive(f *os.File) (bool, error) {
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	err := syscall.FcntlFlock(f.Fd(), fOFDSetlk, &lk)
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) {
		return false, nil
	}
	return err == nil, err
}
