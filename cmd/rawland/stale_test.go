package main

import (
	"database/sql"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestRunFailsWhenStale: another rawland process keeps the working
// database (here: the test holds its lock) so landed runs cannot reach the
// published warehouse. While they are young, `run` exits 75 (try later);
// once the oldest landed longer ago than transform.stale_after, it exits 1
// and says why.
func TestRunFailsWhenStale(t *testing.T) {
	up := newUpstream(5)
	srv := httptest.NewServer(up)
	defer srv.Close()
	dir := project(t, crashCfg+"transform: {lock_wait: 200ms, stale_after: 1h}\n", srv.URL)
	if code, _, errOut := rawland(t, dir, "ingest"); code != 0 {
		t.Fatalf("ingest exited %d: %s", code, errOut)
	}
	lockDir := filepath.Join(dir, "data", "state", "warehouse")
	os.MkdirAll(lockDir, 0o755)
	f, err := os.OpenFile(filepath.Join(lockDir, "work.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if code, out := runChild(t, dir, nil, "run"); code != 75 {
		t.Fatalf("young runs waiting: exit %d, want 75:\n%s", code, out)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "data", "state", "rawland.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE runs SET finished_at = finished_at - ?, started_at = started_at - ?`, 2*time.Hour.Nanoseconds(), 2*time.Hour.Nanoseconds()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out := runChild(t, dir, nil, "run")
	if code != 1 || !strings.Contains(out, "stale: run") || !strings.Contains(out, "transform.stale_after is 1h") {
		t.Fatalf("runs waiting 2h with stale_after 1h: exit %d, want 1 and a stale message:\n%s", code, out)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if code, out := runChild(t, dir, nil, "run"); code != 0 {
		t.Fatalf("once the working database is free: exit %d:\n%s", code, out)
	}
}
