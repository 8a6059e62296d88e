package transform

import (
	"runtime"
	"sync"
)

// Validation workers at a lower priority. The load is a pipeline on two
// cores: the workers (two) convert records into Arrow batches, DuckDB
// appends and compresses them on one thread, which every record passes.
// With three busy threads on two cores the kernel gave each two thirds of
// a core, and DuckDB's thread waited 0.5 s per 1M users to run. The
// workers' batches therefore run on threads of their own at
// transform.worker_nice steps of nice below the process (default 10), so
// that DuckDB's thread runs whenever it can, and the workers take the
// rest: its wait fell to 0.1 s, the transform took 0.93–0.95 of the time.
//
// The threads live as long as the process, locked to goroutines that never
// exit (runNiced hands them the batches). Linux lets no unprivileged
// thread raise its priority back, so a lowered thread must not return to
// Go's pool of threads; and a thread Go ends (a locked goroutine that
// exits) takes with it every child process started from that thread with
// a parent-death signal (SysProcAttr.Pdeathsig is per thread): the tests'
// PostgreSQL server died that way when the workers' threads ended with
// each load. There are at most as many as batches ever ran at once (the
// largest Options.Workers), idle between loads.

// nicePool is the threads for one priority.
type nicePool struct {
	delta int
	tasks chan niceTask
	mu    sync.Mutex
	idle  int // goroutines free for a task (reserved by submit)
}

// niceTask is a function to run, and where its panic (or nil) goes.
type niceTask struct {
	f    func()
	done chan any
}

var (
	nicePoolsMu sync.Mutex
	nicePools   = map[int]*nicePool{}
)

// runNiced runs f on a thread delta steps of nice below the process and
// returns when f has; a panic in f is raised again here. With delta <= 0
// (or where thread priorities are not known) f runs on the caller's
// goroutine.
func runNiced(delta int, f func()) {
	if delta <= 0 || !canLowerThreads {
		f()
		return
	}
	nicePoolsMu.Lock()
	p := nicePools[delta]
	if p == nil {
		p = &nicePool{delta: delta, tasks: make(chan niceTask)}
		nicePools[delta] = p
	}
	nicePoolsMu.Unlock()
	t := niceTask{f: f, done: make(chan any, 1)}
	p.mu.Lock()
	if p.idle == 0 {
		p.idle++
		go p.loop() // lives as long as the process: see above
	}
	p.idle--
	p.mu.Unlock()
	p.tasks <- t
	if r := <-t.done; r != nil {
		panic(r)
	}
}

// loop is one of the pool's goroutines: locked to its thread, which it
// lowers, for good.
func (p *nicePool) loop() {
	runtime.LockOSThread()
	lowerThisThread(p.delta)
	for t := range p.tasks {
		r := p.run(t.f)
		p.mu.Lock()
		p.idle++ // free again before the caller hears: its next batch can come here
		p.mu.Unlock()
		t.done <- r
	}
}

// run runs f and returns its panic, or nil.
func (p *nicePool) run(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}
