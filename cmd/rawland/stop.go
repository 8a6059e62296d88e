package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sourcegraph/conc/panics"
)

// Exit codes beyond CONTRACT.md's 0, 1, 2 and 75.
const (
	// exitSoftware: an internal error (a panic) ended the command
	// (EX_SOFTWARE from sysexits.h).
	exitSoftware = 70
	// A signal ends the command with 128 + its number, as shells report
	// it: 130 for SIGINT, 143 for SIGTERM.
	exitSignalBase = 128
)

// stopGrace bounds a graceful stop: a command that has not ended this long
// after a signal or a panic is ended at once.
const stopGrace = 10 * time.Second

// crashSafe is what a hard exit costs, for the messages that announce one.
const crashSafe = "the data directory is crash-safe: work not yet committed is discarded and redone by the next run, and a dead process's leases and locks are taken over"

// stopper turns SIGINT/SIGTERM and panics into a prompt end of the
// process. The first signal cancels the command's context: every stage
// stops at its next check, rolls back its transaction and releases its
// leases. A second signal, or a stop that takes longer than grace, exits
// at once (see crashSafe). A panic cancels the context too, so that the
// other goroutines stop while it unwinds to the top-level recover.
type stopper struct {
	cancel context.CancelCauseFunc
	stderr io.Writer
	grace  time.Duration
	exit   func(code int) // os.Exit; tests replace it

	// interactive: SIGINT belongs to an interactive console (it cancels
	// a statement there), so the stopper leaves it alone.
	interactive atomic.Bool

	mu       sync.Mutex
	stopping bool
	code     int // the exit code a hard exit uses
	sig      os.Signal
}

func newStopper(cancel context.CancelCauseFunc, stderr io.Writer, grace time.Duration, exit func(int)) *stopper {
	return &stopper{cancel: cancel, stderr: stderr, grace: grace, exit: exit}
}

// signalCode is the exit code for sig: 128 + its number.
func signalCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return exitSignalBase + int(s)
	}
	return exitFailed
}

// sigName is SIGINT, SIGTERM… (Go's String gives "interrupt", "terminated").
func sigName(sig os.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return sig.String()
}

// watch handles signals until done is closed.
func (s *stopper) watch(sigc <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case sig := <-sigc:
			s.signal(sig)
		}
	}
}

// consoleOwnsInterrupt hands SIGINT to an interactive console (true) or
// back to the stopper (false). A nil stopper (in-process runs) ignores it.
func (s *stopper) consoleOwnsInterrupt(on bool) {
	if s != nil {
		s.interactive.Store(on)
	}
}

// signal handles one SIGINT or SIGTERM.
func (s *stopper) signal(sig os.Signal) {
	if sig == os.Interrupt && s.interactive.Load() {
		return // the console cancels its statement
	}
	s.mu.Lock()
	again := s.stopping
	if s.sig == nil {
		s.sig = sig
	}
	s.mu.Unlock()
	if again {
		fmt.Fprintf(s.stderr, "rawland: second signal (%s): exiting now; %s\n", sigName(sig), crashSafe)
		s.exit(signalCode(sig))
		return
	}
	fmt.Fprintf(s.stderr, "rawland: %s: stopping (rolling back and releasing leases; send it again to exit at once)\n", sigName(sig))
	s.begin(signalCode(sig), fmt.Errorf("stopped by %s", sigName(sig)))
}

// panicked starts a stop after a panic in any goroutine: the others are
// cancelled while the panic unwinds to the top-level recover.
func (s *stopper) panicked(v any) {
	s.begin(exitSoftware, fmt.Errorf("internal error: %v", panicValue(v)))
}

// begin cancels the command and bounds the rest of the stop.
func (s *stopper) begin(code int, cause error) {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return
	}
	s.stopping, s.code = true, code
	s.mu.Unlock()
	s.cancel(cause)
	time.AfterFunc(s.grace, func() {
		fmt.Fprintf(s.stderr, "rawland: still stopping %s later: exiting now; %s\n", s.grace, crashSafe)
		s.exit(code)
	})
}

// interrupted returns the signal that stopped the command, if any.
func (s *stopper) interrupted() os.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sig
}

// panicValue is the original value of a panic that conc re-raised (one
// *panics.Recovered per pool it crossed), and its stack.
func panicValue(v any) any {
	v, _ = unwrapPanic(v)
	return v
}

func unwrapPanic(v any) (any, []byte) {
	var stack []byte
	for {
		r, ok := v.(*panics.Recovered)
		if !ok {
			return v, stack
		}
		v, stack = r.Value, r.Stack
	}
}

// recoverCommand is deferred around a command: a panic becomes exit 70
// with the panic's message (its stack at debug level) instead of a crash
// or a hang.
func (a *app) recoverCommand(code *int) {
	r := recover()
	if r == nil {
		return
	}
	if a.stop != nil {
		a.stop.panicked(r)
	}
	v, stack := unwrapPanic(r)
	if stack == nil {
		stack = debug.Stack()
	}
	fmt.Fprintf(a.stderr, "rawland: internal error: %v (please report)\n", v)
	if a.log != nil {
		a.log.Debug("internal error", "panic", fmt.Sprint(v), "stack", string(stack))
	}
	*code = exitSoftware
}

// guard is deferred at the top of every goroutine cmd/rawland starts
// (conc pool tasks): a panic there cancels the whole command at once,
// then propagates as before (conc re-raises it in Wait).
func (a *app) guard() {
	if r := recover(); r != nil {
		if a.stop != nil {
			a.stop.panicked(r)
		}
		panic(r)
	}
}
