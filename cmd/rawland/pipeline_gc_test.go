package main

import (
	"runtime/debug"
	"testing"
)

// gcPercent reads the collector's target.
func gcPercent() int {
	v := debug.SetGCPercent(100)
	debug.SetGCPercent(v)
	return v
}

// TestTransformGC checks that a transform runs at transformGCPercent and
// puts the previous target back, and leaves it alone when GOGC is set.
func TestTransformGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	restore := transformGC()
	if got := gcPercent(); got != transformGCPercent {
		t.Errorf("during the transform: %d, want %d", got, transformGCPercent)
	}
	restore()
	if got := gcPercent(); got != 100 {
		t.Errorf("after the transform: %d, want 100", got)
	}
	t.Setenv("GOGC", "50")
	debug.SetGCPercent(50)
	restore = transformGC()
	if got := gcPercent(); got != 50 {
		t.Errorf("with GOGC=50: %d during the transform, want 50", got)
	}
	restore()
}
