package mockapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// statuses requests path n times in sequence and returns the statuses (0
// for a transport error).
func statuses(t *testing.T, c *http.Client, u string, n int) []int {
	t.Helper()
	out := make([]int, n)
	for i := range out {
		if r, err := do(c, http.MethodGet, u, nil); err == nil {
			out[i] = r.status
		}
	}
	return out
}

// fresh is a client that never reuses connections, so a reset or a cut
// body cannot spill into the next request.
func fresh() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

func TestTransientErrors(t *testing.T) {
	_, ts := start(t, Options{Seed: 1, Size: 20, Faults: Faults{ErrorRate: 1, RetryAfter: 3 * time.Second}})
	kinds := map[int]int{}
	dates := 0
	for range 40 {
		r := get(t, ts.Client(), ts.URL+"/users")
		kinds[r.status]++
		ra := r.header.Get("Retry-After")
		if secs, err := strconv.Atoi(ra); err == nil {
			if secs != 3 {
				t.Errorf("Retry-After %q, want 3", ra)
			}
		} else if _, err := http.ParseTime(ra); err == nil {
			dates++
		} else {
			t.Errorf("Retry-After %q is neither seconds nor an HTTP date", ra)
		}
		if !json.Valid(r.body) {
			t.Errorf("body %q is not JSON", r.body)
		}
	}
	if kinds[503] == 0 || kinds[429] == 0 || kinds[503]+kinds[429] != 40 {
		t.Errorf("statuses %v, want only 503 and 429, both", kinds)
	}
	if dates == 0 || dates == 40 {
		t.Errorf("%d of 40 Retry-After were HTTP dates, want some", dates)
	}
}

func TestFaultRateIsDeterministic(t *testing.T) {
	run := func() []int {
		_, ts := start(t, Options{Seed: 8, Size: 20, Faults: Faults{ErrorRate: 0.3}})
		return statuses(t, ts.Client(), ts.URL+"/orders", 200)
	}
	a, b := run(), run()
	fails := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("request %d: status %d then %d with the same seed", i, a[i], b[i])
		}
		if a[i] != 200 {
			fails++
		}
	}
	if fails < 30 || fails > 90 { // 30% of 200
		t.Errorf("%d of 200 requests failed at rate 0.3", fails)
	}
}

func TestConnectionReset(t *testing.T) {
	s, ts := start(t, Options{Seed: 1, Size: 20, Faults: Faults{ResetRate: 1}})
	_, err := do(fresh(), http.MethodGet, ts.URL+"/products", nil)
	if err == nil {
		t.Fatal("request succeeded, want a transport error")
	}
	if st := s.Stats(); st.Faults[FaultReset] != 1 || st.ByStatus[0] != 1 {
		t.Errorf("faults %v, statuses %v", st.Faults, st.ByStatus)
	}
}

func TestTruncatedBodies(t *testing.T) {
	s, ts := start(t, Options{Seed: 1, Size: 50, Faults: Faults{TruncateRate: 1}})
	eofs, invalid := 0, 0
	for range 20 {
		r, err := do(fresh(), http.MethodGet, ts.URL+"/tickets", nil)
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			eofs++
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		case r.status == 200 && !json.Valid(r.body):
			invalid++
		default:
			t.Errorf("status %d with a whole body", r.status)
		}
	}
	if eofs == 0 || invalid == 0 {
		t.Errorf("%d short reads and %d cut JSON bodies, want both kinds", eofs, invalid)
	}
	if got := s.Stats().Faults[FaultTruncate]; got != 20 {
		t.Errorf("counted %d truncations, want 20", got)
	}
	// Errors are not truncated: the client must see why it failed.
	if r := get(t, ts.Client(), ts.URL+"/users?page=0"); r.status != 400 || !json.Valid(r.body) {
		t.Errorf("400 body %q was cut", r.body)
	}
}

