package ingest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDeltaQueuePauseLongerThanCycleIsNotDeadLettered: a fetch answered 503
// with a Retry-After that ends after the cycle's fetch window pauses the
// whole source. The fetches that cannot wait that long were never sent
// (fetch.ErrQuotaExhausted): they must stay queued for a later listing, not
// be dead-lettered and cleared as if they had failed for good.
func TestDeltaQueuePauseLongerThanCycleIsNotDeadLettered(t *testing.T) {
	t.Parallel() // mostly waiting: overlaps with the other upstream-fault tests
	q := newQueue(40, 2*time.Second)
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paused := false
		if r.URL.Path == "/records/3" {
			once.Do(func() { paused = true })
		}
		if paused {
			w.Header().Set("Retry-After", "3") // longer than the 1.6 s the cycle may still fetch
			http.Error(w, `{"message":"maintenance"}`, http.StatusServiceUnavailable)
			return
		}
		q.ServeHTTP(w, r)
	}))
	defer srv.Close()
	e := newEnv(t, strings.Replace(queueCfg, "DEADLINE", "2s", 1), srv.URL)
	e.run("certificates")
	dlq, err := e.store.ListDLQ(context.Background(), "certificates")
	if err != nil {
		t.Fatal(err)
	}
	if len(dlq) != 0 {
		t.Fatalf("%d IDs were dead-lettered (and cleared) although nothing was sent for them: %+v", len(dlq), dlq[0])
	}
	recs, _ := e.allCommitted("certificates")
	got := map[int]bool{}
	for _, id := range ids(t, recs) {
		got[id] = true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(got) != 40 || len(q.pending) != 0 || len(q.leased) != 0 || len(q.cleared) != 40 {
		t.Fatalf("landed %d of 40 IDs; queue: %d pending, %d leased, %d cleared", len(got), len(q.pending), len(q.leased), len(q.cleared))
	}
}
