package transform

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/sqlitestore"
)

// The test binary doubles as the other process of these tests: with
// RAWLAND_TEST_CHILD set it holds a warehouse open (as an analyst's DuckDB
// session would) or runs a transform, instead of running tests.
func TestMain(m *testing.M) {
	switch os.Getenv("RAWLAND_TEST_CHILD") {
	case "hold":
		os.Exit(childHold(os.Getenv("RAWLAND_TEST_WAREHOUSE")))
	case "hold-ro":
		os.Exit(childHoldReadOnly(os.Getenv("RAWLAND_TEST_WAREHOUSE")))
	case "analyst":
		os.Exit(childAnalyst(os.Getenv("RAWLAND_TEST_WAREHOUSE"), os.Getenv("RAWLAND_TEST_SQL")))
	case "transform":
		os.Exit(childTransform(os.Getenv("RAWLAND_TEST_CONFIG"), os.Getenv("RAWLAND_TEST_WAREHOUSE")))
	}
	os.Exit(m.Run())
}

// childHold opens the warehouse read-write, says "ready" and holds it until
// stdin closes.
func childHold(path string) int {
	db, err := sql.Open("duckdb", path)
	if err == nil {
		_, err = db.Exec("CREATE TABLE IF NOT EXISTS analyst_scratch(x INTEGER)")
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	db.Close()
	return 0
}

// childAnalyst opens the warehouse read-write as the DuckDB CLI does, says
// "ready", and when stdin closes runs stmts and closes it (DuckDB
// checkpoints them into the file it opened).
func childAnalyst(path, stmts string) int {
	db, err := sql.Open("duckdb", path)
	if err == nil {
		err = db.Ping()
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	if _, err := db.Exec(stmts); err != nil {
		fmt.Fprintln(os.Stderr, "analyst:", err)
		return 1
	}
	if err := db.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "analyst:", err)
		return 1
	}
	return 0
}

// childHoldReadOnly opens the warehouse read-only, reads it, says "ready"
// and holds it until stdin closes.
func childHoldReadOnly(path string) int {
	db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY")
	var n int
	if err == nil {
		err = db.QueryRow("SELECT count(*) FROM duckdb_tables()").Scan(&n)
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	db.Close()
	return 0
}

// childTransform transforms and, at the 13th batch, says "batch" and
// waits to be killed.
func childTransform(cfgPath, wh string) int {
	ctx := context.Background()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	schemas, err := CompileSchemas(cfg)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	store, err := sqlitestore.Open(ctx, filepath.Join(cfg.DataDir, "state", "rawland.db"))
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	batches := 0
	o := Options{Config: cfg, Schemas: schemas, Runs: store, Zone: landing.Zone{Dir: cfg.DataDir}, Warehouse: wh,
		afterBatch: func() {
			if batches++; batches == 13 {
				fmt.Println("batch")
				select {}
			}
		}}
	_, err = Run(ctx, o)
	fmt.Println("finished:", err)
	return 0
}

// child starts the test binary as a child process and waits for its first
// line of output.
func child(t *testing.T, env ...string) (*exec.Cmd, io.WriteCloser, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case l := <-line:
		return cmd, stdin, l
	case <-time.After(60 * time.Second):
		t.Fatal("child process said nothing for 60s")
	}
	return nil, nil, ""
}

