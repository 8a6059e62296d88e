package fetch

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a virtual clock. Sleep blocks until the clock reaches the
// sleeper's target; a driver goroutine jumps the clock to the earliest
// pending target, so time only moves as far as somebody waits for and tests
// of hour-long pauses take milliseconds.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeWaiter
	done    chan struct{}
	stopped chan struct{}
}

type fakeWaiter struct {
	target time.Time
	ch     chan struct{}
}

// clockStart is a whole second, so unix-second headers are exact.
var clockStart = time.Unix(1_700_000_000, 0).UTC()

func newFakeClock(t *testing.T) *fakeClock {
	t.Helper()
	c := &fakeClock{now: clockStart, done: make(chan struct{}), stopped: make(chan struct{})}
	go c.drive()
	t.Cleanup(func() {
		close(c.done)
		<-c.stopped
	})
	return c
}

func (c *fakeClock) drive() {
	defer close(c.stopped)
	tick := time.NewTicker(200 * time.Microsecond)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
			c.step()
		}
	}
}

// step advances the clock to the earliest pending target and wakes every
// sleeper whose target has come.
func (c *fakeClock) step() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiters) == 0 {
		return
	}
	earliest := c.waiters[0].target
	for _, w := range c.waiters[1:] {
		if w.target.Before(earliest) {
			earliest = w.target
		}
	}
	if earliest.After(c.now) {
		c.now = earliest
	}
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.target.After(c.now) {
			kept = append(kept, w)
		} else {
			close(w.ch)
		}
	}
	c.waiters = kept
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (for breaker cooldowns).
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	c.mu.Lock()
	w := &fakeWaiter{target: c.now.Add(d), ch: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		for i, x := range c.waiters {
			if x == w {
				c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
		return ctx.Err()
	}
}

// newTestClient returns a Client on the fake clock that logs nowhere unless
// opts.Logger is set.
func newTestClient(t *testing.T, clk *fakeClock, opts Options) *Client {
	t.Helper()
	if opts.Source == "" {
		opts.Source = "test"
	}
	opts.Sleep, opts.Now = clk.Sleep, clk.Now
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// newServer starts an httptest server on 127.0.0.1 that counts requests.
func newServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int64)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r, hits.Add(1))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func jsonLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
