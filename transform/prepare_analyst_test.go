package transform

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// analystSQL is what an analyst does in `duckdb DATA/warehouse.duckdb`:
// a table of their own and rows deleted from one of rawland's.
const analystSQL = `CREATE TABLE analyst_tmp AS SELECT 42 AS x; DELETE FROM t WHERE id < 1000`

// analyst opens path read-write in another process (as the DuckDB CLI
// does); the returned func makes it write analystSQL and close (which
// checkpoints into the file it opened), and waits for it.
func analyst(t *testing.T, path string) func() {
	t.Helper()
	cmd, stdin, said := child(t, "RAWLAND_TEST_CHILD=analyst", "RAWLAND_TEST_WAREHOUSE="+path, "RAWLAND_TEST_SQL="+analystSQL)
	if said != "ready" {
		t.Fatalf("analyst: %s", said)
	}
	held, err := os.Open(path) // the file the analyst has open
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		defer held.Close()
		before := fileHash(t, held)
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("analyst: %v", err)
		}
		if fileHash(t, held) == before {
			t.Fatalf("the analyst's session did not write into %s", path)
		}
	}
}

// publishSaving publishes like e.publish and returns a copy of the working
// database as rawland published it.
func (e *snapEnv) publishSaving() string {
	e.t.Helper()
	saved := filepath.Join(e.t.TempDir(), "published-by-rawland.duckdb")
	if _, err := cloneFile(e.lay.work, saved); err != nil {
		e.t.Fatal(err)
	}
	e.publish()
	return saved
}

