package main

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rawland/rawland/mockapi"
)

// stampHandler records when each request reached the upstream.
type stampHandler struct {
	next http.Handler
	mu   sync.Mutex
	at   []time.Time
}

func (h *stampHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.at = append(h.at, time.Now())
	h.mu.Unlock()
	h.next.ServeHTTP(w, r)
}

// maxInWindow is the most requests that arrived within any span shorter
// than per (a sliding window), and when that window began.
func maxInWindow(at []time.Time, per time.Duration) (int, time.Time) {
	at = slices.Clone(at)
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	best, from, i := 0, time.Time{}, 0
	for j := range at {
		for at[j].Sub(at[i]) >= per {
			i++
		}
		if n := j - i + 1; n > best {
			best, from = n, at[i]
		}
	}
	return best, from
}

// quotaShareCfg: one source with a client-side budget of 20 requests per
// second, four streams of ten records a page.
const quotaShareCfg = `
data_dir: data
lease_ttl: 5s
sources:
  mock:
    base_url: "{{URL}}"
    concurrency: 5
    rate_limit: {requests: 20, per: 1s}
    retry: {max_attempts: 6, initial_backoff: 5ms, max_backoff: 50ms}
    tracking_header: Trackingid
streams:
  users:
    source: mock
    path: /users
    params: {per_page: "10"}
    primary_key: [id]
    pagination: {type: link}
    schema: schemas/users.json
  orders:
    source: mock
    path: /orders
    records: data
    primary_key: [id]
    pagination: {type: offset, param: offset, limit_param: limit, limit: 10}
    schema: schemas/orders.json
  events:
    source: mock
    path: /events
    params: {page_size: "10"}
    records: results
    primary_key: [id]
    pagination: {type: cursor, next: next_cursor, param: cursor, has_more: has_more}
    schema: schemas/events.json
  products:
    source: mock
    path: /products
    records: items
    primary_key: [id]
    pagination: {type: page, param: page, start: 1, size_param: size, size: 10}
    schema: schemas/products.json
`

// TestProcessesShareSourceQuota runs four `rawland ingest` processes at
// once, one stream each, all of one source with rate_limit 20/s and one data
// directory: the budget is one token bucket in data/state shared by the
// processes. The upstream timestamps every request. Asserted:
//   - in any one-second window the upstream saw at most 20 + 2 requests. The
//     allowance: the bucket hands out a slot every 50 ms; a window of one
//     second can hold 20 slots, and a request reaches the server somewhat
//     after its slot (process scheduling, the HTTP round trip), which can
//     bring up to two more into a window when earlier ones were late;
//   - the upstream's own quota (105 per 5 s window, credential disabled at
//     the first violation) was never violated;
//   - the run was long enough for the budget to matter: at least twice the
//     per-second budget (unshared, four processes would send 80/s);
//   - every process succeeded and every record landed.
func TestProcessesShareSourceQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): runs child processes for several seconds")
	}
	const (
		budget, allowance = 20, 2
		per               = time.Second
		size              = 200
	)
	m := mockapi.New(mockapi.Options{Seed: 5, Size: size, Faults: mockapi.Faults{Quota: 105, QuotaWindow: 5 * time.Second, DisableAfter: 1}})
	up := &stampHandler{next: m}
	srv := httptest.NewServer(up)
	defer srv.Close()
	dir := project(t, quotaShareCfg, srv.URL)
	streams := []string{"users", "orders", "events", "products"}

	type result struct {
		stream string
		out    []byte
		err    error
	}
	results := make(chan result, len(streams))
	var cmds []*exec.Cmd
	for _, s := range streams {
		cmd := child(t, dir, nil, "ingest", s)
		cmds = append(cmds, cmd)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			err := cmd.Wait()
			results <- result{s, []byte(out.String()), err}
		}()
	}
	timeout := time.After(90 * time.Second)
	for range streams {
		select {
		case r := <-results:
			if r.err != nil {
				t.Errorf("rawland ingest %s: %v\n%s", r.stream, r.err, r.out)
			}
		case <-timeout:
			for _, c := range cmds {
				c.Process.Kill()
			}
			t.Fatal("the processes did not finish within 90 s")
		}
	}

	up.mu.Lock()
	at := slices.Clone(up.at)
	up.mu.Unlock()
	peak, from := maxInWindow(at, per)
	st := m.Stats()
	if len(at) < 2*budget {
		t.Fatalf("only %d requests: too few for the budget to matter", len(at))
	}
	if peak > budget+allowance {
		t.Errorf("the upstream saw %d requests in the second from %s; the shared budget is %d/s (+%d allowed for delivery jitter)",
			peak, from.Format("15:04:05.000"), budget, allowance)
	}
	if st.QuotaViolations != 0 || st.CredentialDisabled {
		t.Errorf("upstream quota: %d violations, credential disabled %v", st.QuotaViolations, st.CredentialDisabled)
	}
	for _, s := range streams {
		count, _, _ := landedIDs(t, dir, s, true)
		if len(count) != size {
			t.Errorf("%s: %d distinct records landed, want %d", s, len(count), size)
		}
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	span := at[len(at)-1].Sub(at[0])
	t.Logf("%d processes, %d requests in %s (%.1f/s), at most %d in any %s; budget %d/%s",
		len(streams), len(at), span.Round(time.Millisecond), float64(len(at)-1)/span.Seconds(), peak, per, budget, per)
}
