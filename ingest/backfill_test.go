package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/state"
)

// rangeFeed is an upstream that needs both ends of a range: GET
// /things?since=A&until=B[&token=N] returns the records with A <= updated_at
// < B, oldest first, two per page, as {"records": [...], "has_more": bool,
// "next": token}. It checks every request's range and can stop the client
// at a chosen request or truncate a chosen one.
type rangeFeed struct {
	mu       sync.Mutex
	t        *testing.T
	updated  []time.Time // record i+1 was updated at updated[i]
	requests []string    // "since until token" of every request
	bad      []string    // requests whose range was wrong
	lastEnd  time.Time   // the until of the last slice started
	window   time.Duration
	onReq    func(n int) // called with the request number (1-based)
	truncAt  int         // answer this request number with has_more true and no token
}

func newRangeFeed(t *testing.T, t0 time.Time, days int, window time.Duration) *rangeFeed {
	f := &rangeFeed{t: t, window: window}
	for d := 0; d < days; d++ {
		for _, h := range []int{0, 5, 13, 23} { // one record exactly at midnight: the slice boundary
			f.updated = append(f.updated, t0.Add(time.Duration(d)*24*time.Hour+time.Duration(h)*time.Hour))
		}
	}
	return f
}

func (f *rangeFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	q := r.URL.Query()
	f.requests = append(f.requests, q.Get("since")+" "+q.Get("until")+" "+q.Get("token"))
	n := len(f.requests)
	since, err1 := time.Parse(time.RFC3339Nano, q.Get("since"))
	until, err2 := time.Parse(time.RFC3339Nano, q.Get("until"))
	switch {
	case err1 != nil || err2 != nil:
		f.bad = append(f.bad, fmt.Sprintf("request %d: since/until not RFC 3339: %v", n, q))
	case !until.After(since) || until.Sub(since) > f.window:
		f.bad = append(f.bad, fmt.Sprintf("request %d: range %s … %s is not one window", n, since, until))
	case q.Get("token") == "" && !f.lastEnd.IsZero() && !since.Equal(f.lastEnd):
		f.bad = append(f.bad, fmt.Sprintf("request %d: slice starts at %s, not where the last ended (%s)", n, since, f.lastEnd))
	}
	if q.Get("token") == "" {
		f.lastEnd = until
	}
	hook, trunc := f.onReq, f.truncAt == n
	var ids []int
	for i, u := range f.updated {
		if !u.Before(since) && u.Before(until) {
			ids = append(ids, i+1)
		}
	}
	f.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	off, _ := strconv.Atoi(q.Get("token"))
	end := min(off+2, len(ids))
	var recs []map[string]any
	for _, id := range ids[min(off, len(ids)):end] {
		recs = append(recs, map[string]any{"id": id, "updated_at": f.updated[id-1].Format("2006-01-02 15:04:05+0000")})
	}
	body := map[string]any{"records": recs, "has_more": end < len(ids), "next": nil}
	if end < len(ids) {
		body["next"] = strconv.Itoa(end)
	}
	if trunc {
		body["has_more"], body["next"] = true, nil
	}
	json.NewEncoder(w).Encode(body)
}

const windowCfg = `
sources:
  api: {base_url: "{{URL}}"}
streams:
  things:
    source: api
    path: /things
    records: records
    primary_key: [id]
    schema: schemas/things.json
    pagination: {type: cursor, next: next, param: token, has_more: has_more}
    cursor: {field: updated_at, param: since, end_param: until, start: "2024-01-01T00:00:00Z", end: "2024-01-11T00:00:00Z", window: 1d}
`

// landedIDs returns the ids of every committed run, sorted, and the runs.
func (e *env) landedIDs(stream string) ([]int, []state.Run) {
	recs, runs := e.allCommitted(stream)
	got := ids(e.t, recs)
	sort.Ints(got)
	return got, runs
}

