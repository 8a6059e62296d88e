package state

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// runIDLayout is fixed-width UTC so that run IDs sort by start time as
// plain strings (and as directory names).
const runIDLayout = "20060102T150405.000000Z"

var runIDRE = regexp.MustCompile(`^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{10}$`)

// NewRunID returns a run ID for a run starting at t: the UTC start time to
// the microsecond, then 40 random bits, e.g. 20261122T043707.123456Z-9f3ab2c1d0.
// It sorts by start time and is unique across hosts and processes without
// coordination. (Hand-written rather than a ULID so that analysts can read
// the time in a directory listing.)
func NewRunID(t time.Time) string {
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on Linux
	}
	return t.UTC().Format(runIDLayout) + "-" + hex.EncodeToString(b[:])
}

// ValidRunID reports whether s has the form NewRunID produces; paths are
// built from run IDs, so anything else is refused.
func ValidRunID(s string) bool { return runIDRE.MatchString(s) }

// RunIDTime returns the start time encoded in a run ID.
func RunIDTime(id string) (time.Time, error) {
	if !ValidRunID(id) {
		return time.Time{}, fmt.Errorf("bad run id %q", id)
	}
	return time.Parse(runIDLayout, id[:len(runIDLayout)])
}
