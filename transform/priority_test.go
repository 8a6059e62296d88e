package transform

import (
	"runtime"
	"testing"
)

// TestYieldToWriter: a worker that yields runs on a thread of its own at
// the process's nice plus delta (at most 19); calling it again changes
// nothing; other goroutines' threads, the test's own among them, keep the
// process's priority; delta 0 leaves everything as it was.
func TestYieldToWriter(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread priorities are Linux-only")
	}
	runtime.LockOSThread() // the test's own thread: it must not be touched
	defer runtime.UnlockOSThread()
	base, ok := threadNice()
	if !ok {
		t.Skip("getpriority failed")
	}
	type got struct{ first, again, zero int }
	run := func(delta int) got {
		ch := make(chan got)
		go func() {
			var g got
			yieldToWriter(delta)
			g.first, _ = threadNice()
			yieldToWriter(delta)
			g.again, _ = threadNice()
			ch <- g
		}() // the goroutine ends locked: its thread ends with it
		return <-ch
	}
	for _, delta := range []int{10, 25} {
		g := run(delta)
		want := min(base+delta, 19)
		if g.first != want || g.again != want {
			t.Errorf("delta %d: worker thread at nice %d, then %d; want %d", delta, g.first, g.again, want)
		}
	}
	if g := run(0); g.first != base {
		t.Errorf("delta 0: worker thread at nice %d, want the process's %d", g.first, base)
	}
	if n, _ := threadNice(); n != base {
		t.Errorf("the test's thread went from nice %d to %d", base, n)
	}
	// a new goroutine, not locked, runs at the process's priority: no
	// worker thread was given back to Go's pool of threads
	for range 20 {
		ch := make(chan int)
		go func() { n, _ := threadNice(); ch <- n }()
		if n := <-ch; n != base {
			t.Fatalf("a goroutine ran on a thread at nice %d, want %d", n, base)
		}
	}
}