func TestWindowBackfillResumesAfterCancel(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	feed := newRangeFeed(t, t0, 10, 24*time.Hour)
	srv := httptest.NewServer(feed)
	defer srv.Close()
	e := newEnv(t, windowCfg, srv.URL)

	// 10 slices of 4 records, 2 pages each: cancel during the first
	// request of slice 5 (request 9)
	ctx, cancel := context.WithCancel(context.Background())
	feed.onReq = func(n int) {
		if n == 9 {
			cancel()
		}
	}
	res, err := ingest.Stream(ctx, e.opts(state.KindIngest), e.cfg.Streams["things"])
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled backfill: %v", err)
	}
	if len(res.Runs) != 5 || res.Runs[4].Status == state.StatusCommitted {
		t.Fatalf("want 4 committed slices and the 5th not committed, got %+v", res.Runs)
	}
	cur, _ := e.store.Cursor(t.Context(), "things")
	if cur != "2024-01-05T00:00:00Z" {
		t.Fatalf("saved cursor after cancel = %q, want the end of the 4th slice", cur)
	}
	got, runs := e.landedIDs("things")
	if len(got) != 16 || len(runs) != 4 {
		t.Fatalf("after cancel: %d records in %d runs, want 16 in 4", len(got), len(runs))
	}
	for i, r := range runs {
		want := t0.Add(time.Duration(i+1) * 24 * time.Hour).Format(time.RFC3339)
		if r.CursorAfter != want || !r.Complete {
			t.Errorf("slice %d: cursor %q complete %v, want %q", i+1, r.CursorAfter, r.Complete, want)
		}
	}

	// resume: slices 5 … 10, then nothing left to do
	feed.onReq = nil
	feed.mu.Lock()
	feed.lastEnd = time.Time{}
	feed.mu.Unlock()
	res = e.run("things")
	if len(res.Runs) != 6 || res.Run.CursorAfter != "2024-01-11T00:00:00Z" {
		t.Fatalf("resume: %d runs, cursor %q", len(res.Runs), res.Run.CursorAfter)
	}
	got, _ = e.landedIDs("things")
	if len(got) != 40 {
		t.Fatalf("landed %d records, want 40", len(got))
	}
	for i, id := range got {
		if id != i+1 {
			t.Fatalf("records not exactly once: %v", got)
		}
	}
	again, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["things"])
	if err != nil || again.Skipped == "" {
		t.Fatalf("a finished backfill must skip: %+v %v", again, err)
	}
	feed.mu.Lock()
	defer feed.mu.Unlock()
	if len(feed.bad) > 0 {
		t.Fatalf("bad requests: %v", feed.bad)
	}
	// 10 slices × 2 pages, plus the cancelled request: the minimum
	if len(feed.requests) != 21 {
		t.Fatalf("%d requests, want 21: %v", len(feed.requests), feed.requests)
	}
}

func TestWindowBackfillStopsAtTruncatedSlice(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	feed := newRangeFeed(t, t0, 10, 24*time.Hour)
	feed.truncAt = 6 // the second page of slice 3 says has_more without a token
	srv := httptest.NewServer(feed)
	defer srv.Close()
	e := newEnv(t, windowCfg, srv.URL)
	res, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["things"])
	var te *ingest.TruncatedError
	if !errors.As(err, &te) {
		t.Fatalf("want a TruncatedError, got %v", err)
	}
	if len(res.Runs) != 3 || res.Runs[2].Complete || res.Runs[2].Status != state.StatusCommitted {
		t.Fatalf("want 2 complete slices and a partial third: %+v", res.Runs)
	}
	cur, _ := e.store.Cursor(t.Context(), "things")
	if cur != "2024-01-03T00:00:00Z" {
		t.Fatalf("cursor = %q: a truncated slice must not move it", cur)
	}
	if n := len(feed.requests); n != 6 {
		t.Fatalf("the backfill went on after the truncated slice: %d requests", n)
	}
}

func TestCursorEndCapsTheRun(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tl := newTimeline(10, t0) // record i updated at t0 + i hours; ignores until
	srv := httptest.NewServer(tl)
	defer srv.Close()
	cfg := `
sources:
  api: {base_url: "{{URL}}"}
streams:
  things:
    source: api
    path: /things
    primary_key: [id]
    schema: schemas/things.json
    cursor: {field: updated_at, param: since, start: "2024-01-01T00:00:00Z", end: "2024-01-01T05:30:00Z"}
`
	e := newEnv(t, cfg, srv.URL)
	first := e.run("things")
	if got := ids(t, e.landed("things", first.Run.ID)); fmt.Sprint(got) != "[1 2 3 4 5]" {
		t.Fatalf("landed %v, want the records up to end", got)
	}
	if first.Run.CursorAfter != "2024-01-01T05:30:00Z" {
		t.Fatalf("cursor after = %q, want end", first.Run.CursorAfter)
	}
	second, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["things"])
	if err != nil || second.Skipped == "" || len(tl.since) != 1 {
		t.Fatalf("a run at end must skip without a request: %+v %v (%d requests)", second, err, len(tl.since))
	}
}
