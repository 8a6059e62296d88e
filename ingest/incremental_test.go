package ingest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// timeline is an upstream whose records carry updated_at; GET /things?since=
// returns records updated strictly after since, oldest first.
type timeline struct {
	mu      sync.Mutex
	updated map[int]time.Time
	version map[int]int
	since   []string // since params received
}

func newTimeline(n int, t0 time.Time) *timeline {
	tl := &timeline{updated: map[int]time.Time{}, version: map[int]int{}}
	for i := 1; i <= n; i++ {
		tl.updated[i] = t0.Add(time.Duration(i) * time.Hour)
	}
	return tl
}

func (tl *timeline) touch(id int, at time.Time) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.updated[id], tl.version[id] = at, tl.version[id]+1
}

func (tl *timeline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	since := r.URL.Query().Get("since")
	tl.since = append(tl.since, since)
	var from time.Time
	if since != "" {
		var err error
		if from, err = time.Parse(time.RFC3339Nano, since); err != nil {
			http.Error(w, `{"message":"bad since"}`, 400)
			return
		}
	}
	var ids []int
	for id, u := range tl.updated {
		if since == "" || u.After(from) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return tl.updated[ids[i]].Before(tl.updated[ids[j]]) })
	var out []string
	for _, id := range ids {
		out = append(out, fmt.Sprintf(`{"id":%d,"version":%d,"updated_at":"%s"}`, id, tl.version[id], tl.updated[id].UTC().Format(time.RFC3339)))
	}
	fmt.Fprint(w, "["+strings.Join(out, ",")+"]")
}

const timelineCfg = `
sources:
  api: {base_url: "{{URL}}"}
streams:
  things:
    source: api
    path: /things
    primary_key: [id]
    cursor: {field: updated_at, param: since, start: "2020-01-01T00:00:00Z", lookback: LOOKBACK}
    schema: schemas/things.json
`

func ids(t *testing.T, recs []string) []int {
	t.Helper()
	var out []int
	for _, r := range recs {
		var v struct{ ID int }
		if err := json.Unmarshal([]byte(r), &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.ID)
	}
	return out
}

func TestIncrementalLandsOnlyChanges(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tl := newTimeline(5, t0)
	srv := httptest.NewServer(tl)
	defer srv.Close()
	e := newEnv(t, strings.Replace(timelineCfg, "LOOKBACK", "0s", 1), srv.URL)

	first := e.run("things")
	if first.Run.Records != 5 || first.Run.CursorAfter != "2024-01-01T05:00:00Z" || first.Run.CursorBefore != "" {
		t.Fatalf("first run: %+v", first.Run)
	}
	if tl.since[0] != "2020-01-01T00:00:00Z" {
		t.Errorf("first run sent since=%q, want the configured start", tl.since[0])
	}
	tl.touch(2, t0.Add(10*time.Hour))
	tl.touch(4, t0.Add(11*time.Hour))
	second := e.run("things")
	if got := ids(t, e.landed("things", second.Run.ID)); fmt.Sprint(got) != "[2 4]" {
		t.Fatalf("second run landed ids %v, want [2 4]", got)
	}
	if second.Run.CursorBefore != first.Run.CursorAfter || second.Run.CursorAfter != "2024-01-01T11:00:00Z" {
		t.Fatalf("second run cursor %q → %q", second.Run.CursorBefore, second.Run.CursorAfter)
	}
	third := e.run("things")
	if third.Run.Records != 0 || third.Run.CursorAfter != second.Run.CursorAfter {
		t.Fatalf("nothing new should commit an empty run that keeps the cursor: %+v", third.Run)
	}
	if c, _ := e.store.Cursor(t.Context(), "things"); c != "2024-01-01T11:00:00Z" {
		t.Fatalf("stored cursor = %q", c)
	}
	// the empty run is committed and its directory is a valid (empty) landing
	m, err := os.ReadFile(filepath.Join(e.zone.RawDir("things", third.Run.ID), "manifest.json"))
	if err != nil || !strings.Contains(string(m), `"records": 0`) {
		t.Fatalf("empty run manifest: %v %s", err, m)
	}
}

func TestIncrementalLookbackRereadsWindow(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tl := newTimeline(5, t0)
	srv := httptest.NewServer(tl)
	defer srv.Close()
	e := newEnv(t, strings.Replace(timelineCfg, "LOOKBACK", "90m", 1), srv.URL)
	e.run("things")
	// a late arrival: record 3 changes but its timestamp lands inside the window
	tl.touch(3, t0.Add(4*time.Hour+30*time.Minute))
	second := e.run("things")
	if tl.since[1] != "2024-01-01T03:30:00Z" {
		t.Errorf("second run sent since=%q, want cursor minus 90m", tl.since[1])
	}
	got := ids(t, e.landed("things", second.Run.ID))
	if fmt.Sprint(got) != "[4 3 5]" {
		t.Fatalf("second run landed %v, want the window [4 3 5]", got)
	}
	if second.Run.CursorAfter != "2024-01-01T05:00:00Z" {
		t.Fatalf("cursor after = %q: a look-back must never move the cursor backwards", second.Run.CursorAfter)
	}
}