// An analyst's session holds the published warehouse read-write (and has
// written into it): transform neither waits nor fails, the new snapshot is
// published beside it, rawland's readers and new sessions see it, and the
// analyst's write-ahead log never leaks into it.
func TestWarehouseHeldByAnotherProcess(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}})
	e.land("items", state.KindIngest, item(1, "a", t1))
	e.transform()
	cmd, stdin, said := child(t, "RAWLAND_TEST_CHILD=hold", "RAWLAND_TEST_WAREHOUSE="+e.wh)
	if said != "ready" {
		t.Fatalf("holder: %s", said)
	}
	run := e.land("items", state.KindIngest, item(2, "b", t1))
	start := time.Now()
	if _, err := Run(context.Background(), func() Options { o := e.options(); o.LockWait = 700 * time.Millisecond; return o }()); err != nil {
		t.Fatalf("transform while an analyst holds the warehouse: %v", err)
	}
	if waited := time.Since(start); waited > 30*time.Second {
		t.Errorf("transform took %s", waited)
	}
	if st := e.runStatus(run.ID); st != state.StatusTransformed {
		t.Errorf("run is %s, want transformed", st)
	}
	if c, err := Counts(context.Background(), e.wh); err != nil || c["items"].Rows != 2 {
		t.Errorf("Counts while held: %+v, %v; want 2 rows", c, err)
	}
	var out strings.Builder
	if err := Query(context.Background(), e.wh, "SELECT count(*) AS n FROM items", FormatCSV, &out); err != nil || out.String() != "n\n2\n" {
		t.Errorf("Query while held: %q, %v", out.String(), err)
	}
	if n := e.one(`SELECT count(*) FROM items`); n != "2" {
		t.Errorf("a new session on the published warehouse sees %s rows, want 2", n)
	}
	if n := e.one(`SELECT count(*) FROM duckdb_tables() WHERE table_name = 'analyst_scratch'`); n != "0" {
		t.Errorf("the analyst's uncheckpointed table leaked into the new snapshot")
	}
	stdin.Close()
	cmd.Wait()
	if n := e.one(`SELECT count(*) FROM items`); n != "2" {
		t.Errorf("after the analyst closed: %s rows, want 2", n)
	}
}

// Another rawland process works on the working database: transform waits
// LockWait, then fails with ErrWarehouseBusy naming it; nothing changes.
func TestWorkingDatabaseHeldByAnotherRawland(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}})
	runs := killAndRerunRuns(e)
	cmd, _, said := child(t, "RAWLAND_TEST_CHILD=transform", "RAWLAND_TEST_CONFIG="+e.cfg.Path, "RAWLAND_TEST_WAREHOUSE="+e.wh)
	if said != "batch" {
		t.Fatalf("child: %s", said)
	}
	start := time.Now()
	_, err := Run(context.Background(), func() Options { o := e.options(); o.LockWait = 700 * time.Millisecond; return o }())
	waited := time.Since(start)
	var busy *WarehouseBusyError
	if !errors.Is(err, ErrWarehouseBusy) || !errors.As(err, &busy) {
		t.Fatalf("got %v, want ErrWarehouseBusy", err)
	}
	if busy.PID != cmd.Process.Pid || !strings.Contains(err.Error(), strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("error should name the holder pid %d: %v", cmd.Process.Pid, err)
	}
	if waited < 700*time.Millisecond || waited > 10*time.Second {
		t.Errorf("waited %s for a 700ms lock_wait", waited)
	}
	if st := e.runStatus(runs[2].ID); st != state.StatusCommitted {
		t.Errorf("run is %s, want still committed", st)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	e.transform()
	if st := e.runStatus(runs[2].ID); st != state.StatusTransformed {
		t.Errorf("after the other process ended the run is %s, want transformed", st)
	}
}

// killAndRerunRuns lands three runs of 40 records (duplicates, stale
// versions and invalid records included) at batch size 4.
func killAndRerunRuns(e *env) []state.Run {
	var runs []state.Run
	for r := 0; r < 3; r++ {
		var recs []string
		for i := 0; i < 40; i++ {
			id := (i*7 + r*13) % 50
			ts := []string{t1, t2, t3}[(i+r)%3]
			switch {
			case i%11 == 5:
				recs = append(recs, fmt.Sprintf(`{"id":%d,"v":%d}`, id, i)) // invalid: v is a number
			default:
				recs = append(recs, item(id, fmt.Sprintf("r%d-i%d", r, i), ts))
			}
		}
		runs = append(runs, e.land("items", state.KindIngest, recs...))
	}
	return runs
}

// dump is everything a transform decides, in a comparable form.
func (e *env) dump(wh string) string {
	var b strings.Builder
	for _, q := range []string{
		`SELECT COLUMNS(* EXCLUDE (_rawland_landed_at))::VARCHAR FROM items ORDER BY id`,
		`SELECT stream, run_id, file, line, record, errors::VARCHAR FROM rawland.quarantine ORDER BY ALL`,
		`SELECT stream, run_id, path, kind, count, example, first_seen FROM rawland.drift ORDER BY ALL`,
		`SELECT stream, run_id, kind, report::VARCHAR FROM rawland.transformed ORDER BY ALL`,
	} {
		for _, r := range e.queryAt(wh, q) {
			b.WriteString(strings.Join(r, "|") + "\n")
		}
		b.WriteString("--\n")
	}
	return b.String()
}

