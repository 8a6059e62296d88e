package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// truncUpstream lists records 1..n three to a page with a cursor and
// has_more. mode "truncate" answers the second page with has_more true and
// an empty token; mode "typo" answers every page without the records path.
type truncUpstream struct {
	mu   sync.Mutex
	n    int
	mode string
}

func (u *truncUpstream) set(n int, mode string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.n, u.mode = n, mode
}

func (u *truncUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	n, mode := u.n, u.mode
	u.mu.Unlock()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []int
	since, _ := time.Parse(time.RFC3339, r.URL.Query().Get("since"))
	for id := 1; id <= n; id++ {
		if !base.Add(time.Duration(id) * time.Minute).Before(since) {
			ids = append(ids, id)
		}
	}
	p, _ := strconv.Atoi(r.URL.Query().Get("p"))
	var recs []string
	for _, id := range ids[min(p*3, len(ids)):min(p*3+3, len(ids))] {
		recs = append(recs, fmt.Sprintf(`{"id":%d,"updated_at":%q}`, id, base.Add(time.Duration(id)*time.Minute).Format(time.RFC3339)))
	}
	more := p*3+3 < len(ids)
	next := `"` + strconv.Itoa(p+1) + `"`
	if !more {
		next = "null"
	}
	key := "data"
	switch {
	case mode == "truncate" && p == 1:
		more, next = true, `""`
	case mode == "typo":
		key = "items"
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{%q:[%s],"next":%s,"has_more":%v}`, key, strings.Join(recs, ","), next, more)
}

// TestTruncatedWalkExitsOneAndMovesNothing: through the CLI, a walk the
// upstream cut short (has_more true, no token) exits 1, keeps the pages
// read, leaves the cursor where it was, and a reconcile run cut short the
// same way marks nothing deleted; a walk that lands nothing before the
// truncation (the records path absent) is a failed run, exit 1.
func TestTruncatedWalkExitsOneAndMovesNothing(t *testing.T) {
	up := &truncUpstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	dir := project(t, `
sources:
  api: {base_url: "{{URL}}", retry: {max_attempts: 1}}
streams:
  items:
    source: api
    path: /items
    records: data
    primary_key: [id]
    cursor: {field: updated_at, param: since, start: "2020-01-01T00:00:00Z"}
    pagination: {type: cursor, next: next, param: p, has_more: has_more}
    schema: schemas/items.json
`, srv.URL)
	os.WriteFile(filepath.Join(dir, "schemas", "items.json"), []byte(`{"type":"object","required":["id","updated_at"],
		"properties":{"id":{"type":"integer"},"updated_at":{"type":"string","format":"date-time"}}}`), 0o644)

	up.set(9, "ok")
	mustRun(t, dir, "run", "--no-reconcile", "items")
	cursor := streamCursor(t, dir)
	if cursor == "" {
		t.Fatal("no cursor after a complete run")
	}

	up.set(15, "truncate")
	code, out, errOut := rawland(t, dir, "ingest", "items")
	if code != exitFailed {
		t.Fatalf("a truncated walk must exit 1, got %d:\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out+errOut, "has_more is true but next is null or empty") {
		t.Errorf("the output does not say why the walk was cut short:\n%s%s", out, errOut)
	}
	if c := streamCursor(t, dir); c != cursor {
		t.Fatalf("a truncated walk moved the cursor from %q to %q", cursor, c)
	}
	last := lastRun(t, dir)
	if last.Status != "committed" || last.Complete || last.Records != 6 {
		t.Fatalf("truncated run = %+v; want its 6 records committed, not complete", last)
	}

	up.set(15, "typo")
	if code, out, errOut := rawland(t, dir, "ingest", "items"); code != exitFailed {
		t.Fatalf("a walk that lands nothing and finds no records path must exit 1, got %d:\n%s%s", code, out, errOut)
	}
	if last := lastRun(t, dir); last.Status != "failed" || !strings.Contains(last.Error, `no "data"`) {
		t.Fatalf("run without records path = %+v; want failed, naming the path", last)
	}

	// every upstream record is in the table; a snapshot cut short after two
	// pages must not mark the other records deleted
	mustRun(t, dir, "transform")
	up.set(15, "truncate")
	code, out, errOut = rawland(t, dir, "reconcile", "items")
	if code != exitFailed {
		t.Fatalf("a truncated reconcile must exit 1, got %d:\n%s%s", code, out, errOut)
	}
	db, err := sql.Open("duckdb", filepath.Join(dir, "data", "warehouse.duckdb")+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, deleted int
	if err := db.QueryRow(`SELECT count(*), count(_rawland_deleted_at) FROM main.items`).Scan(&rows, &deleted); err != nil {
		t.Fatal(err)
	}
	if rows < 9 || deleted != 0 {
		t.Fatalf("after a truncated reconcile: %d rows, %d marked deleted; want none marked", rows, deleted)
	}
}

func streamCursor(t *testing.T, dir string) string {
	t.Helper()
	var st struct {
		Streams []struct {
			Stream string `json:"stream"`
			Cursor string `json:"cursor"`
		} `json:"streams"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, dir, "status", "--json")), &st); err != nil || len(st.Streams) != 1 {
		t.Fatalf("status --json: %v %+v", err, st)
	}
	return st.Streams[0].Cursor
}

func lastRun(t *testing.T, dir string) runJSON {
	t.Helper()
	var runs []runJSON
	if err := json.Unmarshal([]byte(mustRun(t, dir, "runs", "items", "--json")), &runs); err != nil || len(runs) == 0 {
		t.Fatalf("runs --json: %v", err)
	}
	return runs[0]
}
