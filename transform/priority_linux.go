//go:build linux

package transform

import (
	"sync"

	"golang.org/x/sys/unix"
)

// baseNice is the process's own nice value (its main thread's, as the
// user started it: `nice -n 5 rawland transform` gives 5).
var baseNice = sync.OnceValue(func() int {
	// the raw system call returns 20 - nice (x/sys/unix does not convert)
	p, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Getpid())
	if err != nil {
		return 0
	}
	return 20 - p
})

// lowerThisThread sets the calling OS thread (locked to its goroutine by
// the caller) at delta steps of nice below the process, at most 19.
// Errors are ignored: the priority is a preference.
func lowerThisThread(delta int) {
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), min(baseNice()+delta, 19))
}

// threadNice is the calling thread's nice value (tests).
func threadNice() (int, bool) {
	p, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	return 20 - p, err == nil
}

const canLowerThreads = true
