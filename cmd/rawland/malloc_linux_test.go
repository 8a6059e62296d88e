//go:build linux && cgo

package main

import (
	"fmt"
	"os"
	"runtime"
	"testing"
)

// TestBaselinesGetGlibcDefaultArenas: the bench's DuckDB-only children get
// glibc's own arena limit (8 per core) unless the user set one, which then
// applies to every child alike.
func TestBaselinesGetGlibcDefaultArenas(t *testing.T) {
	t.Setenv("MALLOC_ARENA_MAX", "")
	if got := duckdbDefaultMalloc(); got != nil {
		t.Errorf("with MALLOC_ARENA_MAX set (even empty): %v, want nil", got)
	}
	t.Setenv("MALLOC_ARENA_MAX", "3")
	if got := duckdbDefaultMalloc(); got != nil {
		t.Errorf("with MALLOC_ARENA_MAX=3: %v, want nil", got)
	}
	unsetEnv(t, "MALLOC_ARENA_MAX")
	want := fmt.Sprintf("MALLOC_ARENA_MAX=%d", 8*runtime.NumCPU())
	if got := duckdbDefaultMalloc(); len(got) != 1 || got[0] != want {
		t.Errorf("unset: %v, want [%s]", got, want)
	}
}

// unsetEnv unsets key for the test (t.Setenv first, so that it is restored).
func unsetEnv(t *testing.T, key string) {
	t.Setenv(key, "")
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}
