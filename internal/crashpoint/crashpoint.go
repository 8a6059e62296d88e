// Package crashpoint lets crash-safety tests kill a rawland process at a
// named point of its work. It does nothing unless the environment variable
// RAWLAND_CRASHPOINT names the point ("after_commit", or "after_page:3" for
// the third time the point is reached); then the process sends itself
// SIGKILL there, exactly as a power cut or the OOM killer would stop it.
package crashpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnvVar names the point to crash at.
const EnvVar = "RAWLAND_CRASHPOINT"

// PanicEnvVar names a point to panic at instead ("after_page:2"), on
// whatever goroutine reaches it, so tests can check that a panic anywhere
// ends the process promptly and cleanly.
const PanicEnvVar = "RAWLAND_PANICPOINT"

// StallEnvVar names a point where the process sleeps every time it is
// reached, without looking at any context ("transform_batch=500ms"), so
// tests can stop a process in the middle of slow work.
const StallEnvVar = "RAWLAND_STALLPOINT"

// point is a configured point and the occurrence to act on.
type point struct {
	name string
	nth  int
}

var (
	once     sync.Once
	killAt   point
	panicAt  point
	stallAt  string
	stallFor time.Duration
	mu       sync.Mutex
	counts   = map[string]int{}
	panicked = map[string]int{}
)

func parse(v string) point {
	if v == "" {
		return point{}
	}
	name, n, _ := strings.Cut(v, ":")
	p := point{name: name, nth: 1}
	if n != "" {
		if k, err := strconv.Atoi(n); err == nil && k > 0 {
			p.nth = k
		}
	}
	return p
}

func load() {
	killAt = parse(os.Getenv(EnvVar))
	panicAt = parse(os.Getenv(PanicEnvVar))
	if name, d, ok := strings.Cut(os.Getenv(StallEnvVar), "="); ok {
		stallAt, stallFor = name, 0
		if v, err := time.ParseDuration(d); err == nil {
			stallFor = v
		}
	}
}

// Hit marks that the process reached point name; it kills the process
// (or panics) if this is the configured point and occurrence.
func Hit(name string) {
	once.Do(load)
	if name == stallAt {
		fmt.Fprintf(os.Stderr, "crashpoint: stall at %s for %s\n", name, stallFor)
		time.Sleep(stallFor)
	}
	if name == panicAt.name && reached(panicked, name, panicAt.nth) {
		panic(fmt.Sprintf("crashpoint: injected panic at %s:%d", name, panicAt.nth))
	}
	if name == killAt.name && reached(counts, name, killAt.nth) {
		fmt.Fprintf(os.Stderr, "crashpoint: SIGKILL at %s:%d\n", name, killAt.nth)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never returns
	}
}

func reached(counts map[string]int, name string, nth int) bool {
	mu.Lock()
	defer mu.Unlock()
	counts[name]++
	return counts[name] == nth
}
