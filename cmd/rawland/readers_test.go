package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// readerEnv makes the test binary an independent DuckDB client instead of
// rawland (see TestMain): "hold-rw PATH" or "hold-ro PATH" opens the
// warehouse, says "ready N" (rows of things) and holds it until stdin
// closes, then says "still N" (its view must not have changed); "write
// PATH" opens it read-write as the DuckDB CLI does, creates a table,
// deletes rows of things, closes it (DuckDB checkpoints into the file) and
// says "done"; "probe
// PATH" opens, checks and closes the warehouse again and again, one line
// per look, until stdin closes.
const readerEnv = "RAWLAND_TEST_READER"

// consistentQuery holds in every published snapshot: the rows of things
// are the keys the transformed runs inserted, and the run history agrees
// with the transform markers.
const consistentQuery = `SELECT (SELECT count(*) FROM things),
	(SELECT coalesce(sum(inserted), 0) FROM rawland.runs WHERE stream = 'things' AND status = 'transformed'),
	(SELECT count(*) FROM rawland.runs WHERE stream = 'things' AND status = 'transformed'),
	(SELECT count(*) FROM rawland.transformed WHERE stream = 'things')
	+ (SELECT count(*) FROM things WHERE _rawland_run_id NOT IN (SELECT run_id FROM rawland.transformed))`

func readerChild(mode string) int {
	kind, path, _ := strings.Cut(mode, " ")
	stop := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
	open := func(ro bool) (*sql.DB, error) {
		dsn := path
		if ro {
			dsn += "?access_mode=READ_ONLY"
		}
		return sql.Open("duckdb", dsn)
	}
	switch kind {
	case "hold-rw", "hold-ro":
		db, err := open(kind == "hold-ro")
		var n int64
		if err == nil {
			err = db.QueryRow("SELECT count(*) FROM things").Scan(&n)
		}
		if err == nil && kind == "hold-rw" {
			// an analyst writing into the published warehouse: a
			// write-ahead log appears beside it
			_, err = db.Exec("CREATE TABLE analyst_notes AS SELECT 1 AS x")
		}
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("ready", n)
		<-stop
		if err := db.QueryRow("SELECT count(*) FROM things").Scan(&n); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("still", n)
		db.Close()
	case "write":
		db, err := open(false)
		if err == nil {
			_, err = db.Exec("CREATE TABLE analyst_tmp AS SELECT 42 AS x; DELETE FROM things WHERE id <= 5")
		}
		if err == nil {
			err = db.Close()
		}
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("done")
	case "probe":
		for i := 0; ; i++ {
			select {
			case <-stop:
				return 0
			case <-time.After(20 * time.Millisecond):
			}
			db, err := open(true)
			var rows, inserted, runs, marks int64
			if err == nil {
				err = db.QueryRow(consistentQuery).Scan(&rows, &inserted, &runs, &marks)
				db.Close()
			}
			switch {
			case err != nil:
				fmt.Println("error:", err)
			case rows != inserted || runs != marks:
				fmt.Printf("inconsistent: %d rows, %d inserted; %d transformed runs, %d markers\n", rows, inserted, runs, marks)
			default:
				fmt.Printf("ok %d %d\n", rows, runs)
			}
		}
	}
	return 0
}

// reader is a running readerChild.
type reader struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

func startReader(t *testing.T, mode string) *reader {
	t.Helper()
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), readerEnv+"="+mode)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &reader{cmd: cmd, stdin: stdin, lines: make(chan string, 100000)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
	}()
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	return r
}

func (r *reader) next(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-r.lines:
		if !ok {
			t.Fatal("reader ended")
		}
		return l
	case <-time.After(60 * time.Second):
		t.Fatal("reader said nothing for 60s")
	}
	return ""
}

// stop closes the reader's stdin and returns the rest of its output.
func (r *reader) stop(t *testing.T) []string {
	r.stdin.Close()
	var out []string
	for l := range r.lines {
		out = append(out, l)
	}
	r.cmd.Wait()
	return out
}

