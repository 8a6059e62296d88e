package transform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/rawland/rawland/state"
)

// chunkedRun is one run with in-run duplicates and a quarantined record,
// long enough to be appended in several transactions with the tests'
// chunk size of 3 rows and batch size of 2.
func chunkedRun() []string {
	var recs []string
	for i := 1; i <= 12; i++ {
		recs = append(recs, item(i, fmt.Sprintf("v%d", i), t1))
	}
	return append(recs, item(3, "newer", t2), `{"id":"bad"}`, item(5, "same cursor, last landed", t1), item(14, "x", ""))
}

// TestDirectLoadInChunks checks that a run appended in several
// transactions ends exactly as the staged merge of the same run, and that
// a load stopped after some chunks were committed leaves nothing behind:
// the rows are removed (at once, or when the warehouse is next opened
// after a crash) and the next transform loads the run from its start.
func TestDirectLoadInChunks(t *testing.T) {
	tables := func(e *env) [][]string {
		return e.query(`SELECT id, v, _rawland_cursor FROM main."items" ORDER BY id`)
	}
	report := func(e *env) string {
		return e.one(`SELECT report->>'$.inserted' || '/' || (report->>'$.duplicates') || '/' || (report->>'$.quarantined') FROM rawland.transformed ORDER BY run_id DESC LIMIT 1`)
	}
	newItems := func() *env {
		e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}})
		e.land("items", state.KindIngest, item(1, "before", t1), item(2, "before", t3))
		e.transform()
		e.land("items", state.KindIngest, chunkedRun()...)
		return e
	}
	staged := newItems()
	staged.transform(func(o *Options) { o.staged = true })
	want, wantReport := tables(staged), report(staged)

	t.Run("chunked", func(t *testing.T) {
		e := newItems()
		e.transform(func(o *Options) { o.chunkRows = 3; o.BatchSize = 2 })
		if got := tables(e); !reflect.DeepEqual(got, want) {
			t.Errorf("rows:\ngot  %v\nwant %v", got, want)
		}
		if got := report(e); got != wantReport {
			t.Errorf("report %s, want %s", got, wantReport)
		}
	})
	t.Run("batches ended by their bytes", func(t *testing.T) {
		// batches of up to 1000 records (one batch), but ended once they
		// hold twice a record's bytes: the same rows and report, in a batch
		// per 2 or 3 records
		for _, staged := range []bool{false, true} {
			e := newItems()
			batches := 0
			e.transform(func(o *Options) {
				o.BatchSize, o.batchBytes, o.staged = 1000, 2*len(item(10, "v10", t1)), staged
				o.afterBatch = func() { batches++ }
			})
			if got := tables(e); !reflect.DeepEqual(got, want) {
				t.Errorf("staged %v, rows:\ngot  %v\nwant %v", staged, got, want)
			}
			if got := report(e); got != wantReport {
				t.Errorf("staged %v, report %s, want %s", staged, got, wantReport)
			}
			if n := len(chunkedRun()); batches < n/3 {
				t.Errorf("staged %v: %d records in %d batches, want at least %d", staged, n, batches, n/3)
			}
		}
	})
	t.Run("out of memory under the load's limit", func(t *testing.T) {
		// DuckDB cannot append under 1 MiB: the load is rolled back (its
		// committed chunks removed) and done again under the whole limit
		e := newItems()
		var logs strings.Builder
		e.transform(func(o *Options) {
			o.chunkRows, o.BatchSize, o.loadLimit = 3, 2, 1<<20
			o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		})
		if got := tables(e); !reflect.DeepEqual(got, want) {
			t.Errorf("rows:\ngot  %v\nwant %v", got, want)
		}
		if got := report(e); got != wantReport {
			t.Errorf("report %s, want %s", got, wantReport)
		}
		if !strings.Contains(logs.String(), "loading again under the whole memory limit") {
			t.Errorf("the load was not done again under the whole limit; log:\n%s", logs.String())
		}
	})
	t.Run("stopped after chunks were committed", func(t *testing.T) {
		e := newItems()
		ctx, cancel := context.WithCancel(context.Background())
		batches := 0
		o := e.options()
		o.chunkRows, o.BatchSize = 3, 2
		o.afterBatch = func() {
			if batches++; batches == 5 {
				cancel()
			}
		}
		if _, err := Run(ctx, o); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v, want cancelled", err)
		}
		if got := e.one(`SELECT count(*) FROM main."items"`); got != "2" {
			t.Fatalf("after the stopped load the table has %s rows, want the 2 from before", got)
		}
		e.transform()
		if got := tables(e); !reflect.DeepEqual(got, want) {
			t.Errorf("rows after the next transform:\ngot  %v\nwant %v", got, want)
		}
	})
	t.Run("a chunk's commit fails", func(t *testing.T) {
		// chunks are committed on a goroutine of their own while the next
		// chunk's batches queue (rotateAsync): a commit that fails, before
		// or after the commit itself, fails the load, leaves only the rows
		// from before, and the next transform loads the run whole
		for _, after := range []bool{false, true} {
			for _, at := range []int{1, 3} {
				e := newItems()
				o := e.options()
				o.chunkRows, o.BatchSize = 3, 2
				boom := errors.New("the disk is gone")
				o.rotateFault = func(chunk int, committed bool) error {
					if chunk == at && committed == after {
						return boom
					}
					return nil
				}
				if _, err := Run(context.Background(), o); !errors.Is(err, boom) {
					t.Fatalf("chunk %d, after the commit %v: Run: %v, want the fault", at, after, err)
				}
				if got := e.one(`SELECT count(*) FROM main."items"`); got != "2" {
					t.Fatalf("chunk %d, after the commit %v: the failed load left %s rows, want the 2 from before", at, after, got)
				}
				e.transform()
				if got := tables(e); !reflect.DeepEqual(got, want) {
					t.Errorf("chunk %d, after the commit %v: rows after the next transform:\ngot  %v\nwant %v", at, after, got, want)
				}
			}
		}
	})
	t.Run("crashed after chunks were committed", func(t *testing.T) {
		e := newItems()
		batches := 0
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "crash") {
					t.Fatalf("recovered %v, want the test's crash", r)
				}
			}()
			e.transform(func(o *Options) {
				o.chunkRows, o.BatchSize = 3, 2
				o.afterBatch = func() {
					if batches++; batches == 5 {
						panic("crash")
					}
				}
			})
		}()
		e.transform()
		if got := tables(e); !reflect.DeepEqual(got, want) {
			t.Errorf("rows after the next transform:\ngot  %v\nwant %v", got, want)
		}
		if got := report(e); got != wantReport {
			t.Errorf("report %s, want %s", got, wantReport)
		}
	})
}

