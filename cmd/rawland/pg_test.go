package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawland/rawland/internal/pgtest"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/pgstore"
	"github.com/rawland/rawland/state/sqlitestore"
)

// One PostgreSQL server for the package's tests, started by the first test
// that needs it and stopped by TestMain.
var (
	pgOnce  sync.Once
	pgSrv   *pgtest.Server
	pgErr   error
	pgDSN   string
	pgNames atomic.Int64
)

// postgres returns the DSN of the shared test database, skipping when
// PostgreSQL is not installed.
func postgres(t *testing.T) string {
	t.Helper()
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if pgSrv, pgErr = pgtest.Start(ctx); pgErr == nil {
			pgDSN, pgErr = pgSrv.NewDB(ctx)
		}
	})
	if errors.Is(pgErr, pgtest.ErrNoPostgres) {
		t.Skipf("skipping PostgreSQL test: %v", pgErr)
	}
	if pgErr != nil {
		t.Fatalf("start PostgreSQL: %v", pgErr)
	}
	return pgDSN
}

func stopPostgres() {
	if pgSrv != nil {
		pgSrv.Stop()
	}
}

// pgSchema is a fresh schema name for one test.
func pgSchema() string { return fmt.Sprintf("cmd%d", pgNames.Add(1)) }

const pgCfg = `
data_dir: data
state: {backend: postgres, dsn_env: RAWLAND_TEST_STATE_DSN, schema: {{SCHEMA}}}
sources:
  api: {base_url: "{{URL}}", retry: {max_attempts: 2, initial_backoff: 1ms, max_backoff: 10ms}, rate_limit: {requests: 1000, per: 1s}}
` + thingsStreamYAML

