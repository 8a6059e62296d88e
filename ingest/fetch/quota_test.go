package fetch

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestQuotaHeadersPauseEveryGoroutine: once an answer says no requests
// remain, no request of the source reaches the server before the reset, from
// any goroutine or (with QuotaDir) any other process; then all succeed.
func TestQuotaHeadersPauseEveryGoroutine(t *testing.T) {
	const pause = 60 * time.Second
	tests := []struct {
		name    string
		headers func(now time.Time) map[string]string
		shared  bool // the callers use a second Client on the same QuotaDir
	}{
		{"github x-ratelimit", func(now time.Time) map[string]string {
			return map[string]string{
				"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
				"X-RateLimit-Reset": strconv.FormatInt(now.Add(pause).Unix(), 10),
			}
		}, false},
		{"ietf ratelimit draft", func(now time.Time) map[string]string {
			return map[string]string{"RateLimit": "limit=100, remaining=0, reset=60"}
		}, false},
		{"ietf ratelimit structured", func(now time.Time) map[string]string {
			return map[string]string{"RateLimit": `"default";r=0;t=60`, "RateLimit-Policy": `"default";q=100;w=60`}
		}, false},
		{"ietf ratelimit-remaining", func(now time.Time) map[string]string {
			return map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": "60"}
		}, false},
		{"x-ratelimit seen by another process", func(now time.Time) map[string]string {
			return map[string]string{
				"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(now.Add(pause).Unix(), 10),
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock(t)
			var mu sync.Mutex
			var resetAt time.Time
			var during atomic.Int64
			srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				now := clk.Now()
				w.Header().Set("Date", now.Format(http.TimeFormat))
				if n == 1 {
					mu.Lock()
					resetAt = now.Add(pause)
					mu.Unlock()
					for k, v := range tt.headers(now) {
						w.Header().Set(k, v)
					}
					writeJSON(w, 200, `{"page":1}`)
					return
				}
				mu.Lock()
				early := now.Before(resetAt)
				mu.Unlock()
				if early {
					during.Add(1)
					writeJSON(w, 429, `{"message":"API rate limit exceeded"}`)
					return
				}
				w.Header().Set("X-RateLimit-Remaining", "4000")
				writeJSON(w, 200, `{}`)
			})
			dir := ""
			if tt.shared {
				dir = t.TempDir()
			}
			first := newTestClient(t, clk, Options{Source: "gh", QuotaDir: dir})
			ctx := testContext(t)
			if _, err := first.Do(ctx, Request{URL: srv.URL}); err != nil {
				t.Fatalf("first Do: %v", err)
			}
			callers := first
			if tt.shared {
				callers = newTestClient(t, clk, Options{Source: "gh", QuotaDir: dir})
			}
			var wg sync.WaitGroup
			var failed atomic.Int64
			for range 20 {
				wg.Go(func() {
					if _, err := callers.Do(ctx, Request{URL: srv.URL}); err != nil {
						failed.Add(1)
					}
				})
			}
			wg.Wait()
			if got := during.Load(); got != 0 {
				t.Errorf("%d requests reached the server during the pause, want 0", got)
			}
			if failed.Load() != 0 || hits.Load() != 21 {
				t.Errorf("failed %d, server hits %d; want 0 and 21", failed.Load(), hits.Load())
			}
			if callers.Stats().QuotaWaits == 0 {
				t.Error("Stats().QuotaWaits = 0, want the callers to have waited")
			}
		})
	}
}

