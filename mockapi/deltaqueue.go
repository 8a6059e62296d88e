package mockapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The certificates delta queue behaves like the RMIS upstream of seeds/000:
//
//	GET  /delta?limit=N    {"ids":[…]}   lease up to N changed IDs (default 100, max 1000)
//	GET  /records/{id}     the record    404 for unknown or deleted IDs
//	POST /delta/clear      {"ids":[…]}   → {"cleared":n}
//
// Listed IDs stay leased for Faults.DeltaDeadline; those not cleared by then
// go back to the front of the queue and are listed again (a re-delivery).
// A change to a leased ID (Advance) queues it again once it is cleared.

const (
	deltaLimit, deltaMaxLimit = 100, 1000
	maxClearBody              = 1 << 20
)

// Per-ID queue state bits.
const (
	qPending uint8 = 1 << iota // waiting in pending or redo
	qLeased                    // listed, lease running
	qListed                    // listed before and not cleared since
	qDirty                     // changed while leased: queue again on clear
)

type lease struct {
	id  int32
	exp time.Time
}

type deltaQueue struct {
	mu       sync.Mutex
	deadline time.Duration
	state    []uint8 // by id-1
	redo     fifo    // expired leases, listed first
	pending  fifo
	leases   []lease // in expiry order; stale entries skipped
	exp      map[int32]time.Time
	npending int

	listed, redelivered, requeued, cleared, late, ignored, fetches int64
}

// fifo is a queue of IDs that may hold stale entries (skipped on pop).
type fifo struct {
	ids  []int32
	head int
}

func (f *fifo) push(id int32) { f.ids = append(f.ids, id) }

func (f *fifo) pop() (int32, bool) {
	if f.head >= len(f.ids) {
		return 0, false
	}
	id := f.ids[f.head]
	f.head++
	if f.head > 1024 && f.head*2 > len(f.ids) {
		f.ids, f.head = append(f.ids[:0:0], f.ids[f.head:]...), 0
	}
	return id, true
}

func newDeltaQueue(n int, deadline time.Duration) *deltaQueue {
	q := &deltaQueue{deadline: deadline, exp: make(map[int32]time.Time)}
	q.grow(int32(n))
	q.pending.ids = make([]int32, 0, n)
	for id := int32(1); id <= int32(n); id++ {
		q.state[id-1] = qPending
		q.pending.push(id)
	}
	q.npending = n
	return q
}

func (q *deltaQueue) grow(id int32) {
	if need := int(id) - len(q.state); need > 0 {
		q.state = append(q.state, make([]uint8, need)...)
	}
}

// enqueue queues changed IDs (a leased one is queued again when cleared).
func (q *deltaQueue) enqueue(ids []int32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, id := range ids {
		q.grow(id)
		st := &q.state[id-1]
		switch {
		case *st&qLeased != 0:
			*st |= qDirty
		case *st&qPending == 0:
			*st |= qPending
			q.pending.push(id)
			q.npending++
		}
	}
}

// expire puts IDs whose lease ran out back at the front of the queue.
func (q *deltaQueue) expire(now time.Time) {
	n := 0
	for ; n < len(q.leases) && !now.Before(q.leases[n].exp); n++ {
		l := q.leases[n]
		if exp, ok := q.exp[l.id]; !ok || !exp.Equal(l.exp) {
			continue // cleared, or leased again since
		}
		delete(q.exp, l.id)
		st := &q.state[l.id-1]
		*st = *st&^(qLeased|qDirty) | qPending
		q.redo.push(l.id)
		q.npending++
		q.requeued++
	}
	q.leases = q.leases[n:]
}

// list leases up to limit IDs.
func (q *deltaQueue) list(now time.Time, limit int) []int32 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.expire(now)
	out := make([]int32, 0, min(limit, q.npending))
	exp := now.Add(q.deadline)
	for _, f := range []*fifo{&q.redo, &q.pending} {
		for len(out) < limit {
			id, ok := f.pop()
			if !ok {
				break
			}
			st := &q.state[id-1]
			if *st&qPending == 0 {
				continue // stale entry
			}
			if *st&qListed != 0 {
				q.redelivered++
			}
			*st = *st&^qPending | qLeased | qListed
			q.npending--
			q.exp[id] = exp
			q.leases = append(q.leases, lease{id: id, exp: exp})
			out = append(out, id)
		}
	}
	q.listed += int64(len(out))
	return out
}

// clear removes IDs from the queue and returns how many were on it.
func (q *deltaQueue) clear(now time.Time, ids []int64) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, id64 := range ids {
		if id64 < 1 || id64 > int64(len(q.state)) || q.state[id64-1]&(qPending|qLeased|qListed) == 0 {
			q.ignored++
			continue
		}
		id := int32(id64)
		st := &q.state[id-1]
		if exp, ok := q.exp[id]; ok && now.After(exp) || !ok && *st&qListed != 0 {
			q.late++ // the lease had run out: the client missed the deadline
		}
		if *st&qPending != 0 {
			q.npending--
		}
		delete(q.exp, id)
		dirty := *st&qDirty != 0
		*st = 0
		if dirty {
			*st = qPending
			q.pending.push(id)
			q.npending++
		}
		n++
	}
	q.cleared += int64(n)
	return n
}

func (q *deltaQueue) snapshot(out *Stats) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out.DeltaListed, out.DeltaRedeliveries, out.DeltaRequeued = q.listed, q.redelivered, q.requeued
	out.DeltaCleared, out.DeltaLateClears, out.DeltaClearIgnored = q.cleared, q.late, q.ignored
	out.DeltaPending, out.DeltaLeased, out.RecordFetches = q.npending, len(q.exp), q.fetches
}

func (s *Server) serveDeltaList(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r.URL.Query(), "limit", deltaLimit, 1, deltaMaxLimit)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ids := s.dq.list(s.now(), limit)
	b := append(make([]byte, 0, 8+8*len(ids)), `{"ids":[`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	writeJSON(w, http.StatusOK, append(b, "]}"...))
}

func (s *Server) serveDeltaClear(w http.ResponseWriter, r *http.Request) {
	ids, err := readClearBody(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "clear body: "+err.Error()+`: send {"ids":[1,2,3]}`)
		return
	}
	n := s.dq.clear(s.now(), ids)
	writeJSON(w, http.StatusOK, fmt.Appendf(nil, `{"cleared":%d}`, n))
}

// readClearBody reads {"ids":[…]}; IDs may be numbers or numeric strings.
func readClearBody(body io.Reader) ([]int64, error) {
	var req struct {
		IDs []json.Number `json:"ids"`
	}
	dec := json.NewDecoder(io.LimitReader(body, maxClearBody))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return nil, err
	}
	if req.IDs == nil {
		return nil, errors.New(`missing "ids"`)
	}
	out := make([]int64, 0, len(req.IDs))
	for _, n := range req.IDs {
		v, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("id %q is not an integer", n.String())
		}
		out = append(out, v)
	}
	return out, nil
}

// serveRecord: GET /records/{id} → one certificate.
func (s *Server) serveRecord(w http.ResponseWriter, r *http.Request) {
	s.dq.mu.Lock()
	s.dq.fetches++
	s.dq.mu.Unlock()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "no record "+strconv.Quote(r.PathValue("id")))
		return
	}
	if code, ok := s.fail[id]; ok {
		writeError(w, code, fmt.Sprintf("record %d: %s", id, http.StatusText(code)))
		return
	}
	body, ok := s.Record(StreamCertificates, id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no record %d", id))
		return
	}
	writeJSON(w, http.StatusOK, body)
}
