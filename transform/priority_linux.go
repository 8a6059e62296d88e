//go:build linux

package transform

import (
	"runtime"
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

// yieldToWriter makes the calling goroutine, a validation worker, run on
// an OS thread of its own at delta steps of nice below the process (at
// most 19), for as long as it lives: the thread is locked to it and never
// unlocked, so Go ends the thread with the goroutine instead of reusing it
// for other goroutines, DuckDB's calls among them. Go makes new threads
// from its template thread while the current one is locked, so no thread
// inherits the lower priority either. Called again on the same thread it
// only checks. Errors are ignored: the priority is a preference.
func yieldToWriter(delta int) {
	if delta <= 0 {
		return
	}
	runtime.LockOSThread()
	want := min(baseNice()+delta, 19)
	tid := unix.Gettid()
	if p, err := unix.Getpriority(unix.PRIO_PROCESS, tid); err == nil && 20-p >= want {
		return
	}
	_ = unix.Setpriority(unix.PRIO_PROCESS, tid, want)
}

// threadNice is the calling thread's nice value (tests).
func threadNice() (int, bool) {
	p, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	return 20 - p, err == nil
}