// TestRemainingCountdownNeverExceedsUpstreamQuota: with 50 callers and an
// upstream budget of 20 per window, the client stops when its conservative
// count of remaining requests reaches zero and resumes after the reset; the
// upstream never has to refuse anything.
func TestRemainingCountdownNeverExceedsUpstreamQuota(t *testing.T) {
	const budget, window = 20, 30 * time.Second
	clk := newFakeClock(t)
	var mu sync.Mutex
	var left int
	var windowEnd time.Time
	var refused atomic.Int64
	srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		now := clk.Now()
		mu.Lock()
		if !now.Before(windowEnd) {
			left, windowEnd = budget, now.Add(window)
		}
		ok := left > 0
		if ok {
			left--
		}
		rem, reset := left, int(windowEnd.Sub(now)/time.Second)
		mu.Unlock()
		w.Header().Set("RateLimit", "limit="+strconv.Itoa(budget)+", remaining="+strconv.Itoa(rem)+", reset="+strconv.Itoa(reset))
		if !ok {
			refused.Add(1)
			writeJSON(w, 429, `{"error":"quota"}`)
			return
		}
		time.Sleep(time.Millisecond) // let requests overlap
		writeJSON(w, 200, `{}`)
	})
	c := newTestClient(t, clk, Options{Concurrency: 5})
	ctx := testContext(t)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 50 {
		wg.Go(func() {
			if _, err := c.Do(ctx, Request{URL: srv.URL}); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if refused.Load() != 0 || failed.Load() != 0 {
		t.Errorf("upstream refused %d requests, %d calls failed; want 0, 0", refused.Load(), failed.Load())
	}
	if hits.Load() != 50 {
		t.Errorf("server hits = %d, want 50", hits.Load())
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter func(now time.Time) string
		want       time.Duration
	}{
		{"429 delta seconds", 429, func(time.Time) string { return "7" }, 7 * time.Second},
		{"503 delta seconds", 503, func(time.Time) string { return "12" }, 12 * time.Second},
		{"429 http date", 429, func(now time.Time) string { return now.Add(20 * time.Second).Format(http.TimeFormat) }, 20 * time.Second},
		{"503 http date", 503, func(now time.Time) string { return now.Add(45 * time.Second).Format(http.TimeFormat) }, 45 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock(t)
			var mu sync.Mutex
			var arrivals []time.Time
			srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				now := clk.Now()
				mu.Lock()
				arrivals = append(arrivals, now)
				mu.Unlock()
				w.Header().Set("Date", now.Format(http.TimeFormat))
				if n == 1 {
					w.Header().Set("Retry-After", tt.retryAfter(now))
					writeJSON(w, tt.status, `{"error":"later"}`)
					return
				}
				writeJSON(w, 200, `{}`)
			})
			c := newTestClient(t, clk, Options{})
			resp, err := c.Do(testContext(t), Request{URL: srv.URL})
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if resp.Attempts != 2 || len(arrivals) != 2 {
				t.Fatalf("attempts %d arrivals %d, want 2", resp.Attempts, len(arrivals))
			}
			if gap := arrivals[1].Sub(arrivals[0]); gap < tt.want {
				t.Errorf("retried after %s, want at least %s", gap, tt.want)
			}
		})
	}
}

func TestQuotaPauseLongerThanMaxWaitFailsWithoutSending(t *testing.T) {
	srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		w.Header().Set("Retry-After", "7200")
		writeJSON(w, 429, `{"error":"daily quota used up"}`)
	})
	c := newTestClient(t, newFakeClock(t), Options{Source: "rmis", MaxWait: time.Hour})
	_, err := c.Do(testContext(t), Request{URL: srv.URL})
	var qe *QuotaExhaustedError
	if !errors.As(err, &qe) || !errors.Is(err, ErrQuotaExhausted) {
		t.Fatalf("err = %v, want *QuotaExhaustedError", err)
	}
	if qe.Source != "rmis" || qe.Until.Sub(clockStart) != 2*time.Hour {
		t.Errorf("error = %+v", qe)
	}
	if hits.Load() != 1 {
		t.Errorf("server hits = %d, want 1", hits.Load())
	}
	// A second call fails fast too: the pause is remembered.
	if _, err := c.Do(testContext(t), Request{URL: srv.URL}); !errors.Is(err, ErrQuotaExhausted) || hits.Load() != 1 {
		t.Errorf("second Do: err %v, hits %d", err, hits.Load())
	}
}

// TestClientBudget: the client-side RateLimit holds for one Client
// (golang.org/x/time/rate) and for two Clients sharing a QuotaDir, which is
// how two processes share it. The server checks, at every arrival, that no
// more requests came than the budget allows since the start:
// burst + elapsed/interval. Two Clients on separate directories break that
// bound, which shows the check can fail.
func TestClientBudget(t *testing.T) {
	const requests = 10
	per := time.Second
	interval := per / requests
	tests := []struct {
		name          string
		clients       int
		sharedDir     bool
		wantViolation bool
	}{
		{"one client in-process limiter", 1, false, false},
		{"one client with quota dir", 1, true, false},
		{"two processes same quota dir", 2, true, false},
		{"two processes separate dirs (control)", 2, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock(t)
			start := clk.Now()
			var count, violations atomic.Int64
			srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				got := count.Add(1)
				allowed := 1 + int64(clk.Now().Sub(start)/interval)
				if got > allowed {
					violations.Add(1)
				}
				writeJSON(w, 200, `{}`)
			})
			shared := t.TempDir()
			ctx := testContext(t)
			var wg sync.WaitGroup
			var failed atomic.Int64
			for i := range tt.clients {
				dir := ""
				switch {
				case tt.sharedDir:
					dir = shared
				case tt.clients > 1:
					dir = t.TempDir()
				}
				c := newTestClient(t, clk, Options{Source: "api", QuotaDir: dir, Concurrency: 4,
					RateLimit: &RateLimit{Requests: requests, Per: per}})
				_ = i
				for range 15 {
					wg.Go(func() {
						if _, err := c.Do(ctx, Request{URL: srv.URL}); err != nil {
							failed.Add(1)
						}
					})
				}
			}
			wg.Wait()
			if failed.Load() != 0 {
				t.Fatalf("%d calls failed", failed.Load())
			}
			if got := violations.Load() > 0; got != tt.wantViolation {
				t.Errorf("budget exceeded = %v (%d arrivals over budget), want %v", got, violations.Load(), tt.wantViolation)
			}
		})
	}
}

