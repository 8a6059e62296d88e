package pgstore

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/rawland/rawland/ingest/fetch"
	"github.com/rawland/rawland/internal/pgtest"
)

// The quota figures: how long one shared-quota update takes, and how many
// upstream requests per second one PostgreSQL arbitrates for one source.
// They run against their own server with fsync on (PostgreSQL's default):
//
//	go test -tags duckdb_arrow -run '^$' -bench Quota -benchtime 3s ./state/pgstore

var (
	durableOnce sync.Once
	durableDSN  string
	durableErr  error
)

func durableServer(b *testing.B) string {
	durableOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var s *pgtest.Server
		if s, durableErr = pgtest.StartWith(ctx, pgtest.Options{Fsync: true}); durableErr == nil {
			durableDSN, durableErr = s.NewDB(ctx)
			// stopped with the process (Pdeathsig)
		}
	})
	if durableErr != nil {
		b.Skipf("PostgreSQL: %v", durableErr)
	}
	return durableDSN
}

// payload is the size of a typical quota state (JSON).
var payload = []byte(fmt.Sprintf(`{"version":1,"source":"api","next_slot":"%s","remaining":0,"state":"closed"}`, time.Now().Format(time.RFC3339Nano)))

func BenchmarkQuotaUpdate(b *testing.B) {
	dsn := durableServer(b)
	for _, par := range []int{1, 4, 16} {
		for _, sources := range []int{1, 16} {
			if par == 1 && sources > 1 {
				continue
			}
			b.Run(fmt.Sprintf("goroutines=%d/sources=%d", par*runtime.GOMAXPROCS(0), sources), func(b *testing.B) {
				s, err := Open(b.Context(), Options{DSN: dsn, Schema: "bench", MaxConns: int32(par * runtime.GOMAXPROCS(0))})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				var mu sync.Mutex
				next := 0
				b.SetParallelism(par)
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					mu.Lock()
					src := fmt.Sprintf("api-%d", next%sources)
					next++
					mu.Unlock()
					for pb.Next() {
						if err := s.UpdateQuota(context.Background(), src, func(old []byte) ([]byte, error) {
							out := append([]byte(nil), payload...)
							out[len(out)-3] ^= 1 // a change: every update writes
							if len(old) > 0 && old[len(old)-3] == out[len(out)-3] {
								out[len(out)-3] ^= 1
							}
							return out, nil
						}); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
			})
		}
	}
}

// BenchmarkQuotaArbitratedRequests sends real requests through fetch
// clients that share one source's quota in PostgreSQL (a budget far above
// what is reached, so PostgreSQL is the bound): requests/s per worker count.
func BenchmarkQuotaArbitratedRequests(b *testing.B) {
	dsn := durableServer(b)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	defer up.Close()
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var clients []*fetch.Client
			for i := range workers {
				s, err := Open(b.Context(), Options{DSN: dsn, Schema: "bench", Host: fmt.Sprintf("w%d", i)})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				c, err := fetch.New(fetch.Options{Source: fmt.Sprintf("arb-%d", b.N), QuotaBackend: s, Concurrency: 4,
					RateLimit: &fetch.RateLimit{Requests: 1_000_000, Per: time.Second, Burst: 1000}, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					b.Fatal(err)
				}
				clients = append(clients, c)
			}
			var mu sync.Mutex
			next := 0
			b.SetParallelism(4)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				mu.Lock()
				c := clients[next%workers]
				next++
				mu.Unlock()
				for pb.Next() {
					if _, err := c.Do(context.Background(), fetch.Request{URL: up.URL}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "requests/s")
		})
	}
}
