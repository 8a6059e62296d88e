//go:build linux && cgo

package main

/*
#include <stdlib.h>
// Weak: mallopt is glibc's; where it is absent (musl) nothing changes.
#pragma weak mallopt
int mallopt(int param, int value);

// A constructor: it runs as the program loads, on its one thread, before
// Go's runtime starts any other (glibc sizes its arena limit once, by the
// time the ninth arena is made; called from Go's init the setting came too
// late and changed nothing). M_ARENA_MAX is -8 in glibc's malloc.h; a
// MALLOC_ARENA_MAX the user set is left as it is.
__attribute__((constructor)) static void rawland_limit_arenas(void) {
	if (mallopt && getenv("MALLOC_ARENA_MAX") == NULL) {
		mallopt(-8, 2);
	}
}
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
)

// rawland lets glibc keep two malloc arenas (the constructor above). glibc
// gives each OS thread that allocates under contention an arena of its
// own, up to 8 per core, and each arena keeps what is freed in it. Go
// runs each cgo call on whichever thread is free, so the C memory of a
// transform (DuckDB's internal structures, which it allocates with
// malloc; the Arrow batches the workers build and DuckDB frees) ended up
// spread over up to 16 arenas: a transform of 10M users peaked at
// 250–254 MiB. With two arenas it peaked at 213–218 MiB, in the same time
// (1M users: the same time and peak). One arena was measured a round
// before: 10 MiB less, but 7 s more system time at 10M, the threads
// waiting for its lock.

// duckdbDefaultMalloc is the environment for a child that measures
// DuckDB alone (bench's read_json baselines): glibc's own arena limit (8
// per core), which that child would otherwise not get, because it is this
// binary. Two arenas slowed DuckDB's multi-threaded read_json_auto, and
// the transform's ratio to it would have gained from that. Nil when the
// user set MALLOC_ARENA_MAX: then every child has theirs.
func duckdbDefaultMalloc() []string {
	if _, set := os.LookupEnv("MALLOC_ARENA_MAX"); set {
		return nil
	}
	return []string{fmt.Sprintf("MALLOC_ARENA_MAX=%d", 8*runtime.NumCPU())}
}
