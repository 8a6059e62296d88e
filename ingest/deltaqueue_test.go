package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/state"
)

// queue is a delta-queue upstream like RMIS: GET /delta?limit= leases IDs,
// GET /records/{id}, POST /delta/clear. IDs listed and not cleared within
// the deadline are queued again and counted as re-deliveries.
type queue struct {
	mu          sync.Mutex
	pending     []int             // queued, not leased
	leased      map[int]time.Time // listed at
	deadline    time.Duration
	redelivered int
	cleared     map[int]int
	fail        map[int]int // id → status it always answers
	latency     func(n int) time.Duration
	fetches     int
}

func newQueue(n int, deadline time.Duration) *queue {
	q := &queue{leased: map[int]time.Time{}, deadline: deadline, cleared: map[int]int{}, fail: map[int]int{}}
	for i := 1; i <= n; i++ {
		q.pending = append(q.pending, i)
	}
	return q
}

// expire re-queues leased IDs older than the deadline.
func (q *queue) expire(now time.Time) {
	for id, at := range q.leased {
		if now.Sub(at) > q.deadline {
			delete(q.leased, id)
			q.pending = append(q.pending, id)
			q.redelivered++
		}
	}
}

func (q *queue) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/delta":
		q.mu.Lock()
		q.expire(time.Now())
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		n := min(limit, len(q.pending))
		ids := q.pending[:n]
		q.pending = append([]int(nil), q.pending[n:]...)
		for _, id := range ids {
			q.leased[id] = time.Now()
		}
		q.mu.Unlock()
		b, _ := json.Marshal(map[string][]int{"ids": ids})
		w.Write(b)
	case strings.HasPrefix(r.URL.Path, "/records/"):
		id, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/records/"))
		q.mu.Lock()
		q.fetches++
		n := q.fetches
		status := q.fail[id]
		q.mu.Unlock()
		if q.latency != nil {
			time.Sleep(q.latency(n))
		}
		if status != 0 {
			http.Error(w, `{"message":"nope"}`, status)
			return
		}
		fmt.Fprintf(w, `{"id":%d,"insured":"Carrier \u00e9 %d","limit":1000000.10}`, id, id)
	case r.URL.Path == "/delta/clear" && r.Method == http.MethodPost:
		var body struct{ IDs []int }
		json.NewDecoder(r.Body).Decode(&body)
		q.mu.Lock()
		q.expire(time.Now())
		for _, id := range body.IDs {
			if _, ok := q.leased[id]; ok {
				delete(q.leased, id)
				q.cleared[id]++
			}
		}
		q.mu.Unlock()
		w.Write([]byte(`{"ok":true}`))
	default:
		http.NotFound(w, r)
	}
}

const queueCfg = `
sources:
  rmis: {base_url: "{{URL}}", concurrency: 5, retry: {max_attempts: 2, initial_backoff: 1ms, max_backoff: 5ms}}
streams:
  certificates:
    source: rmis
    kind: delta_queue
    delta_queue:
      list:  {path: /delta, ids: ids, limit_param: limit}
      fetch: {path: "/records/{id}"}
      clear: {method: POST, path: /delta/clear, ids: ids}
      batch: 300
      deadline: DEADLINE
    primary_key: [id]
    schema: schemas/certificates.json
`