// A transform killed (SIGKILL) in the middle of a run, then run again,
// leaves exactly what one clean transform leaves.
func TestKillAndRerun(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}})
	runs := killAndRerunRuns(e)
	cmd, _, said := child(t, "RAWLAND_TEST_CHILD=transform", "RAWLAND_TEST_CONFIG="+e.cfg.Path, "RAWLAND_TEST_WAREHOUSE="+e.wh)
	if said != "batch" {
		t.Fatalf("child: %s", said)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// batch 13 is inside the second run (10 batches per run); the two
	// small runs are merged in one transaction (loadbatch.go), which died
	// before its commit: neither is in the warehouse.
	if a, b := e.runStatus(runs[0].ID), e.runStatus(runs[1].ID); a != state.StatusCommitted || b != state.StatusCommitted {
		t.Fatalf("after the kill: runs are %s, %s; want committed, committed", a, b)
	}
	e.transform()
	clean := filepath.Join(e.dir, "clean.duckdb")
	e.transform(func(o *Options) { o.Warehouse = clean })
	if got, want := e.dump(e.wh), e.dump(clean); got != want {
		t.Errorf("killed and rerun differs from one clean transform:\n%s\nclean:\n%s", got, want)
	}
	if n := e.one(`SELECT count(*) FROM rawland.quarantine`); n != "12" {
		t.Errorf("%s quarantined, want 12 (4 per run)", n)
	}
}

// The same with a cancelled context instead of a kill.
func TestCancelAndRerun(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}})
	runs := killAndRerunRuns(e)
	ctx, cancel := context.WithCancel(context.Background())
	batches := 0
	o := e.options()
	o.maxBatchRuns = 1 // one transaction per run: the first commits before the cancel
	o.afterBatch = func() {
		if batches++; batches == 13 {
			cancel()
		}
	}
	if _, err := Run(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled transform returned %v", err)
	}
	if a, b := e.runStatus(runs[0].ID), e.runStatus(runs[1].ID); a != state.StatusTransformed || b != state.StatusCommitted {
		t.Fatalf("after cancel: runs are %s, %s; want transformed, committed", a, b)
	}
	e.transform()
	clean := filepath.Join(e.dir, "clean.duckdb")
	e.transform(func(o *Options) { o.Warehouse = clean })
	if got, want := e.dump(e.wh), e.dump(clean); got != want {
		t.Errorf("cancelled and rerun differs from one clean transform:\n%s\nclean:\n%s", got, want)
	}
}

// flakyFinish fails the state store update once: the warehouse committed,
// the state store did not hear of it (a crash between the two).
type flakyFinish struct {
	RunStore
	failed bool
}

func (f *flakyFinish) Finish(ctx context.Context, id string, st state.Status, msg, report string) error {
	if !f.failed {
		f.failed = true
		return errors.New("state store unavailable")
	}
	return f.RunStore.Finish(ctx, id, st, msg, report)
}

func TestCrashBetweenWarehouseAndStateStore(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}})
	run := e.land("items", state.KindIngest, item(1, "a", t1), item(2, "b", t1))
	o := e.options()
	o.Runs = &flakyFinish{RunStore: e.store}
	if _, err := Run(context.Background(), o); err == nil {
		t.Fatal("want the state store error")
	}
	if st := e.runStatus(run.ID); st != state.StatusCommitted {
		t.Fatalf("run is %s", st)
	}
	rep := e.transform()
	r := rep.Streams[0].Runs[0]
	if !r.Synced || r.Inserted != 2 || e.runStatus(run.ID) != state.StatusTransformed {
		t.Errorf("second transform should only sync the state store: %+v, status %s", r, e.runStatus(run.ID))
	}
	if n := e.one(`SELECT count(*) FROM items`); n != "2" {
		t.Errorf("%s rows, want 2 (the run must not load twice)", n)
	}
}
