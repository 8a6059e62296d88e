package fetch

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	childEnvURL = "RAWLAND_FETCH_CHILD_URL"
	childEnvDir = "RAWLAND_FETCH_CHILD_DIR"
)

// TestCrossProcessBudgetChild is the body of one child process of
// TestCrossProcessBudget; run directly it does nothing.
func TestCrossProcessBudgetChild(t *testing.T) {
	srvURL, dir := os.Getenv(childEnvURL), os.Getenv(childEnvDir)
	if srvURL == "" {
		t.Skip("the body of a child process of TestCrossProcessBudget (testing.Short-independent): nothing to do when run directly")
	}
	c, err := New(Options{Source: "shared-api", QuotaDir: dir, Concurrency: 3,
		RateLimit: &RateLimit{Requests: crossRequests, Per: time.Second},
		Logger:    slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range crossPerChild {
		wg.Go(func() {
			if _, err := c.Do(ctx, Request{URL: srvURL}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

const crossRequests, crossPerChild = 20, 10

// TestCrossProcessBudget runs two real processes (this test binary) sharing
// one QuotaDir against one server, on the real clock. Every arrival must
// fit the combined budget: at most 1 + elapsed/interval requests since the
// children started (plus one for clock granularity). Separate budgets would
// let about twice that through.
func TestCrossProcessBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): spawns processes")
	}
	interval := time.Second / crossRequests
	var mu sync.Mutex
	var start time.Time
	var count, over atomic.Int64
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		mu.Lock()
		elapsed := time.Since(start)
		mu.Unlock()
		if count.Add(1) > 2+int64(elapsed/interval) {
			over.Add(1)
		}
		writeJSON(w, 200, `{}`)
	})
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Second)
	defer cancel()
	mu.Lock()
	start = time.Now()
	mu.Unlock()
	var cmds []*exec.Cmd
	for i := range 2 {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrossProcessBudgetChild$", "-test.count=1", "-test.timeout=25s")
		cmd.Env = append(os.Environ(), childEnvURL+"="+srv.URL, childEnvDir+"="+dir)
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start child %d: %v", i, err)
		}
		cmds = append(cmds, cmd)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("child %d output:\n%s", i, out.String())
			}
		})
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d: %v", i, err)
		}
	}
	if got := count.Load(); got != 2*crossPerChild {
		t.Errorf("server saw %d requests, want %d", got, 2*crossPerChild)
	}
	if over.Load() != 0 {
		t.Errorf("%d arrivals exceeded the combined budget of %d/s", over.Load(), crossRequests)
	}
	if _, err := os.Stat(QuotaFile(dir, "shared-api")); err != nil {
		t.Errorf("quota file: %v", err)
	}
}
