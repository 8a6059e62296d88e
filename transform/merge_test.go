package transform

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/rawland/rawland/state"
)

const itemSchema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["id"],
  "properties": {
    "id": {"type": "integer"},
    "v": {"type": "string"},
    "updated_at": {"type": "string", "format": "date-time"}
  }
}`

func item(id int, v, updated string) string {
	if updated == "" {
		return fmt.Sprintf(`{"id":%d,"v":%q}`, id, v)
	}
	return fmt.Sprintf(`{"id":%d,"v":%q,"updated_at":%q}`, id, v, updated)
}

const (
	t1 = "2024-01-01T10:00:00Z"
	t2 = "2024-01-02T10:00:00Z"
	t3 = "2024-01-03T10:00:00+02:00" // later than t2 in UTC too
)

type landed struct {
	kind    state.Kind
	records []string
}

func ingest(recs ...string) landed    { return landed{state.KindIngest, recs} }
func reconcile(recs ...string) landed { return landed{state.KindReconcile, recs} }

// counts is "inserted/updated/unchanged/stale/duplicates/quarantined".
func counts(r RunReport) string {
	return fmt.Sprintf("%d/%d/%d/%d/%d/%d", r.Inserted, r.Updated, r.Unchanged, r.Stale, r.Duplicates, r.Quarantined)
}

func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cursor string
		runs   []landed
		want   string   // id=v,… ordered by id
		counts []string // per run
	}{
		{"an older version from a later run does not overwrite", "updated_at",
			[]landed{ingest(item(1, "new", t2)), ingest(item(1, "old", t1))},
			"1=new", []string{"1/0/0/0/0/0", "0/0/0/1/0/0"}},
		{"a newer version replaces", "updated_at",
			[]landed{ingest(item(1, "old", t1)), ingest(item(1, "new", t3))},
			"1=new", []string{"1/0/0/0/0/0", "0/1/0/0/0/0"}},
		{"an equal cursor from a later run replaces", "updated_at",
			[]landed{ingest(item(1, "a", t1)), ingest(item(1, "b", t1))},
			"1=b", []string{"1/0/0/0/0/0", "0/1/0/0/0/0"}},
		{"a version without cursor never replaces a dated one", "updated_at",
			[]landed{ingest(item(1, "dated", t1)), ingest(item(1, "undated", ""))},
			"1=dated", []string{"1/0/0/0/0/0", "0/0/0/1/0/0"}},
		{"a re-delivered identical record is unchanged", "updated_at",
			[]landed{ingest(item(1, "a", t1)), ingest(`{"v":"a","id":1, "updated_at":"` + t1 + `"}`)},
			"1=a", []string{"1/0/0/0/0/0", "0/0/1/0/0/0"}},
		{"duplicates inside a run collapse to the newest, last landed on ties", "updated_at",
			[]landed{ingest(item(1, "x", t1), item(1, "y", t2), item(1, "z", t2), item(1, "older", t1), item(2, "only", t1))},
			"1=z,2=only", []string{"2/0/0/0/3/0"}},
		{"without a cursor the later run wins", "",
			[]landed{ingest(item(1, "a", t2)), ingest(item(1, "b", t1))},
			"1=b", []string{"1/0/0/0/0/0", "0/1/0/0/0/0"}},
		{"reconcile replaces a newer-dated row with the snapshot's backdated truth", "updated_at",
			[]landed{ingest(item(1, "edited", t2), item(2, "same", t1)), reconcile(item(1, "truth", t1), item(2, "same", t1), item(3, "missed", t1))},
			"1=truth,2=same,3=missed", []string{"2/0/0/0/0/0", "1/1/1/0/0/0"}},
		{"an ingest run after a reconcile follows the cursor again", "updated_at",
			[]landed{reconcile(item(1, "truth", t2)), ingest(item(1, "late-old", t1)), ingest(item(1, "newer", t3))},
			"1=newer", []string{"1/0/0/0/0/0", "0/0/0/1/0/0", "0/1/0/0/0/0"}},
		{"invalid records are quarantined, the rest loads", "updated_at",
			[]landed{ingest(item(1, "ok", t1), `{"id":"two","v":"bad"}`, `{"v":"no id"}`, `notjson`, `[1,2]`)},
			"1=ok", []string{"1/0/0/0/0/4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: tc.cursor}})
			var ids []string
			for _, l := range tc.runs {
				ids = append(ids, e.land("items", l.kind, l.records...).ID)
			}
			rep := e.transform()
			runs := rep.Streams[0].Runs
			if len(runs) != len(tc.counts) {
				t.Fatalf("%d runs reported, want %d", len(runs), len(tc.counts))
			}
			for i, r := range runs {
				if got := counts(r); got != tc.counts[i] {
					t.Errorf("run %d: inserted/updated/unchanged/stale/duplicates/quarantined = %s, want %s", i+1, got, tc.counts[i])
				}
				if st := e.runStatus(ids[i]); st != state.StatusTransformed {
					t.Errorf("run %d is %s, want transformed", i+1, st)
				}
			}
			if got := e.one(`SELECT coalesce(string_agg(id || '=' || v, ',' ORDER BY id), '') FROM items`); got != tc.want {
				t.Errorf("table: %s, want %s", got, tc.want)
			}
			if n := e.one(`SELECT count(*) - count(DISTINCT id) FROM items`); n != "0" {
				t.Errorf("%s duplicate keys in the table", n)
			}
		})
	}
}

// The unchanged row keeps the lineage of the run that wrote it.
func TestMergeLineage(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}})
	first := e.land("items", state.KindIngest, item(1, "a", t1), item(2, "b", t1))
	second := e.land("items", state.KindIngest, item(1, "a", t1), item(2, "c", t2))
	e.transform()
	got := e.query(`SELECT id, _rawland_run_id, _rawland_landed_at = ?::TIMESTAMPTZ, _rawland_cursor, _rawland_deleted_at FROM items ORDER BY id`, landedAt(first))
	if got[0][1] != first.ID || got[0][2] != "true" || got[1][1] != second.ID || got[0][4] != "NULL" {
		t.Errorf("lineage: %v (first run %s, second %s)", got, first.ID, second.ID)
	}
	if !strings.HasPrefix(got[1][3], "2024-01-02") {
		t.Errorf("_rawland_cursor of id 2 = %s, want 2024-01-02…", got[1][3])
	}
}

// The reconcile hook runs inside the run's transaction with the snapshot's
// keys (quarantined records included); deletions it marks are cleared when
// a later snapshot has the record again.
func TestReconcileHook(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}})
	e.land("items", state.KindIngest, item(1, "a", t1), item(2, "b", t1), item(3, "c", t1), item(4, "d", t1))
	snap := e.land("items", state.KindReconcile, item(1, "a", t1), `{"id":3,"v":false}`) // 2 and 4 are gone; 3 is invalid but present
	var calls []string
	hook := func(ctx context.Context, tx *sql.Tx, run state.Run, table string) (json.RawMessage, error) {
		var keys string
		if err := tx.QueryRowContext(ctx, `SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM `+SnapshotKeysTable).Scan(&keys); err != nil {
			return nil, err
		}
		res, err := tx.ExecContext(ctx, `UPDATE `+table+` t SET _rawland_deleted_at = now()
			WHERE _rawland_deleted_at IS NULL AND _rawland_run_id < ? AND NOT EXISTS (SELECT 1 FROM `+SnapshotKeysTable+` k WHERE k.id = t.id)`, run.ID)
		if err != nil {
			return nil, err
		}
		n, _ := res.RowsAffected()
		calls = append(calls, run.ID+":"+keys)
		return json.RawMessage(fmt.Sprintf(`{"deleted":%d}`, n)), nil
	}
	rep := e.transform(func(o *Options) { o.AfterRun = hook })
	if len(calls) != 1 || calls[0] != snap.ID+":1,3" {
		t.Fatalf("hook calls %v, want one for %s with keys 1,3", calls, snap.ID)
	}
	if got := string(rep.Streams[0].Runs[1].Reconcile); got != `{"deleted":2}` {
		t.Errorf("reconcile report %s", got)
	}
	if got := e.one(`SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM items WHERE _rawland_deleted_at IS NOT NULL`); got != "2,4" {
		t.Errorf("deleted: %s, want 2,4", got)
	}
	if got := e.one(`SELECT report->'reconcile'->>'deleted' FROM rawland.transformed WHERE run_id = ?`, snap.ID); got != "2" {
		t.Errorf("transformed report keeps the hook's result: %s", got)
	}
	// 2 is back, unchanged: the later snapshot clears its deletion mark.
	back := e.land("items", state.KindReconcile, item(1, "a", t1), item(2, "b", t1), item(3, "c", t1))
	rep = e.transform(func(o *Options) { o.AfterRun = hook })
	if got := counts(rep.Streams[0].Runs[0]); got != "0/1/2/0/0/0" {
		t.Errorf("second snapshot: %s, want 0/1/2/0/0/0 (2 restored; 1 and 3 unchanged)", got)
	}
	if got := e.one(`SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM items WHERE _rawland_deleted_at IS NOT NULL`); got != "4" {
		t.Errorf("deleted after %s: %s, want 4", back.ID, got)
	}
}
