package main

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// warehouseHoldsTruth checks that the published warehouse holds every
// upstream record version and none of an analyst's writes.
func warehouseHoldsTruth(t *testing.T, wh string, want map[string]bool, when string) {
	t.Helper()
	db, err := sql.Open("duckdb", wh+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('analyst_tmp', 'analyst_notes')`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("%s: the published warehouse carries %d of an analyst's tables", when, tables)
	}
	rows, err := db.Query("SELECT id, version FROM things WHERE _rawland_deleted_at IS NULL")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var id, v int
		rows.Scan(&id, &v)
		got[fmt.Sprintf("%d:%d", id, v)] = true
	}
	for k := range want {
		if !got[k] {
			t.Errorf("%s: record %s is not in the published warehouse (an analyst's deletion carried over?)", when, k)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: the published warehouse has %d records, upstream %d", when, len(got), len(want))
	}
}

// TestAnalystWritesNeverReachTheWarehouse: an analyst opens the published
// warehouse read-write (as `duckdb data/warehouse.duckdb` does), creates a
// table, deletes rows of a rawland table and quits (DuckDB checkpoints into
// the file). The next `rawland run` publishes a warehouse with neither,
// whether the analyst wrote into the current snapshot or into the previous
// one after a run replaced it. When both were written, no unchanged copy
// is left: run exits 1 saying so and how to recover, and
// `rawland transform --rebuild` does.
func TestAnalystWritesNeverReachTheWarehouse(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): runs child processes")
	}
	up := newUpstream(30)
	srv := httptest.NewServer(up)
	defer srv.Close()
	dir := project(t, crashCfg+"transform: {lock_wait: 2s}\n", srv.URL)
	os.WriteFile(filepath.Join(dir, "schemas", "things.json"),
		[]byte(`{"type":"object","properties":{"id":{"type":"integer"},"version":{"type":"integer"},"updated_at":{"type":"string","format":"date-time"}}}`), 0o644)
	wh := filepath.Join(dir, "data", "warehouse.duckdb")
	rng := rand.New(rand.NewPCG(5, 6))
	run := func(what string, args ...string) {
		t.Helper()
		if len(args) == 0 {
			up.change(rng, 4)
			args = []string{"run"}
		}
		if code, out := runChild(t, dir, nil, args...); code != 0 {
			t.Fatalf("%s: %v exited %d:\n%s", what, args, code, out)
		}
	}
	write := func() {
		t.Helper()
		r := startReader(t, "write "+wh)
		if said := r.next(t); said != "done" {
			t.Fatalf("analyst: %s", said)
		}
		r.stop(t)
	}
	holdThenWrite := func() func() {
		t.Helper()
		r := startReader(t, "hold-rw "+wh) // writes a table, checkpointed when it quits
		if said := r.next(t); !strings.HasPrefix(said, "ready ") {
			t.Fatalf("analyst: %s", said)
		}
		return func() { r.stop(t) }
	}
	run("first run")

	write() // into the current snapshot
	run("run after an analyst wrote into the current snapshot")
	warehouseHoldsTruth(t, wh, up.truth(), "written into the current snapshot")

	quit := holdThenWrite()
	run("run while an analyst holds the snapshot read-write")
	quit() // into the previous snapshot, after the run replaced it
	run("run after an analyst wrote into the previous snapshot")
	warehouseHoldsTruth(t, wh, up.truth(), "written into the previous snapshot")

	quit = holdThenWrite()
	run("run while an analyst holds the snapshot read-write")
	quit()
	write() // and into the current one
	up.change(rng, 4)
	code, out := runChild(t, dir, nil, "run")
	if code != 1 || !strings.Contains(out, "rawland transform --rebuild") || !strings.Contains(out, "written by a read-write session") {
		t.Fatalf("run with both snapshots written: exit %d, want 1 with what happened and how to recover:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "state", "warehouse", "work.duckdb")); err == nil {
		t.Error("a working database was made from written snapshots")
	}
	run("rebuild", "transform", "--rebuild")
	run("run after the rebuild")
	warehouseHoldsTruth(t, wh, up.truth(), "after the rebuild")
}