// TestPostgresBackendEndToEnd runs ingest, transform and status with the
// state in PostgreSQL: runs, cursor and the quota row land there, nothing
// in DATA/state/rawland.db, and RAWLAND_HOST names the host in the runs.
func TestPostgresBackendEndToEnd(t *testing.T) {
	dsn := postgres(t)
	up := newUpstream(35)
	hs := httptest.NewServer(up)
	defer hs.Close()
	srv := hs.URL
	schema := pgSchema()
	dir := project(t, strings.ReplaceAll(pgCfg, "{{SCHEMA}}", schema), srv)
	t.Setenv("RAWLAND_TEST_STATE_DSN", "")
	if code, _, errOut := rawland(t, dir, "ingest"); code != exitUsage || !strings.Contains(errOut, "RAWLAND_TEST_STATE_DSN is not set") {
		t.Fatalf("without the DSN: exit %d, %s", code, errOut)
	}
	t.Setenv("RAWLAND_TEST_STATE_DSN", dsn)
	t.Setenv(state.HostEnv, "worker-7")
	for _, args := range [][]string{{"ingest"}, {"transform"}, {"status", "--json"}} {
		if code, out, errOut := rawland(t, dir, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "state", "rawland.db")); err == nil {
		t.Fatal("a SQLite state store was created beside the PostgreSQL one")
	}
	s, err := pgstore.Open(t.Context(), pgstore.Options{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.List(t.Context(), state.RunFilter{Stream: "things"})
	if err != nil || len(runs) != 1 || runs[0].Status != state.StatusTransformed || runs[0].Records != 35 || runs[0].Host != "worker-7" {
		t.Fatalf("runs in PostgreSQL = %+v, %v", runs, err)
	}
	if c, _ := s.Cursor(t.Context(), "things"); c == "" {
		t.Fatal("no cursor in PostgreSQL")
	}
	var n int
	if err := s.Pool().QueryRow(t.Context(), `SELECT count(*) FROM quota WHERE source = 'api'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("quota rows for api: %d, %v", n, err)
	}
}

// TestTransformSingleWriterAcrossHosts: while a worker on another host
// holds the transform lease in PostgreSQL, `rawland transform` exits 75
// naming it and changes nothing; once released, it transforms.
func TestTransformSingleWriterAcrossHosts(t *testing.T) {
	dsn := postgres(t)
	hs := httptest.NewServer(newUpstream(12))
	defer hs.Close()
	schema := pgSchema()
	dir := project(t, strings.ReplaceAll(pgCfg, "{{SCHEMA}}", schema), hs.URL)
	t.Setenv("RAWLAND_TEST_STATE_DSN", dsn)
	if code, out, errOut := rawland(t, dir, "ingest"); code != 0 {
		t.Fatalf("ingest: exit %d\n%s%s", code, out, errOut)
	}
	s, err := pgstore.Open(t.Context(), pgstore.Options{DSN: dsn, Schema: schema, Host: "other-host"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other := state.NewRunID(time.Now())
	if _, err := s.Acquire(t.Context(), state.Lease{Stream: transformLease, RunID: other, Host: "other-host", PID: 4242}, time.Minute); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := rawland(t, dir, "transform")
	if code != exitBusy || !strings.Contains(out+errOut, "transform is running on host other-host") {
		t.Fatalf("while another host transforms: exit %d\n%s%s", code, out, errOut)
	}
	if runs, _ := s.List(t.Context(), state.RunFilter{Stream: "things", Status: []state.Status{state.StatusTransformed}}); len(runs) != 0 {
		t.Fatalf("a run was transformed while another host held the lease: %+v", runs)
	}
	if err := s.Release(t.Context(), transformLease, other); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := rawland(t, dir, "transform"); code != 0 {
		t.Fatalf("after release: exit %d\n%s%s", code, out, errOut)
	}
	if _, held, _ := s.Holder(t.Context(), transformLease); held {
		t.Fatal("the transform lease is still held after transform finished")
	}
}

// TestStateMigrateToPostgres ingests with the SQLite state, migrates it
// into PostgreSQL, switches the config and ingests again: the cursor
// carries over (only new records are read), the history and the DLQ come
// along, and a second migrate refuses the non-empty schema.
func TestStateMigrateToPostgres(t *testing.T) {
	dsn := postgres(t)
	up := newUpstream(25)
	hs := httptest.NewServer(up)
	defer hs.Close()
	schema := pgSchema()
	liteCfg := strings.Replace(strings.ReplaceAll(pgCfg, "{{SCHEMA}}", schema), "state: {backend: postgres, dsn_env: RAWLAND_TEST_STATE_DSN, schema: "+schema+"}\n", "", 1)
	dir := project(t, liteCfg, hs.URL)
	if code, out, errOut := rawland(t, dir, "ingest"); code != 0 {
		t.Fatalf("ingest on SQLite: exit %d\n%s%s", code, out, errOut)
	}
	lite, err := sqlitestore.Open(t.Context(), filepath.Join(dir, "data", "state", "rawland.db"))
	if err != nil {
		t.Fatal(err)
	}
	lite.PutDLQ(t.Context(), []state.DLQEntry{{Stream: "things", RunID: "r", ID: "9", URL: "http://x/9", Error: "404", Status: 404}})
	liteCursor, _ := lite.Cursor(t.Context(), "things")
	lite.Close()

	t.Setenv("RAWLAND_STATE_DSN", "") // the default variable: unset
	if code, _, errOut := rawland(t, dir, "state", "migrate", "--to", "postgres"); code != exitUsage || !strings.Contains(errOut, "RAWLAND_STATE_DSN is not set") {
		t.Fatalf("without a DSN: exit %d: %s", code, errOut)
	}
	t.Setenv("RAWLAND_STATE_DSN", dsn)
	// the config still says sqlite: migrate uses the default schema name,
	// so point it at this test's schema through the config
	os.WriteFile(filepath.Join(dir, "rawland.yaml"), []byte(strings.ReplaceAll(strings.ReplaceAll(liteCfg, "{{URL}}", hs.URL), "data_dir: data\n", "data_dir: data\nstate: {backend: postgres, dsn_env: RAWLAND_STATE_DSN, schema: "+schema+"}\n")), 0o644)
	code, out, errOut := rawland(t, dir, "state", "migrate", "--to", "postgres")
	if code != 0 || !strings.Contains(out, "migrated 1 runs, 1 cursors, 1 dead letters") {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := rawland(t, dir, "state", "migrate", "--to", "postgres"); code != exitFailed || !strings.Contains(errOut, "already holds") {
		t.Fatalf("second migrate: exit %d: %s", code, errOut)
	}
	pg, err := pgstore.Open(t.Context(), pgstore.Options{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if c, _ := pg.Cursor(t.Context(), "things"); c != liteCursor || c == "" {
		t.Fatalf("cursor in PostgreSQL = %q, SQLite had %q", c, liteCursor)
	}
	if d, _ := pg.ListDLQ(t.Context(), ""); len(d) != 1 || d[0].ID != "9" {
		t.Fatalf("dlq in PostgreSQL = %+v", d)
	}
	up.change(rand.New(rand.NewPCG(1, 1)), 0) // one new record
	if code, out, errOut := rawland(t, dir, "ingest"); code != 0 {
		t.Fatalf("ingest on PostgreSQL: exit %d\n%s%s", code, out, errOut)
	}
	runs, _ := pg.List(t.Context(), state.RunFilter{Stream: "things"})
	if len(runs) != 2 || runs[0].Records > 2 || runs[0].CursorBefore != liteCursor {
		t.Fatalf("runs after the switch = %+v; want a second run that continued from %s", runs, liteCursor)
	}
}
