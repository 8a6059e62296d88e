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
)

// EnvVar names the point to crash at.
const EnvVar = "RAWLAND_CRASHPOINT"

var (
	once   sync.Once
	target string
	nth    int
	mu     sync.Mutex
	counts = map[string]int{}
)

func load() {
	v := os.Getenv(EnvVar)
	if v == "" {
		return
	}
	name, n, _ := strings.Cut(v, ":")
	target, nth = name, 1
	if n != "" {
		if k, err := strconv.Atoi(n); err == nil && k > 0 {
			nth = k
		}
	}
}

// Hit marks that the process reached point name; it kills the process if
// this is the configured point and occurrence.
func Hit(name string) {
	once.Do(load)
	if target == "" || name != target {
		return
	}
	mu.Lock()
	counts[name]++
	c := counts[name]
	mu.Unlock()
	if c == nth {
		fmt.Fprintf(os.Stderr, "crashpoint: SIGKILL at %s:%d\n", name, c)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never returns
	}
}