// runChild runs rawland in a child process and returns its exit code.
func runChild(t *testing.T, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := child(t, dir, env, args...)
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestReadersNeverBlockTheJob: an analyst's DuckDB session holds the
// published warehouse read-write (and writes into it), another holds it
// read-only, and a third opens and checks it over and over, for the whole
// of several `rawland run`s with transforms, reconciles and a quarantine
// replay, and SIGKILLs inside publishes. Every run exits 0, every probe
// sees a consistent snapshot, the holders keep their view, every upstream
// record reaches the published warehouse, and no snapshot piles up.
func TestReadersNeverBlockTheJob(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): runs child processes")
	}
	up := newUpstream(30)
	srv := httptest.NewServer(up)
	defer srv.Close()
	dir := project(t, crashCfg+"reconcile: {every: 1s}\ntransform: {lock_wait: 2s}\n", srv.URL)
	// later versions of the first 30 records are quarantined until the
	// schema is relaxed (keys the first run loaded, so that a replay adds
	// no row: every row is a key some transformed run inserted)
	strict := `{"type":"object","properties":{"id":{"type":"integer"},"version":{"type":"integer"},"updated_at":{"type":"string","format":"date-time"}},` +
		`"if":{"properties":{"id":{"maximum":30}}},"then":{"properties":{"version":{"maximum":0}}}}`
	os.WriteFile(filepath.Join(dir, "schemas", "things.json"), []byte(strict), 0o644)
	wh := filepath.Join(dir, "data", "warehouse.duckdb")
	rng := rand.New(rand.NewPCG(3, 4))
	var logs strings.Builder
	run := func(env []string, what string) {
		t.Helper()
		if what != "first run" {
			up.change(rng, 4)
		}
		code, out := runChild(t, dir, env, "run")
		if code != 0 {
			t.Fatalf("%s: run exited %d (a reader must never make it wait or fail):\n%s", what, code, out)
		}
		logs.WriteString(out)
	}
	run(nil, "first run")
	rw := startReader(t, "hold-rw "+wh)
	rwSaid := rw.next(t)
	var probe *reader
	for i := range 3 {
		run(nil, fmt.Sprintf("run %d with a read-write session open", i))
		if i == 0 {
			// from now on the published file is not the one the read-write
			// session holds (DuckDB lets no one else open that one)
			probe = startReader(t, "probe "+wh)
		}
	}
	ro := startReader(t, "hold-ro "+wh)
	roSaid := ro.next(t)
	if !strings.HasPrefix(rwSaid, "ready ") || !strings.HasPrefix(roSaid, "ready ") {
		t.Fatalf("holders: %q, %q", rwSaid, roSaid)
	}
	os.WriteFile(filepath.Join(dir, "schemas", "things.json"), []byte(strings.Replace(strict, `"maximum":0`, `"minimum":0`, 1)), 0o644)
	if code, out := runChild(t, dir, nil, "quarantine", "replay"); code != 0 {
		t.Fatalf("quarantine replay exited %d:\n%s", code, out)
	}
	// the publish's steps, and the preparation of the next working
	// database (twice: whether it is patched into the previous snapshot or
	// copied depends on which snapshots the holders have). Each run starts
	// once the previous snapshot was replaced more than 2 s ago, so that
	// its preparation may patch it (sooner, this small warehouse is copied
	// rather than waited for).
	for _, point := range []string{"publish_delta", "publish_copied", "publish_reader", "publish_renamed", "prepare_written", "prepare_written"} {
		up.change(rng, 4)
		time.Sleep(2100 * time.Millisecond)
		code, out := runChild(t, dir, []string{"RAWLAND_CRASHPOINT=" + point}, "run")
		if code != -1 {
			t.Fatalf("crash at %s: exit %d, want killed:\n%s", point, code, out)
		}
		// a crash while the working database is prepared leaves nothing unpublished
		wantPending := strings.HasPrefix(point, "publish_")
		if code, out := runChild(t, dir, nil, "status", "--json"); code != 0 || strings.Contains(out, `"publish_pending": true`) != wantPending {
			t.Errorf("after a crash at %s status should say publish_pending: %v (exit %d):\n%s", point, wantPending, code, out)
		}
		run(nil, "run after a crash at "+point)
	}
	// the next working database was made both ways: in a previous snapshot
	// no one held, and by a copy while a holder had it
	for _, how := range []string{"method=patch", "method=copy"} {
		if !strings.Contains(logs.String(), "prepared the working database") || !strings.Contains(logs.String(), how) {
			t.Errorf("no run prepared the working database with %s", how)
		}
	}
	if code, out := runChild(t, dir, nil, "sql", "--csv", "SELECT count(*) AS n FROM things"); code != 0 || !strings.HasPrefix(out, "n\n") {
		t.Errorf("rawland sql with both sessions open: exit %d:\n%s", code, out)
	}
	looks := probe.stop(t)
	good := 0
	for _, l := range looks {
		if strings.HasPrefix(l, "ok ") {
			good++
		} else {
			t.Errorf("probe: %s", l)
		}
	}
	if good < 10 {
		t.Errorf("only %d probes succeeded", good)
	}
	for _, h := range []struct {
		r    *reader
		said string
	}{{rw, rwSaid}, {ro, roSaid}} {
		if rest := h.r.stop(t); !slices.Contains(rest, strings.Replace(h.said, "ready", "still", 1)) {
			t.Errorf("a holder's view changed under it: said %q, then %v", h.said, rest)
		}
	}
	// every upstream record version is in the published warehouse
	db, err := sql.Open("duckdb", wh+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT id, version FROM things WHERE _rawland_deleted_at IS NULL")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for rows.Next() {
		var id, v int
		rows.Scan(&id, &v)
		got[fmt.Sprintf("%d:%d", id, v)] = true
	}
	rows.Close()
	want := up.truth()
	for k := range want {
		if !got[k] {
			t.Errorf("record %s is not in the published warehouse", k)
		}
	}
	if t.Failed() {
		_, out := runChild(t, dir, nil, "sql", "SELECT replayed_at IS NULL AS pending, count(*) FROM rawland.quarantine GROUP BY 1")
		_, out2 := runChild(t, dir, nil, "sql", "SELECT id, version, _rawland_run_id, _rawland_cursor, _rawland_deleted_at FROM things ORDER BY id LIMIT 8")
		_, out3 := runChild(t, dir, nil, "sql", "SELECT errors::VARCHAR, record FROM rawland.quarantine WHERE replayed_at IS NULL LIMIT 3")
		t.Logf("quarantine:\n%s\n%s\n%s", out, out2, out3)
	}
	if len(got) != len(want) {
		t.Errorf("published warehouse has %d records, upstream %d", len(got), len(want))
	}
	// nothing piles up: after a publish, the snapshot (two names; it was
	// the working database), the previous one and the delta that makes it
	// the next working database, the seal, the manifest and the lock
	ents, _ := os.ReadDir(filepath.Join(dir, "data", "state", "warehouse"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"next.delta", "prev.duckdb", "published.duckdb", "published.json", "sealed.json", "work.lock"}) {
		t.Errorf("state/warehouse holds %v", names)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", ".warehouse.duckdb.new")); err == nil {
		t.Error("a staged snapshot was left behind")
	}
}
