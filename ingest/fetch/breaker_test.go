package fetch

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBreakerOpensOnPersistentRefusalsThenSendsNothing(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"429", 429, `{"error":"too many requests"}`},
		{"403 disabled", 403, `{"message":"API key disabled due to excessive usage"}`},
		{"403 quota", 403, `{"message":"Daily quota exceeded"}`},
		{"401 rejected credentials", 401, `{"message":"invalid credentials"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				w.Header().Set("X-Request-Id", "req-7")
				writeJSON(w, tt.status, tt.body)
			})
			c := newTestClient(t, newFakeClock(t), Options{Source: "rmis", Retry: Retry{MaxAttempts: 10}})
			ctx := testContext(t)
			// 401s are not retried: each Do is one strike.
			var err error
			for range 3 {
				if _, err = c.Do(ctx, Request{URL: srv.URL}); errors.Is(err, ErrLockout) {
					break
				}
			}
			var le *LockoutError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want *LockoutError", err)
			}
			if le.Source != "rmis" || le.Strikes != 3 || le.LastStatus != tt.status || le.TrackingID != "req-7" {
				t.Errorf("lockout = %+v", le)
			}
			if msg := le.Error(); !strings.Contains(msg, `"rmis"`) || !strings.Contains(msg, "locked out") || !strings.Contains(msg, "Check the upstream") {
				t.Errorf("message lacks source or advice: %s", msg)
			}
			if hits.Load() != 3 {
				t.Errorf("server hits = %d, want 3", hits.Load())
			}
			for range 5 {
				if _, err := c.Do(ctx, Request{URL: srv.URL}); !errors.Is(err, ErrLockout) {
					t.Fatalf("Do after lockout: err = %v, want ErrLockout", err)
				}
			}
			if hits.Load() != 3 || c.Stats().Refused < 5 {
				t.Errorf("after lockout: hits %d, refused %d; want 3 and >= 5", hits.Load(), c.Stats().Refused)
			}
		})
	}
}

// TestBreakerConcurrentCallers: 20 goroutines refused together count as one
// strike per wave, the source pauses between waves, and once the breaker is
// open nothing more is sent.
func TestBreakerConcurrentCallers(t *testing.T) {
	const concurrency = 5
	srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		time.Sleep(time.Millisecond)
		writeJSON(w, 429, `{}`)
	})
	c := newTestClient(t, newFakeClock(t), Options{Concurrency: concurrency})
	ctx := testContext(t)
	var wg sync.WaitGroup
	var locked atomic.Int64
	for range 20 {
		wg.Go(func() {
			if _, err := c.Do(ctx, Request{URL: srv.URL}); errors.Is(err, ErrLockout) {
				locked.Add(1)
			}
		})
	}
	wg.Wait()
	if locked.Load() != 20 {
		t.Errorf("%d of 20 calls got ErrLockout", locked.Load())
	}
	// At most one wave of in-flight requests per strike.
	if got := hits.Load(); got > DefaultBreakerThreshold*concurrency {
		t.Errorf("server hits = %d, want at most %d", got, DefaultBreakerThreshold*concurrency)
	}
	before := hits.Load()
	if _, err := c.Do(ctx, Request{URL: srv.URL}); !errors.Is(err, ErrLockout) || hits.Load() != before {
		t.Errorf("after lockout: err %v, new hits %d", err, hits.Load()-before)
	}
}

func TestBreakerIsSharedThroughQuotaDir(t *testing.T) {
	srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		writeJSON(w, 429, `{}`)
	})
	clk := newFakeClock(t)
	dir := t.TempDir()
	a := newTestClient(t, clk, Options{Source: "rmis", QuotaDir: dir})
	ctx := testContext(t)
	if _, err := a.Do(ctx, Request{URL: srv.URL}); !errors.Is(err, ErrLockout) {
		t.Fatalf("err = %v, want ErrLockout", err)
	}
	sent := hits.Load()
	b := newTestClient(t, clk, Options{Source: "rmis", QuotaDir: dir}) // another process
	_, err := b.Do(ctx, Request{URL: srv.URL})
	var le *LockoutError
	if !errors.As(err, &le) || hits.Load() != sent {
		t.Fatalf("second process: err %v, new hits %d; want LockoutError and none", err, hits.Load()-sent)
	}
	if le.StateFile != QuotaFile(dir, "rmis") || !strings.Contains(le.Error(), le.StateFile) {
		t.Errorf("StateFile = %q, message %q", le.StateFile, le.Error())
	}
}

func TestBreakerProbesAfterCooldown(t *testing.T) {
	tests := []struct {
		name        string
		recovered   bool
		wantErr     error
		wantNewHits int64
	}{
		{"probe succeeds, breaker closes", true, nil, 3},
		{"probe refused, breaker reopens", false, ErrLockout, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ok atomic.Bool
			srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				if ok.Load() {
					writeJSON(w, 200, `{}`)
					return
				}
				writeJSON(w, 429, `{}`)
			})
			clk := newFakeClock(t)
			c := newTestClient(t, clk, Options{Breaker: Breaker{Cooldown: 10 * time.Minute}})
			ctx := testContext(t)
			if _, err := c.Do(ctx, Request{URL: srv.URL}); !errors.Is(err, ErrLockout) {
				t.Fatalf("err = %v, want ErrLockout", err)
			}
			before := hits.Load()
			clk.Advance(10*time.Minute + time.Second)
			ok.Store(tt.recovered)
			var err error
			for range 3 {
				if _, err = c.Do(ctx, Request{URL: srv.URL}); err != nil {
					break
				}
			}
			if !errors.Is(err, tt.wantErr) && !(tt.wantErr == nil && err == nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if got := hits.Load() - before; got != tt.wantNewHits {
				t.Errorf("new server hits = %d, want %d", got, tt.wantNewHits)
			}
		})
	}
}

func TestBreakerIgnoresNonConsecutiveRefusals(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if n%2 == 1 {
			writeJSON(w, 429, `{}`)
			return
		}
		writeJSON(w, 200, `{}`)
	})
	c := newTestClient(t, newFakeClock(t), Options{})
	ctx := testContext(t)
	for i := range 10 {
		if _, err := c.Do(ctx, Request{URL: srv.URL}); err != nil {
			t.Fatalf("Do %d: %v", i, err)
		}
	}
	if s := c.Stats(); s.TooManyRequests != 10 || s.Refused != 0 {
		t.Errorf("stats = %+v", s)
	}
}