// TestDeltaQueueDrainsWithinDeadline drains a queue whose fetch latency
// spikes 13-fold in bursts, with a 1 s deadline (a fixed batch of 300 would
// take about 2 s): every ID lands once
// per listing, is cleared, and nothing is re-delivered; permanently failing
// IDs end in the DLQ and are cleared too.
func TestDeltaQueueDrainsWithinDeadline(t *testing.T) {
	q := newQueue(300, time.Second)
	q.fail[17], q.fail[42] = 404, 500
	q.latency = func(n int) time.Duration {
		if n%50 < 20 { // bursts of twenty slow fetches
			return 80 * time.Millisecond
		}
		return 6 * time.Millisecond
	}
	srv := httptest.NewServer(q)
	defer srv.Close()
	e := newEnv(t, strings.Replace(queueCfg, "DEADLINE", "1s", 1), srv.URL)
	res := e.run("certificates")
	if q.redelivered != 0 {
		t.Fatalf("%d IDs were re-delivered: a cycle overran its deadline", q.redelivered)
	}
	if len(q.pending) != 0 || len(q.leased) != 0 || len(q.cleared) != 300 {
		t.Fatalf("queue not drained: pending %d, leased %d, cleared %d", len(q.pending), len(q.leased), len(q.cleared))
	}
	recs, runs := e.allCommitted("certificates")
	got := map[int]bool{}
	for _, id := range ids(t, recs) {
		got[id] = true
	}
	if len(got) != 298 || got[17] || got[42] {
		t.Fatalf("landed %d distinct records (want 298, without 17 and 42)", len(got))
	}
	if len(runs) < 2 || len(res.Runs) != len(runs) {
		t.Fatalf("want one committed run per cycle, got %d runs (result says %d)", len(runs), len(res.Runs))
	}
	dlq, _ := e.store.ListDLQ(context.Background(), "certificates")
	if len(dlq) != 2 {
		t.Fatalf("dlq = %+v, want IDs 17 and 42", dlq)
	}
	for _, d := range dlq {
		if (d.ID != "17" || d.Status != 404) && (d.ID != "42" || d.Status != 500) || !strings.Contains(d.URL, "/records/") {
			t.Errorf("dead letter %+v", d)
		}
	}
	// the upstream recovers: replay lands them as a new run and empties the DLQ
	q.mu.Lock()
	q.fail = map[int]int{}
	q.mu.Unlock()
	rr, left, err := ingest.ReplayDLQ(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["certificates"])
	if err != nil || left != 0 || rr.Run.Records != 2 {
		t.Fatalf("replay: %+v left %d err %v", rr.Run, left, err)
	}
	if dlq, _ := e.store.ListDLQ(context.Background(), "certificates"); len(dlq) != 0 {
		t.Fatalf("dlq after replay = %+v", dlq)
	}
}

// TestDeltaQueueRequestErrorsFailWithoutClearing: a 403 (credential or
// permission) or a fetch path that 404s for every ID is not the records'
// fault: the stream fails, nothing is dead-lettered, nothing is cleared.
func TestDeltaQueueRequestErrorsFailWithoutClearing(t *testing.T) {
	cases := []struct {
		name, fetchPath string
		status          int
	}{
		{"forbidden", "/records/{id}", 403},
		{"bad request", "/records/{id}", 400},
		{"fetch path typo", "/nope/{id}", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := newQueue(30, time.Minute)
			for id := 1; id <= 30; id++ {
				if tc.status != 0 {
					q.fail[id] = tc.status
				}
			}
			srv := httptest.NewServer(q)
			defer srv.Close()
			cfg := strings.Replace(queueCfg, "DEADLINE", "10s", 1)
			cfg = strings.Replace(cfg, `"/records/{id}"`, `"`+tc.fetchPath+`"`, 1)
			e := newEnv(t, cfg, srv.URL)
			_, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["certificates"])
			if err == nil {
				t.Fatal("the stream succeeded")
			}
			if len(q.cleared) != 0 {
				t.Fatalf("%d IDs were cleared: their records never landed", len(q.cleared))
			}
			if dlq, _ := e.store.ListDLQ(context.Background(), "certificates"); len(dlq) != 0 {
				t.Fatalf("%d IDs dead-lettered for a request problem", len(dlq))
			}
		})
	}
}

// TestDLQReplayUsesCurrentConfig: entries dead-lettered under a broken
// fetch path are fetched from the corrected one on replay.
func TestDLQReplayUsesCurrentConfig(t *testing.T) {
	q := newQueue(3, time.Minute)
	srv := httptest.NewServer(q)
	defer srv.Close()
	e := newEnv(t, strings.Replace(queueCfg, "DEADLINE", "10s", 1), srv.URL)
	e.store.PutDLQ(context.Background(), []state.DLQEntry{{Stream: "certificates", RunID: state.NewRunID(time.Now()), ID: "2",
		URL: srv.URL + "/nope/2", Error: "404", Status: 404, Attempts: 1}})
	res, left, err := ingest.ReplayDLQ(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["certificates"])
	if err != nil || left != 0 || res.Run.Records != 1 {
		t.Fatalf("replay: %+v, %d left, %v", res.Run, left, err)
	}
}
