package transform

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"
	_ "github.com/duckdb/duckdb-go/v2" // database/sql driver "duckdb" for reading results

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/sqlitestore"
)

// env is a data directory with a config, a state store and a landing zone,
// in which tests land runs and transform them.
type env struct {
	t       testing.TB
	dir     string
	cfg     *config.Config
	schemas map[string]*Schema
	store   *sqlitestore.Store
	zone    landing.Zone
	wh      string
	clock   time.Time
	// rollBytes is the landing part size (small, so tests read several parts).
	rollBytes int64
	// mem allocates the Arrow batches of every transform and replay of
	// the env; when the test ends, every batch must have been released
	// (batchMem is C memory: a batch never released is never freed).
	mem poisonMem
}

// poisonMem is C memory (as batchMem) that overwrites a buffer when it is
// freed: a batch read after its last release (a use after free) then
// reads 0xA5 bytes, which the tests' comparisons of tables see, instead
// of the data it had.
type poisonMem struct{ *mallocator.Mallocator }

func (m poisonMem) Free(b []byte) {
	for i := range b {
		b[i] = 0xA5
	}
	m.Mallocator.Free(b)
}

// streamSpec configures one test stream.
type streamSpec struct {
	schema string // JSON Schema text
	pk     string // YAML list, default [id]
	cursor string // cursor field, "" for none
}

func newEnv(t testing.TB, streams map[string]streamSpec) *env {
	t.Helper()
	dir := t.TempDir()
	var y strings.Builder
	fmt.Fprintf(&y, "data_dir: %s\nsources:\n  up: {base_url: \"http://127.0.0.1:1\"}\ntransform: {lock_wait: 1s, batch_size: 4}\nstreams:\n", dir)
	for name, sp := range streams {
		writeFile(t, filepath.Join(dir, "schemas", name+".json"), sp.schema)
		pk := sp.pk
		if pk == "" {
			pk = "[id]"
		}
		fmt.Fprintf(&y, "  %s:\n    source: up\n    path: /%s\n    primary_key: %s\n    schema: schemas/%s.json\n", name, name, pk, name)
		if sp.cursor != "" {
			fmt.Fprintf(&y, "    cursor: {field: %s, param: since}\n", sp.cursor)
		}
	}
	cfgPath := filepath.Join(dir, "rawland.yaml")
	writeFile(t, cfgPath, y.String())
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "state", "rawland.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{t: t, dir: dir, cfg: cfg, store: store, zone: landing.Zone{Dir: dir}, wh: filepath.Join(dir, "warehouse.duckdb"),
		clock: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), rollBytes: 4 << 10, mem: poisonMem{mallocator.NewMallocator()}}
	t.Cleanup(func() {
		if n := e.mem.AllocatedBytes(); n != 0 {
			t.Errorf("%d bytes of Arrow batches were never released", n)
		}
	})
	e.compile()
	return e
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// compile (re)compiles the schemas, e.g. after a test changed a schema file.
func (e *env) compile() {
	e.t.Helper()
	s, err := CompileSchemas(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.schemas = s
}

// setSchema replaces a stream's schema file and recompiles.
func (e *env) setSchema(stream, schema string) {
	e.t.Helper()
	writeFile(e.t, filepath.Join(e.dir, "schemas", stream+".json"), schema)
	e.compile()
}

// land lands records as one committed run, the way ingest does: staging
// writer → Finish → commit in the state store → publish.
func (e *env) land(stream string, kind state.Kind, records ...string) state.Run {
	e.t.Helper()
	return e.landFunc(stream, kind, func(write func([]byte) error) error {
		for _, r := range records {
			if err := write([]byte(r)); err != nil {
				return err
			}
		}
		return nil
	})
}

// landFunc lands the records gen writes as one committed run.
func (e *env) landFunc(stream string, kind state.Kind, gen func(write func([]byte) error) error) state.Run {
	e.t.Helper()
	ctx := context.Background()
	e.clock = e.clock.Add(time.Minute)
	id := state.NewRunID(e.clock)
	if _, err := e.store.Acquire(ctx, state.Lease{Stream: stream, RunID: id}, time.Hour); err != nil {
		e.t.Fatal(err)
	}
	run := state.Run{ID: id, Stream: stream, Kind: kind, StartedAt: e.clock}
	if err := e.store.Begin(ctx, run); err != nil {
		e.t.Fatal(err)
	}
	w, err := landing.NewWriter(e.zone, stream, id, landing.Manifest{Kind: string(kind), StartedAt: e.clock}, landing.Options{RollBytes: e.rollBytes})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := gen(w.Write); err != nil {
		e.t.Fatal(err)
	}
	m, err := w.Finish("", kind == state.KindReconcile)
	if err != nil {
		e.t.Fatal(err)
	}
	run.Records, run.Bytes, run.Complete = m.Records, m.Bytes, m.Complete
	run.FinishedAt = e.clock.Add(time.Second)
	if err := e.store.Commit(ctx, run, false); err != nil {
		e.t.Fatal(err)
	}
	if err := e.zone.Publish(stream, id); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.Release(ctx, stream, id); err != nil {
		e.t.Fatal(err)
	}
	run.Status = state.StatusCommitted
	return run
}

func (e *env) options() Options {
	return Options{Config: e.cfg, Schemas: e.schemas, Runs: e.store, Zone: e.zone, Warehouse: e.wh, mem: e.mem}
}

// transform runs Run and fails the test on error.
func (e *env) transform(mod ...func(*Options)) Report {
	e.t.Helper()
	o := e.options()
	for _, m := range mod {
		m(&o)
	}
	rep, err := Run(context.Background(), o)
	if err != nil {
		e.t.Fatalf("transform: %v", err)
	}
	return rep
}

// query runs a query on the warehouse (read-only) and returns the rows as
// strings (NULL as "NULL").
func (e *env) query(q string, args ...any) [][]string {
	e.t.Helper()
	return e.queryAt(e.wh, q, args...)
}

// queryAt is query on another warehouse file.
func (e *env) queryAt(path, q string, args ...any) [][]string {
	e.t.Helper()
	db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.ColumnTypes()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			e.t.Fatalf("%s: %v", q, err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "NULL"
			if v != nil {
				row[i] = text(plain(v, cols[i].DatabaseTypeName()))
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return out
}

// one returns the single value of a one-row, one-column query.
func (e *env) one(q string, args ...any) string {
	e.t.Helper()
	rows := e.query(q, args...)
	if len(rows) != 1 || len(rows[0]) != 1 {
		e.t.Fatalf("%s: want one value, got %v", q, rows)
	}
	return rows[0][0]
}

// runStatus returns a run's status in the state store.
func (e *env) runStatus(id string) state.Status {
	e.t.Helper()
	r, err := e.store.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Status
}

// githubIssues returns the issues of a recording (the GET pages' bodies),
// each exactly as recorded.
func githubIssues(t *testing.T, date string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "github-issues", "history", "raw-fixture-"+date+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var interactions []struct {
		Method   string          `json:"method"`
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(data, &interactions); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range interactions {
		if !strings.EqualFold(in.Method, "get") {
			continue
		}
		var page []json.RawMessage
		if err := json.Unmarshal(in.Response, &page); err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			out = append(out, string(r))
		}
	}
	return out
}

var recordingDates = []string{"2018-06-09", "2020-01-10", "2021-01-21", "2022-07-19"}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
