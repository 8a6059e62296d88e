package transform

import (
	"os"
	"sync"
)

// Snapshots this process's own readers have open. A DuckDB session's lock
// on a file is a classic fcntl lock, which the kernel drops as soon as
// this process closes any descriptor of that file (as the publish and the
// preparation of the working database do when they read the snapshot), so
// for sessions of this process the lock cannot be trusted: the working
// database is never prepared in a snapshot listed here.
var openSnapshots = struct {
	sync.Mutex
	n map[uint64]int
}{n: map[uint64]int{}}

// holdSnapshot records that a reader of this process opens path; the
// returned func forgets it.
func holdSnapshot(path string) func() {
	fi, err := os.Stat(path)
	if err != nil {
		return func() {}
	}
	ino, _, _ := inodeOf(fi)
	openSnapshots.Lock()
	openSnapshots.n[ino]++
	openSnapshots.Unlock()
	return func() {
		openSnapshots.Lock()
		if openSnapshots.n[ino]--; openSnapshots.n[ino] <= 0 {
			delete(openSnapshots.n, ino)
		}
		openSnapshots.Unlock()
	}
}

// snapshotOpenHere reports whether a reader of this process has the inode open.
func snapshotOpenHere(ino uint64) bool {
	openSnapshots.Lock()
	defer openSnapshots.Unlock()
	return openSnapshots.n[ino] > 0
}
