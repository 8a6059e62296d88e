package pgstore

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawland/rawland/ingest/fetch"
)

var _ fetch.QuotaBackend = (*Store)(nil)

// TestQuotaSharedAcrossWorkers runs four clients of one source, each with
// its own store (its own connection pool, like a worker on another host),
// against one upstream, on the real clock. Every arrival must fit the one
// budget: at most 2 + elapsed/interval requests since the start. Four
// separate budgets would let about four times that through.
func TestQuotaSharedAcrossWorkers(t *testing.T) {
	server(t)
	const perSec, workers, each = 20, 4, 8
	interval := time.Second / perSec
	var mu sync.Mutex
	var start time.Time
	var count, over atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		elapsed := time.Since(start)
		mu.Unlock()
		if count.Add(1) > 2+int64(elapsed/interval) {
			over.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	defer up.Close()
	first := openFresh(t)
	var clients []*fetch.Client
	for i := range workers {
		s, err := Open(t.Context(), Options{DSN: baseDSN, Schema: first.Schema(), Host: fmt.Sprintf("worker-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c, err := fetch.New(fetch.Options{Source: "shared-api", QuotaBackend: s, Concurrency: 3,
			RateLimit: &fetch.RateLimit{Requests: perSec, Per: time.Second}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	mu.Lock()
	start = time.Now()
	mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range clients {
		for range each {
			wg.Go(func() {
				if _, err := c.Do(ctx, fetch.Request{URL: up.URL}); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	if got := count.Load(); got != workers*each {
		t.Errorf("upstream saw %d requests, want %d", got, workers*each)
	}
	if over.Load() != 0 {
		t.Errorf("%d arrivals exceeded the shared budget of %d/s", over.Load(), perSec)
	}
	var n int
	if err := first.pool.QueryRow(t.Context(), `SELECT count(*) FROM quota WHERE source = 'shared-api' AND length(state) > 0`).Scan(&n); err != nil || n != 1 {
		t.Errorf("quota row: %d, %v", n, err)
	}
}
