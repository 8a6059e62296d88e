package mockapi

import (
	"fmt"
	"iter"
	"math"
)

// Op is a kind of upstream change that Mutate simulates.
type Op int

// The upstream changes Mutate can apply.
const (
	// OpAdvance updates n live records (version+1, updated_at moves past
	// every other record) and appends Appended(n) new ones. On certificates
	// it also queues the changed and new IDs on the delta queue.
	OpAdvance Op = iota + 1
	// OpBackdate updates n live records (version+1) but sets updated_at back
	// to created_at, so a `since` filter misses them.
	OpBackdate
	// OpDelete hard-deletes n live records: they vanish from every listing
	// and their fetch answers 404.
	OpDelete
	// OpResurrect brings back n deleted records unchanged (same version and
	// updated_at): only a full listing notices.
	OpResurrect
)

// String names the operation ("advance", "backdate", …).
func (o Op) String() string {
	switch o {
	case OpAdvance:
		return "advance"
	case OpBackdate:
		return "backdate"
	case OpDelete:
		return "delete"
	case OpResurrect:
		return "resurrect"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Mutate applies op to n records of stream and returns the IDs it touched
// (new IDs last). Choices are deterministic from the seed and the sequence
// of mutations so far. It fails with ErrUnknownStream, ErrStaticStream or
// ErrUnknownOp.
func (s *Server) Mutate(stream string, op Op, n int) ([]int64, error) {
	t, ok := s.tables[stream]
	if !ok {
		return nil, fmt.Errorf("mutate %s: %w", stream, ErrUnknownStream)
	}
	if t.def.static != nil {
		return nil, fmt.Errorf("mutate %s: %w", stream, ErrStaticStream)
	}
	s.mutMu.Lock()
	defer s.mutMu.Unlock()
	t.load()
	t.mu.Lock()
	var ids, added []int32
	switch op {
	case OpAdvance:
		clock := int32(math.MinInt32)
		if s.opts.Now != nil {
			clock = toSec(s.opts.Now())
		}
		ids, added = t.advance(n, clock)
		ids = append(ids, added...)
	case OpBackdate:
		ids = t.backdate(n)
	case OpDelete:
		ids = t.remove(n)
	case OpResurrect:
		ids = t.resurrect(n)
	default:
		t.mu.Unlock()
		return nil, fmt.Errorf("mutate %s with %v: %w", stream, op, ErrUnknownOp)
	}
	t.mu.Unlock()
	if op == OpAdvance && stream == StreamCertificates {
		s.dq.enqueue(ids)
	}
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out, nil
}

func (s *Server) mutateAll(op Op, n int) {
	for _, d := range defs {
		if d.static == nil {
			_, _ = s.Mutate(d.name, op, n) // cannot fail: known stream, known op
		}
	}
}

// Advance simulates upstream activity on every stream except countries: n
// existing records are updated (updated_at moves forward, version+1) and
// Appended(n) new records are appended; changed and new certificates are
// queued on the delta queue.
func (s *Server) Advance(n int) { s.mutateAll(OpAdvance, n) }

// Backdate updates n records of every changing stream without moving
// updated_at forward (it is set back to created_at): what incremental reads
// miss and reconcile must catch.
func (s *Server) Backdate(n int) { s.mutateAll(OpBackdate, n) }

// Delete hard-deletes n records of every changing stream.
func (s *Server) Delete(n int) { s.mutateAll(OpDelete, n) }

// Resurrect brings back n deleted records of every changing stream.
func (s *Server) Resurrect(n int) { s.mutateAll(OpResurrect, n) }

// Truth returns the live records of stream as served (compact JSON, one
// fresh slice per record), ordered by (updated_at, id). The set is
// snapshotted when Truth is called. An unknown stream yields nothing.
func (s *Server) Truth(stream string) iter.Seq[[]byte] {
	t, ok := s.tables[stream]
	if !ok {
		return func(func([]byte) bool) {}
	}
	t.load()
	t.mu.RLock()
	refs := t.refs(0, len(t.order))
	t.mu.RUnlock()
	return func(yield func([]byte) bool) {
		r := s.renderer(t.def)
		for _, x := range refs {
			if !yield(r.append(nil, x)) {
				return
			}
		}
	}
}

// Record returns the current JSON of one live record, or false when the
// stream or the ID is unknown or the record was deleted.
func (s *Server) Record(stream string, id int64) ([]byte, bool) {
	t, ok := s.tables[stream]
	if !ok {
		return nil, false
	}
	t.load()
	t.mu.RLock()
	x, ok := t.lookup(id)
	t.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return s.renderer(t.def).append(nil, x), true
}

// Count returns the number of live records of stream (0 when unknown).
func (s *Server) Count(stream string) int {
	t, ok := s.tables[stream]
	if !ok {
		return 0
	}
	t.load()
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.order)
}
