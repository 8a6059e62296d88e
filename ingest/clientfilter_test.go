package ingest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// unfilteredFeed ignores any since parameter: GET /events?page=N&per_page=M
// returns every record, newest first (desc) or oldest first, each with a
// Unix-milliseconds ts.
type unfilteredFeed struct {
	mu       sync.Mutex
	t0       time.Time
	n        int
	desc     bool
	requests int
}

func (f *unfilteredFeed) ts(id int) int64 {
	return f.t0.Add(time.Duration(id) * time.Minute).UnixMilli()
}

func (f *unfilteredFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	size, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	ids := make([]int, f.n)
	for i := range ids {
		ids[i] = i + 1
	}
	if f.desc {
		sort.Sort(sort.Reverse(sort.IntSlice(ids)))
	}
	lo, hi := min((page-1)*size, len(ids)), min(page*size, len(ids))
	var out []string
	for _, id := range ids[lo:hi] {
		out = append(out, fmt.Sprintf(`{"id":%d,"ts":%d}`, id, f.ts(id)))
	}
	fmt.Fprint(w, "["+strings.Join(out, ",")+"]")
}

func (f *unfilteredFeed) add(n int) (requestsSoFar int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n += n
	return f.requests
}

const clientFilterCfg = `
sources:
  api: {base_url: "{{URL}}"}
streams:
  events:
    source: api
    path: /events
    primary_key: [id]
    schema: schemas/events.json
    pagination: {type: page, param: page, size_param: per_page, size: 10}
    cursor: {field: ts, format: unix_ms, filter: client, order: ORDER}
`

func TestClientFilterDescStopsEarly(t *testing.T) {
	feed := &unfilteredFeed{t0: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), n: 95, desc: true}
	srv := httptest.NewServer(feed)
	defer srv.Close()
	e := newEnv(t, strings.Replace(clientFilterCfg, "ORDER", "desc", 1), srv.URL)

	first := e.run("events")
	if first.Run.Records != 95 || feed.requests != 10 {
		t.Fatalf("first run: %d records in %d requests, want 95 in 10", first.Run.Records, feed.requests)
	}
	wantCursor := time.UnixMilli(feed.ts(95)).UTC().Format(time.RFC3339)
	if first.Run.CursorAfter != wantCursor {
		t.Fatalf("cursor = %q, want %q", first.Run.CursorAfter, wantCursor)
	}

	cases := []struct {
		name         string
		add          int
		wantIDs      string
		wantRequests int // the minimum: up to the first page that reaches back to the cursor
	}{
		{"12 new records over two pages", 12, "[107 106 105 104 103 102 101 100 99 98 97 96]", 2},
		{"nothing new", 0, "[]", 1},
		{"a full page of new records exactly", 10, "[117 116 115 114 113 112 111 110 109 108]", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := feed.add(tc.add)
			res := e.run("events")
			got := ids(t, e.landed("events", res.Run.ID))
			if fmt.Sprint(got) == "[]" && tc.wantIDs == "[]" {
				got = []int{}
			}
			if fmt.Sprint(got) != tc.wantIDs {
				t.Fatalf("landed %v, want %s", got, tc.wantIDs)
			}
			if n := feed.requests - before; n != tc.wantRequests {
				t.Fatalf("%d requests, want %d", n, tc.wantRequests)
			}
			if !res.Run.Complete {
				t.Fatalf("caught up is an observed end: the run must be complete: %+v", res.Run)
			}
		})
	}
}

func TestClientFilterAscReadsAllLandsNew(t *testing.T) {
	feed := &unfilteredFeed{t0: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), n: 25}
	srv := httptest.NewServer(feed)
	defer srv.Close()
	e := newEnv(t, strings.Replace(clientFilterCfg, "ORDER", "asc", 1), srv.URL)
	e.run("events")
	feed.add(3)
	res := e.run("events")
	if got := ids(t, e.landed("events", res.Run.ID)); fmt.Sprint(got) != "[26 27 28]" {
		t.Fatalf("landed %v, want only the new records", got)
	}
}