func TestHTMLErrorPages(t *testing.T) {
	_, ts := start(t, Options{Seed: 1, Size: 20, Faults: Faults{HTMLErrorRate: 1}})
	codes := map[int]bool{}
	for range 20 {
		r := get(t, ts.Client(), ts.URL+"/events")
		codes[r.status] = true
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "<html>") {
			t.Errorf("status %d %s: %q", r.status, r.header.Get("Content-Type"), r.body)
		}
	}
	if !codes[502] || !codes[500] || len(codes) != 2 {
		t.Errorf("statuses %v, want 502 and 500", codes)
	}
}

func TestFaultPathsFilter(t *testing.T) {
	_, ts := start(t, Options{Seed: 1, Size: 20, Faults: Faults{ErrorRate: 1, Paths: []string{"/records"}}})
	if r := get(t, ts.Client(), ts.URL+"/users"); r.status != 200 {
		t.Errorf("/users: status %d, want 200 (not a faulty path)", r.status)
	}
	if r := get(t, ts.Client(), ts.URL+"/records/1"); r.status == 200 {
		t.Errorf("/records/1: status 200, want an injected fault")
	}
}

func TestTrackingIDIsUnique(t *testing.T) {
	_, ts := start(t, Options{Seed: 1, Size: 5, Token: "t"})
	seen := map[string]bool{}
	for _, p := range []string{"/users", "/users", "/nope", "/records/1", "/delta", "/users"} {
		r := get(t, ts.Client(), ts.URL+p) // 401s carry one too
		id := r.header.Get(TrackingHeader)
		if id == "" || seen[id] {
			t.Fatalf("%s: tracking ID %q missing or repeated", p, id)
		}
		seen[id] = true
	}
}

func TestLatencySpikes(t *testing.T) {
	s, ts := start(t, Options{Seed: 1, Size: 5, Faults: Faults{Latency: time.Millisecond, Jitter: time.Millisecond, SpikeEvery: 3, SpikeLatency: 2 * time.Millisecond}})
	statuses(t, ts.Client(), ts.URL+"/countries", 9)
	if got := s.Stats().Faults[FaultSpike]; got != 3 {
		t.Errorf("%d spikes in 9 requests, want 3", got)
	}
}

func TestLatencyRespectsContext(t *testing.T) {
	s, ts := start(t, Options{Seed: 1, Size: 5, Faults: Faults{Latency: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/users", nil)
	if _, err := ts.Client().Do(req); err == nil {
		t.Fatal("request returned before its deadline")
	}
	// The handler must notice the client left and return, or it holds the
	// server (and ts.Close) for an hour.
	for i := 0; s.Stats().InFlight > 0; i++ {
		if i > 500 {
			t.Fatal("handler still sleeping after the client left")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConcurrencyAccounting(t *testing.T) {
	const n = 5
	s, ts := start(t, Options{Seed: 1, Size: 20, Faults: Faults{Latency: 300 * time.Millisecond, Paths: []string{"/users"}, MaxConcurrent: n}})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := do(ts.Client(), http.MethodGet, ts.URL+"/users", nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	get(t, ts.Client(), ts.URL+"/orders")
	st := s.Stats()
	if st.MaxInFlight < 2 || st.MaxInFlight > n || st.MaxInFlightByPath["/users"] != st.MaxInFlight || st.MaxInFlightByPath["/orders"] != 1 {
		t.Errorf("max in flight %d, by path %v", st.MaxInFlight, st.MaxInFlightByPath)
	}
	if st.ByPath["/users"] != n || st.ByStatus[200] != n+1 || st.Faults[FaultConcurrency] != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestMaxConcurrent(t *testing.T) {
	s, ts := start(t, Options{Seed: 1, Size: 20, Faults: Faults{Latency: 300 * time.Millisecond, MaxConcurrent: 1}})
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		wg.Go(func() {
			r, err := do(ts.Client(), http.MethodGet, ts.URL+"/users", nil)
			if err != nil {
				t.Error(err)
			}
			codes[i] = r.status
		})
	}
	wg.Wait()
	limited := 0
	for _, c := range codes {
		if c == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 || int64(limited) != s.Stats().Faults[FaultConcurrency] {
		t.Errorf("statuses %v, %d counted", codes, s.Stats().Faults[FaultConcurrency])
	}
}
