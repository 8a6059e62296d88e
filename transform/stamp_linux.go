//go:build linux

package transform

import (
	"os"
	"syscall"
	"time"
)

// inodeOf returns a file's inode number, its number of names (hard links)
// and its change time (set when a name is added or removed).
func inodeOf(fi os.FileInfo) (ino, nlink uint64, ctime time.Time) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fi.ModTime()
	}
	return uint64(st.Ino), uint64(st.Nlink), time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec))
}
