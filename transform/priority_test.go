package transform

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestRunNiced: a batch run through runNiced runs on a thread at the
// process's nice plus delta (at most 19), on a pool of threads that never
// ends (no thread exits: see nicepool.go) and grows only to the batches run
// at once; a panic comes back to the caller; delta 0 runs on the caller's
// thread; other goroutines' threads keep the process's priority.
func TestRunNiced(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread priorities are Linux-only")
	}
	runtime.LockOSThread() // the test's own thread: it must not be touched
	defer runtime.UnlockOSThread()
	base, ok := threadNice()
	if !ok {
		t.Skip("getpriority failed")
	}
	niceOf := func(delta int) int {
		var n int
		runNiced(delta, func() { n, _ = threadNice() })
		return n
	}
	for _, delta := range []int{7, 25} {
		for range 3 {
			if got, want := niceOf(delta), min(base+delta, 19); got != want {
				t.Fatalf("delta %d: ran at nice %d, want %d", delta, got, want)
			}
		}
	}
	if got := niceOf(0); got != base {
		t.Errorf("delta 0: ran at nice %d, want the process's %d", got, base)
	}
	if n, _ := threadNice(); n != base {
		t.Errorf("the test's thread went from nice %d to %d", base, n)
	}
	// four at once: the pool grows to four, and no further
	var wg sync.WaitGroup
	var running atomic.Int32
	gate := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runNiced(7, func() { running.Add(1); <-gate })
		}()
	}
	for running.Load() < 4 {
		runtime.Gosched()
	}
	close(gate)
	wg.Wait()
	p := nicePools[7]
	p.mu.Lock()
	idle := p.idle
	p.mu.Unlock()
	if idle != 4 {
		t.Errorf("after four batches at once the pool has %d threads, want 4", idle)
	}
	for range 10 {
		niceOf(7)
	}
	p.mu.Lock()
	idle = p.idle
	p.mu.Unlock()
	if idle != 4 {
		t.Errorf("batches one after another grew the pool to %d threads, want it to stay 4", idle)
	}
	// a panic comes back to the caller
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the batch's panic", r)
			}
		}()
		runNiced(7, func() { panic("boom") })
	}()
	if got := niceOf(7); got != min(base+7, 19) {
		t.Errorf("after a panic: ran at nice %d", got)
	}
	// a new goroutine runs at the process's priority: no lowered thread
	// went back to Go's threads
	for range 20 {
		ch := make(chan int)
		go func() { n, _ := threadNice(); ch <- n }()
		if n := <-ch; n != base {
			t.Fatalf("a goroutine ran on a thread at nice %d, want %d", n, base)
		}
	}
}
