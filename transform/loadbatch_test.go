package transform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
)

// batchedRuns are runs in which later runs update, repeat, and send stale
// versions of earlier runs' keys, with in-run duplicates, records without
// a cursor, a quarantined record, drift, and a reconcile run in the
// middle (which is never batched).
var batchedRuns = []landed{
	ingest(item(1, "a", t1), item(2, "a", t1), item(3, "a", t1), item(1, "a2", t1), item(9, "x", "")),
	ingest(item(1, "b", t2), item(2, "a", t1), item(4, "a", t2), `{"id":"not a number"}`, item(9, "y", "")),
	ingest(item(1, "old", t1), item(2, "c", t1), item(9, "x", "")),
	ingest(item(1, "b", t2), `{"id":6,"v":"n","new_field":true}`, item(3, "d", t3), item(9, "y", t1)),
	ingest(item(1, "e", t3), item(4, "a", t2), item(5, "a", t1), item(5, "b", t1), item(9, "z", ""), item(6, "newer", t3), item(6, "older", t2)),
	reconcile(item(1, "e", t3), item(2, "r", t1), item(7, "r", t1)),
	ingest(item(2, "s", t2), item(7, "s", t2), `{"id":8,"v":false}`),
	ingest(item(2, "s", t2), item(7, "t", t1), item(8, "u", t3)),
}

// TestRunBatching checks that consecutive small ingest runs are merged in
// one transaction, and that the warehouse ends up exactly as when each run
// is merged in its own transaction: rows and their lineage, each run's
// report, quarantine and drift; and that the direct load (direct.go,
// settle.go) and staging then merging give the same warehouse, batched or
// not.
func TestRunBatching(t *testing.T) {
	type outcome struct {
		commits int
		tables  map[string][][]string
	}
	run := func(maxRuns int, staged bool, opts ...func(*Options)) outcome {
		e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}})
		var ids []string
		for _, l := range batchedRuns {
			ids = append(ids, e.land("items", l.kind, l.records...).ID)
		}
		var o outcome
		e.transform(func(o2 *Options) {
			o2.maxBatchRuns = maxRuns
			o2.staged = staged
			o2.afterCommit = func() { o.commits++ }
			for _, f := range opts {
				f(o2)
			}
		})
		for _, id := range ids {
			if st := e.runStatus(id); st != state.StatusTransformed {
				t.Fatalf("run %s: status %s, want transformed", id, st)
			}
		}
		// run IDs differ between the two data directories: name runs by position
		runName := func(rows [][]string) [][]string {
			for _, row := range rows {
				for j := range row {
					for i, id := range ids {
						row[j] = strings.ReplaceAll(row[j], id, fmt.Sprintf("run%d", i+1))
					}
				}
			}
			return rows
		}
		o.tables = map[string][][]string{}
		for name, q := range map[string]string{
			"items":       `SELECT * EXCLUDE (_rawland_deleted_at) FROM main."items" ORDER BY id`,
			"transformed": `SELECT run_id, kind, landed_at, report FROM rawland.transformed ORDER BY run_id`,
			"quarantine":  `SELECT run_id, file, line, record, errors::VARCHAR FROM rawland.quarantine ORDER BY run_id, line`,
			"drift":       `SELECT run_id, path, kind, count, example, first_seen FROM rawland.drift ORDER BY run_id, path`,
		} {
			o.tables[name] = runName(e.query(q))
		}
		return o
	}
	batched, oneByOne := run(0, false), run(1, false)
	if oneByOne.commits != len(batchedRuns) {
		t.Fatalf("one run per transaction: %d commits, want %d", oneByOne.commits, len(batchedRuns))
	}
	// runs 1-5, the reconcile run 6, runs 7-8
	if batched.commits != 3 {
		t.Errorf("batched: %d commits, want 3", batched.commits)
	}
	for _, name := range []string{"items", "transformed", "quarantine", "drift"} {
		if !reflect.DeepEqual(batched.tables[name], oneByOne.tables[name]) {
			t.Errorf("%s differs:\nbatched:     %v\none by one:  %v", name, batched.tables[name], oneByOne.tables[name])
		}
	}
	for _, c := range []struct {
		name string
		o    outcome
	}{
		{"staged, batched", run(0, true)},
		{"staged, one by one", run(1, true)},
		// the streamed INSERT ended for every key candidate and every
		// quarantined record, and a commit every 3 rows
		{"direct, batched, INSERT ended often", run(0, false, func(o *Options) { o.holdRows, o.chunkRows = 1, 3 })},
		// a load too large for a key filter: the settle finds the
		// repeated keys itself
		{"direct, batched, no key filter", run(0, false, func(o *Options) { o.filterKeys = 1 })},
	} {
		for _, name := range []string{"items", "transformed", "quarantine", "drift"} {
			if !reflect.DeepEqual(c.o.tables[name], oneByOne.tables[name]) {
				t.Errorf("%s: %s differs:\n%s: %v\ndirect, one by one:  %v", c.name, name, c.name, c.o.tables[name], oneByOne.tables[name])
			}
		}
	}
	// (with the tests' batch size of 4, the record with a new field shares
	// its Arrow batch with the previous run's records)
	// the data really exercises the merge rule across runs
	var sawStale, sawUnchanged, sawDup bool
	for _, row := range oneByOne.tables["transformed"] {
		sawStale = sawStale || !strings.Contains(row[3], `"stale":0`)
		sawUnchanged = sawUnchanged || !strings.Contains(row[3], `"unchanged":0`)
		sawDup = sawDup || !strings.Contains(row[3], `"duplicates":0`)
	}
	if !sawStale || !sawUnchanged || !sawDup || len(oneByOne.tables["quarantine"]) == 0 || len(oneByOne.tables["drift"]) == 0 {
		t.Errorf("test data does not cover stale, unchanged, duplicates, quarantine and drift: %v", oneByOne.tables)
	}
}

