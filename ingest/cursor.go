package ingest

import (
	"fmt"
	"math/big"
	"strings"
	"time"
)

// cursorValue is a high-water mark: an RFC 3339 time or an integer, kept as
// the upstream wrote it.
type cursorValue struct {
	raw  string
	t    time.Time
	n    *big.Int
	kind byte // 't' time, 'n' integer
}

func parseCursor(s string) (cursorValue, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return cursorValue{raw: s, t: t, kind: 't'}, nil
	}
	if n, ok := new(big.Int).SetString(s, 10); ok {
		return cursorValue{raw: s, n: n, kind: 'n'}, nil
	}
	return cursorValue{}, fmt.Errorf("cursor value %q is neither an RFC 3339 time nor an integer", s)
}

// after reports whether c is later than o (values of different kinds never
// compare as later).
func (c cursorValue) after(o cursorValue) bool {
	switch {
	case c.kind == 't' && o.kind == 't':
		return c.t.After(o.t)
	case c.kind == 'n' && o.kind == 'n':
		return c.n.Cmp(o.n) > 0
	}
	return false
}

// param is what to send to the upstream: the cursor minus the look-back
// window for times (in UTC, RFC 3339), the integer itself otherwise.
func (c cursorValue) param(lookback time.Duration) string {
	if c.kind == 't' {
		if lookback == 0 {
			return c.raw
		}
		return c.t.Add(-lookback).UTC().Format(time.RFC3339Nano)
	}
	return c.raw
}

// highWater tracks the largest cursor value seen in a run.
type highWater struct {
	field string
	max   cursorValue
	set   bool
}

func (h *highWater) observe(rec []byte) error {
	if h.field == "" {
		return nil
	}
	s, err := stringAt(validDoc(rec), h.field)
	if err != nil {
		return fmt.Errorf("cursor field %s: %w", h.field, err)
	}
	if s == "" {
		return nil // a record without the field does not move the cursor
	}
	v, err := parseCursor(s)
	if err != nil {
		return fmt.Errorf("cursor field %s: %w", h.field, err)
	}
	if !h.set || v.after(h.max) {
		h.max, h.set = v, true
	}
	return nil
}

// result is the new cursor: the largest of before and what was seen.
func (h *highWater) result(before string) string {
	if !h.set {
		return before
	}
	if before != "" {
		if b, err := parseCursor(before); err == nil && !h.max.after(b) {
			return before
		}
	}
	return h.max.raw
}