// TestDirectLoadSeesKeysAsDuckDBDoes checks that the direct load's key
// filter treats keys DuckDB holds as equal as one key, whatever their
// spelling in the landed record (1, 1.0 and 1e0 for a number key; a
// timestamp with an offset and the same instant in UTC), so the repeated
// versions collapse exactly as in the staged merge.
func TestDirectLoadSeesKeysAsDuckDBDoes(t *testing.T) {
	const schema = `{"type": "object", "required": ["id", "at"], "properties": {
  "id": {"type": "number"}, "at": {"type": "string", "format": "date-time"}, "v": {"type": "string"}}}`
	recs := []string{
		`{"id":1,"at":"2024-01-01T10:00:00Z","v":"a"}`,
		`{"id":1.0,"at":"2024-01-01T12:00:00+02:00","v":"b"}`,
		`{"id":1e0,"at":"2024-01-01T10:00:00.000Z","v":"c"}`,
		`{"id":-0,"at":"2024-01-01T10:00:00Z","v":"d"}`,
		`{"id":0.0,"at":"2024-01-01T10:00:00Z","v":"e"}`,
		`{"id":2,"at":"2024-01-01T10:00:00Z","v":"f"}`,
	}
	run := func(staged bool) ([][]string, string) {
		e := newEnv(t, map[string]streamSpec{"k": {schema: schema, pk: "[id, at]"}})
		e.land("k", state.KindIngest, recs...)
		e.transform(func(o *Options) { o.staged = staged })
		return e.query(`SELECT id, "at", v FROM main."k" ORDER BY id, "at"`),
			e.one(`SELECT report->>'$.inserted' || '/' || (report->>'$.duplicates') FROM rawland.transformed`)
	}
	direct, directCounts := run(false)
	staged, stagedCounts := run(true)
	if !reflect.DeepEqual(direct, staged) || directCounts != stagedCounts {
		t.Errorf("direct %v %s\nstaged %v %s", direct, directCounts, staged, stagedCounts)
	}
	if directCounts != "3/3" {
		t.Errorf("inserted/duplicates %s, want 3/3 (keys 1, 0 and 2)", directCounts)
	}
}

// TestKeyFilterIsBounded: the key filter grows with the run up to 16 MiB
// and no further; filled with twice the keys that size is made for, it
// still passes most new keys (few candidates), and it never misses a key
// it was given.
func TestKeyFilterIsBounded(t *testing.T) {
	small, free := newKeyFilter(1000)
	free()
	if len(small) >= maxFilterWords {
		t.Errorf("a filter for 1,000 keys has %d words", len(small))
	}
	f, free := newKeyFilter(maxFilterKeys * 10)
	defer free()
	if len(f) != maxFilterWords {
		t.Fatalf("a filter for %d keys has %d words, want the cap %d", maxFilterKeys*10, len(f), maxFilterWords)
	}
	if testing.Short() {
		return
	}
	// splitmix64: distinct, well-mixed key hashes
	hash := func(i uint64) uint64 {
		z := i + 0x9e3779b97f4a7c15
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		return z ^ z>>31
	}
	n := uint64(maxFilterKeys)
	var fp uint64
	for i := range n {
		if f.testAndAdd(hash(i)) {
			fp++
		}
	}
	for i := uint64(0); i < n; i += 997 {
		if !f.testAndAdd(hash(i)) {
			t.Fatalf("key %d was added but the filter does not know it", i)
		}
	}
	// the candidates while filling it: a few percent (the last keys see
	// up to 9%)
	rate := float64(fp) / float64(n)
	t.Logf("%d keys into %d MiB: %.2f%% candidates", n, len(f)*8>>20, 100*rate)
	if rate > 0.05 {
		t.Errorf("%.1f%% of %d distinct keys were candidates, want under 5%%", 100*rate, n)
	}
}