func TestBatchEnd(t *testing.T) {
	runs := func(specs ...string) []landedRun {
		var out []landedRun
		for _, s := range specs {
			var n int64
			kind := state.KindIngest
			if strings.HasPrefix(s, "r") {
				kind, s = state.KindReconcile, s[1:]
			}
			fmt.Sscan(s, &n)
			out = append(out, landedRun{run: state.Run{Kind: kind, Records: n}})
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		runs       []landedRun
		i, records int
		maxRuns    int
		want       int
	}{
		{"small runs up to the record bound", runs("40", "40", "40", "40"), 0, 100, 10, 2},
		{"up to the run bound", runs("1", "1", "1", "1"), 0, 100, 3, 3},
		{"a reconcile run ends the batch", runs("1", "r1", "1"), 0, 100, 10, 1},
		{"a reconcile run is a batch of its own", runs("1", "r1", "1"), 1, 100, 10, 2},
		{"a big run is a batch of its own", runs("500", "1"), 0, 100, 10, 1},
		{"a big run ends the batch", runs("1", "500"), 0, 100, 10, 1},
		{"the last runs", runs("1", "1", "1"), 1, 100, 10, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := batchEnd(tc.runs, tc.i, tc.records, tc.maxRuns); got != tc.want {
				t.Errorf("batchEnd = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestBatchOfRunsStopsWhole checks that a batch of runs stops whole: a run
// whose part does not match its manifest fails the batch with the run
// named and nothing of the batch committed, as does a transform cancelled
// in the middle of the batch; the next transform then loads every run.
func TestBatchOfRunsStopsWhole(t *testing.T) {
	const runs, perRun = 6, 300
	setup := func(t *testing.T) (*env, []state.Run) {
		e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}})
		e.land("items", state.KindIngest, item(-1, "before", t1))
		e.transform()
		var landed []state.Run
		for r := range runs {
			var recs []string
			for i := range perRun {
				recs = append(recs, item(r*1000+i, fmt.Sprintf("r%d", r), t1))
			}
			landed = append(landed, e.land("items", state.KindIngest, recs...))
		}
		return e, landed
	}
	nothingCommitted := func(t *testing.T, e *env, landed []state.Run) {
		t.Helper()
		for _, r := range landed {
			if st := e.runStatus(r.ID); st != state.StatusCommitted {
				t.Errorf("run %s: status %s, want committed", r.ID, st)
			}
		}
		if got := e.one(`SELECT count(*) FROM rawland.transformed`); got != "1" {
			t.Errorf("%s runs marked transformed in the warehouse, want the 1 from before", got)
		}
		if got := e.one(`SELECT count(*) FROM main."items"`); got != "1" {
			t.Errorf("the table has %s rows, want the 1 from before", got)
		}
	}
	allLoaded := func(t *testing.T, e *env, landed []state.Run) {
		t.Helper()
		rep := e.transform()
		if n := len(rep.Streams[0].Runs); n != runs {
			t.Errorf("the next transform reported %d runs, want %d", n, runs)
		}
		if got, want := e.one(`SELECT count(*) FROM main."items"`), fmt.Sprint(1+runs*perRun); got != want {
			t.Errorf("the table has %s rows, want %s", got, want)
		}
		for _, r := range landed {
			if st := e.runStatus(r.ID); st != state.StatusTransformed {
				t.Errorf("run %s: status %s, want transformed", r.ID, st)
			}
		}
	}
	t.Run("a corrupt run", func(t *testing.T) {
		e, landed := setup(t)
		bad := landed[3]
		dir := e.zone.RawDir("items", bad.ID)
		m, err := landing.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		part := filepath.Join(dir, m.Files[0].Name)
		data, err := os.ReadFile(part)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, part, string(data)+item(99999, "smuggled", t1)+"\n")
		_, err = Run(context.Background(), e.options())
		if !errors.Is(err, landing.ErrCorrupt) || !strings.Contains(err.Error(), bad.ID) {
			t.Fatalf("transform: %v, want ErrCorrupt naming run %s", err, bad.ID)
		}
		nothingCommitted(t, e, landed)
		writeFile(t, part, string(data))
		allLoaded(t, e, landed)
	})
	t.Run("cancelled", func(t *testing.T) {
		e, landed := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		batches := 0
		o := e.options()
		o.afterBatch = func() {
			if batches++; batches == 20 {
				cancel()
			}
		}
		if _, err := Run(ctx, o); !errors.Is(err, context.Canceled) {
			t.Fatalf("transform: %v, want cancelled", err)
		}
		nothingCommitted(t, e, landed)
		allLoaded(t, e, landed)
	})
}
