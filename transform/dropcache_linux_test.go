//go:build linux

package transform

import (
	"os"
	"syscall"
)

// dropCache evicts a file's pages from the page cache
// (posix_fadvise POSIX_FADV_DONTNEED), so that reading it next goes to disk.
func dropCache(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	f.Sync()
	syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, 4, 0, 0)
}