// TestSharedBudgetHoldsUnderLateWakeups simulates workers sharing one budget
// on a loaded machine: every sleep overruns by up to 40 ms and every request
// reaches the upstream up to 30 ms after it was admitted. No window of the
// budget's length, anywhere, may hold more requests than the budget at the
// upstream. (With no pacing margin it fails: a late request and an on-time
// one put budget+1 requests in one window.)
func TestSharedBudgetHoldsUnderLateWakeups(t *testing.T) {
	tests := []struct {
		name    string
		limit   RateLimit
		workers int
	}{
		{"10 per second, 4 workers", RateLimit{Requests: 10, Per: time.Second}, 4},
		{"3 per second, 8 workers", RateLimit{Requests: 3, Per: time.Second}, 8},
		{"50 per second, burst 5, 4 workers", RateLimit{Requests: 50, Per: time.Second, Burst: 5}, 4},
		{"100 per minute, 3 workers", RateLimit{Requests: 100, Per: time.Minute}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tt.workers)))
			jitter := func(d time.Duration) time.Duration { return time.Duration(rng.Int64N(int64(d))) }
			var s quotaState
			base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			clock := make([]time.Time, tt.workers)
			for i := range clock {
				clock[i] = base.Add(jitter(10 * time.Millisecond))
			}
			var arrivals []time.Time
			for len(arrivals) < 30*tt.limit.Requests {
				w := 0 // the worker whose next step comes first
				for i := range clock {
					if clock[i].Before(clock[w]) {
						w = i
					}
				}
				wait, ok := s.takeSlot(clock[w], tt.limit)
				if ok {
					arrivals = append(arrivals, clock[w].Add(jitter(30*time.Millisecond)))
					clock[w] = clock[w].Add(jitter(5 * time.Millisecond))
					continue
				}
				clock[w] = clock[w].Add(wait + jitter(40*time.Millisecond))
			}
			slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
			allowed := tt.limit.Requests + max(tt.limit.Burst, 1) - 1
			for i, j := 0, 0; i < len(arrivals); i++ {
				for j < len(arrivals) && arrivals[j].Sub(arrivals[i]) < tt.limit.Per {
					j++
				}
				if j-i > allowed {
					t.Fatalf("%d requests reached the upstream in the %s from %s, budget %d", j-i, tt.limit.Per, arrivals[i].Sub(base), allowed)
				}
			}
			span := arrivals[len(arrivals)-1].Sub(arrivals[0])
			rate := float64(len(arrivals)-1) / span.Seconds() * tt.limit.Per.Seconds()
			t.Logf("%d requests, %.2f per %s (budget %d)", len(arrivals), rate, tt.limit.Per, tt.limit.Requests)
		})
	}
}

// lockWaitStore is a memStore whose every update first waits wait for
// the lock (another holder has it), on the test's clock.
type lockWaitStore struct {
	memStore
	clock  *time.Time
	wait   time.Duration
	heldAt time.Time // when the last update got the lock
}

func (s *lockWaitStore) update(fn func(*quotaState)) error {
	*s.clock = s.clock.Add(s.wait)
	s.heldAt = *s.clock
	return s.memStore.update(fn)
}

// TestSlotIsTakenWhenTheStateIsHeld: the shared budget's slot is taken
// against the time the quota state is held, not a time read before
// waiting for its lock. Otherwise a request admitted after a long lock
// wait gets a slot in the past, leaves that much after it, and reaches
// the upstream bunched with the next holder's on-time request.
func TestSlotIsTakenWhenTheStateIsHeld(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	limit := RateLimit{Requests: 8, Per: time.Second}
	st := &lockWaitStore{clock: &clock, wait: 300 * time.Millisecond}
	c := &Client{source: "s", store: st, now: func() time.Time { return clock }, rateLimit: &limit, breaker: Breaker{}.withDefaults()}
	for i := range 3 {
		d, slotWait, err := c.gateWithSlot()
		if err != nil || d.lock != nil || d.wait > 0 || slotWait > 0 {
			t.Fatalf("request %d: %+v, slot wait %s, %v: want it admitted", i+1, d, slotWait, err)
		}
		if slot := st.st.NextSlot.Add(-limit.interval()); !slot.Equal(st.heldAt) {
			t.Errorf("request %d: slot at %s, the state was held at %s: want the slot taken then", i+1,
				slot.Format("15:04:05.000"), st.heldAt.Format("15:04:05.000"))
		}
	}
}