// noAnalystTrace checks that the published snapshot has neither the
// analyst's table nor their deletion.
func (e *snapEnv) noAnalystTrace(wantRows int) {
	e.t.Helper()
	db, err := sql.Open("duckdb", e.lay.reader+"?access_mode=READ_ONLY")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var tables, low, rows int
	if err := db.QueryRow(`SELECT count(*) FROM duckdb_tables() WHERE table_name = 'analyst_tmp'`).Scan(&tables); err != nil {
		e.t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FILTER (WHERE id >= 0 AND id < 1000), count(*) FROM t`).Scan(&low, &rows); err != nil {
		e.t.Fatal(err)
	}
	if tables != 0 || low != 1000 || rows != wantRows {
		e.t.Errorf("the published snapshot carries the analyst's writes: analyst_tmp %d, rows below 1000 %d (want 1000), rows %d (want %d)", tables, low, rows, wantRows)
	}
}

// Writes by an analyst's read-write session into the published warehouse
// (the current snapshot, or the previous one after it was replaced) never
// reach the working database or a later publish: the working database is
// exactly what rawland published. With both written, no unchanged source
// is left and the preparation says so (a rebuild starts empty).
func TestAnalystWritesAreNeverCarriedOver(t *testing.T) {
	const rows = 50_000
	for _, c := range []struct {
		name string
		// run publishes (with e.publishSaving) and has analysts write; it
		// returns what rawland published and a release for a holder
		run  func(t *testing.T, e *snapEnv) (saved string, release func())
		want string // the preparation's method, or "error"
	}{
		{"into the current snapshot", func(t *testing.T, e *snapEnv) (string, func()) {
			saved := e.publishSaving()
			analyst(t, e.lay.published)()
			return saved, nil
		}, "patch"},
		{"into the current snapshot, the previous one held by a reader", func(t *testing.T, e *snapEnv) (string, func()) {
			release := holdChild(t, "hold-ro", e.lay.published)
			saved := e.publishSaving()
			held, err := os.Open(e.lay.prev)
			if err != nil {
				t.Fatal(err)
			}
			before := fileHash(t, held)
			t.Cleanup(func() {
				if fileHash(t, held) != before {
					t.Error("the previous snapshot a reader holds was written")
				}
				held.Close()
			})
			analyst(t, e.lay.published)()
			return saved, release
		}, "copy+delta"},
		{"into the previous snapshot after it was replaced", func(t *testing.T, e *snapEnv) (string, func()) {
			write := analyst(t, e.lay.published)
			saved := e.publishSaving()
			write()
			return saved, nil
		}, "copy"},
		{"into both", func(t *testing.T, e *snapEnv) (string, func()) {
			write := analyst(t, e.lay.published)
			saved := e.publishSaving()
			write()
			analyst(t, e.lay.published)()
			return saved, nil
		}, "error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newSnapEnv(t, rows)
			e.change() // a previous snapshot and a delta exist from here on
			e.prepare()
			e.it++
			e.exec(smallRun(e.it))
			saved, release := c.run(t, e)
			if release != nil {
				defer release()
			}
			p, err := ensureWork(context.Background(), e.lay, e.log, false)
			if c.want == "error" {
				if !errors.Is(err, ErrWarehouseWritten) || !strings.Contains(err.Error(), "rawland transform --rebuild") {
					t.Fatalf("prepared %+v, %v; want ErrWarehouseWritten naming the rebuild", p, err)
				}
				if exists(e.lay.work) {
					t.Error("a working database was made from written sources")
				}
				p, err := ensureWork(context.Background(), e.lay, e.log, true)
				if err != nil || p.Method != "empty" || exists(e.lay.work) {
					t.Errorf("a rebuild: %+v, %v; want an empty start", p, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Method != c.want && !(c.want == "copy" && p.Method == "clone") && !(c.want == "copy+delta" && p.Method == "clone+delta") {
				t.Errorf("prepared by %q, want %q", p.Method, c.want)
			}
			if !sameContent(t, e.lay.work, saved) {
				t.Fatal("the working database is not what rawland published")
			}
			for _, f := range []string{e.lay.prev, e.lay.delta, e.lay.patching, e.lay.workTmp} {
				if exists(f) {
					t.Errorf("the preparation left %s", f)
				}
			}
			e.it++
			e.exec(smallRun(e.it))
			e.publish()
			e.noAnalystTrace(rows + e.it)
		})
	}
}

// A crash after the delta was written into the previous snapshot (renamed
// patching.duckdb first), before it was synced and renamed: the next
// preparation writes the delta again and finishes, however far the first
// got.
func TestPrepareResumesAfterACrash(t *testing.T) {
	for _, c := range []struct {
		name  string
		crash func(t *testing.T, e *snapEnv)
	}{
		{"the delta written, not renamed", func(t *testing.T, e *snapEnv) {
			f, err := os.OpenFile(e.lay.patching, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := applyDelta(context.Background(), e.lay.delta, f); err != nil {
				t.Fatal(err)
			}
		}},
		{"nothing written yet", func(t *testing.T, e *snapEnv) {}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newSnapEnv(t, 50_000)
			e.change()
			e.prepare()
			e.it++
			e.exec(smallRun(e.it))
			saved := e.publishSaving()
			time.Sleep(snapshotGrace)
			if err := os.Rename(e.lay.prev, e.lay.patching); err != nil {
				t.Fatal(err)
			}
			c.crash(t, e)
			p := e.prepare()
			if p.Method != "patch" {
				t.Errorf("prepared by %q, want a patch", p.Method)
			}
			if !sameContent(t, e.lay.work, saved) {
				t.Error("the working database is not what rawland published")
			}
			if exists(e.lay.patching) || exists(e.lay.delta) {
				t.Error("the preparation left its files")
			}
		})
	}
}

// A run that rewrites most of the warehouse keeps a whole copy of what it
// published (next.duckdb, sealed in next.json) instead of a delta; the
// next preparation renames it into place (nothing copied). It is what
// rawland published even after an analyst wrote into the published
// snapshot. A copy whose seal is missing (a crash between the copy and its
// seal), names another snapshot, or that is not the file it recorded, is
// never used: the published snapshot is copied instead, when unchanged.
func TestWholeCopyKeptForTheNextRun(t *testing.T) {
	const rows = 50_000
	for _, c := range []struct {
		name  string
		after func(t *testing.T, e *snapEnv)
		want  string // the preparation's method
	}{
		{"untouched", nil, "kept"},
		{"an analyst wrote into the published snapshot", func(t *testing.T, e *snapEnv) {
			analyst(t, e.lay.published)()
		}, "kept"},
		{"its seal lost", func(t *testing.T, e *snapEnv) {
			if err := os.Remove(e.lay.nextSeal); err != nil {
				t.Fatal(err)
			}
		}, "copy"},
		{"its seal names another snapshot", func(t *testing.T, e *snapEnv) {
			var s seal
			if err := readJSON(e.lay.nextSeal, &s); err != nil {
				t.Fatal(err)
			}
			s.Iteration++
			if err := writeFileAtomic(e.lay.nextSeal, s); err != nil {
				t.Fatal(err)
			}
		}, "copy"},
		{"the copy cut short", func(t *testing.T, e *snapEnv) {
			if err := os.Truncate(e.lay.next, 3*4096); err != nil {
				t.Fatal(err)
			}
		}, "copy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newSnapEnv(t, rows)
			e.change()
			e.prepare()
			e.it++
			// every page rewritten, as by a rebuild
			e.exec(fmt.Sprintf(`CREATE OR REPLACE TABLE t AS SELECT range AS id, md5((range + 1)::VARCHAR) AS s, range %% 7 AS a FROM range(%d)`, rows))
			saved := e.publishSaving()
			if !exists(e.lay.next) || !exists(e.lay.nextSeal) || exists(e.lay.delta) {
				t.Fatalf("after a publish that rewrote every page: next.duckdb %v, next.json %v, next.delta %v; want a whole copy and no delta",
					exists(e.lay.next), exists(e.lay.nextSeal), exists(e.lay.delta))
			}
			if !sameContent(t, e.lay.next, saved) {
				t.Fatal("the whole copy kept is not what rawland published")
			}
			if c.after != nil {
				c.after(t, e)
			}
			p, err := ensureWork(context.Background(), e.lay, e.log, false)
			if err != nil {
				t.Fatal(err)
			}
			if p.Method != c.want && !(c.want == "copy" && p.Method == "clone") {
				t.Errorf("prepared by %q, want %q", p.Method, c.want)
			}
			if c.want == "kept" && p.Written != 0 {
				t.Errorf("the kept copy was renamed into place, yet %d bytes were written", p.Written)
			}
			if !sameContent(t, e.lay.work, saved) {
				t.Fatal("the working database is not what rawland published")
			}
			for _, f := range []string{e.lay.prev, e.lay.delta, e.lay.patching, e.lay.workTmp, e.lay.next, e.lay.nextSeal} {
				if exists(f) {
					t.Errorf("the preparation left %s", f)
				}
			}
			e.it++
			e.exec(smallRun(e.it))
			e.publish()
			e.noAnalystTrace(rows + 1)
		})
	}
}
