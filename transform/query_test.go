package transform

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	sqlfiles "github.com/rawland/rawland/sql"
	"github.com/rawland/rawland/state"
)

func TestQuery(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}})
	e.land("items", state.KindIngest, item(1, "a,b", t1), item(2, `say "hi"`, t3), `{"id":3,"v":1}`)
	e.transform()
	ctx := context.Background()
	q := `SELECT id, v, updated_at, [id, id] AS l, {'k': v} AS s, NULL AS n FROM items ORDER BY id`
	for _, tc := range []struct {
		format string
		want   string
	}{
		{FormatTable, "id  v         updated_at            l      s                   n\n" +
			"--  -         ----------            -      -                   -\n" +
			"1   a,b       2024-01-01T10:00:00Z  [1,1]  {\"k\":\"a,b\"}         NULL\n" +
			"2   say \"hi\"  2024-01-03T08:00:00Z  [2,2]  {\"k\":\"say \\\"hi\\\"\"}  NULL\n(2 rows)\n"},
		{FormatCSV, "id,v,updated_at,l,s,n\n1,\"a,b\",2024-01-01T10:00:00Z,\"[1,1]\",\"{\"\"k\"\":\"\"a,b\"\"}\",\n" +
			"2,\"say \"\"hi\"\"\",2024-01-03T08:00:00Z,\"[2,2]\",\"{\"\"k\"\":\"\"say \\\"\"hi\\\"\"\"\"}\",\n"},
	} {
		var b strings.Builder
		if err := Query(ctx, e.wh, q, tc.format, &b); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%s:\n%s\nwant:\n%s", tc.format, b.String(), tc.want)
		}
	}
	var b strings.Builder
	if err := Query(ctx, e.wh, q, FormatJSON, &b); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatalf("json output %q: %v", b.String(), err)
	}
	if len(got) != 2 || got[1]["v"] != `say "hi"` || got[0]["updated_at"] != "2024-01-01T10:00:00Z" || got[0]["n"] != nil ||
		got[0]["s"].(map[string]any)["k"] != "a,b" || len(got[0]["l"].([]any)) != 2 {
		t.Errorf("json: %s", b.String())
	}
	if !strings.HasPrefix(b.String(), "[\n  {\"id\": 1, \"v\": ") {
		t.Errorf("json keys must keep column order: %s", b.String())
	}
	// Read-only: writes fail and change nothing.
	if err := Query(ctx, e.wh, `DELETE FROM items`, FormatTable, &b); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("DELETE on the read-only warehouse: %v", err)
	}
	if n := e.one(`SELECT count(*) FROM items`); n != "2" {
		t.Errorf("%s rows after the refused DELETE", n)
	}
	if err := Query(ctx, filepath.Join(e.dir, "none.duckdb"), "SELECT 1", FormatTable, &b); !errors.Is(err, ErrNoWarehouse) {
		t.Errorf("missing warehouse: %v", err)
	}
}

// The shipped views exist and answer; Counts sums per stream.
func TestViewsAndCounts(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}, "other": {schema: itemSchema}})
	e.land("items", state.KindIngest, item(1, "a", t1), `{"id":2,"v":2,"extra":1}`, `{"id":3,"v":3}`)
	e.land("other", state.KindIngest, item(1, "a", t1))
	pending := e.land("other", state.KindIngest, item(2, "b", t1))
	e.transform(func(o *Options) { o.Streams = []string{"items"} })
	e.transform(func(o *Options) { o.Streams = []string{"other"} })
	_ = pending
	for _, v := range sqlfiles.Views() {
		e.query(`SELECT * FROM rawland.` + v.Name)
	}
	for _, x := range sqlfiles.Examples() {
		e.query(x.SQL)
	}
	if got := e.query(`SELECT stream, runs_waiting, cursor FROM rawland.freshness ORDER BY stream`); len(got) != 2 || got[0][1] != "0" {
		t.Errorf("freshness: %v", got)
	}
	if got := e.query(`SELECT stream, path, waiting FROM rawland.quarantine_summary`); len(got) != 1 || got[0][1] != "v" || got[0][2] != "2" {
		t.Errorf("quarantine summary: %v", got)
	}
	if got := e.query(`SELECT path, kind, records FROM rawland.drift_summary ORDER BY path, kind`); len(got) != 2 ||
		strings.Join(got[0], " ") != "extra new_field 1" || strings.Join(got[1], " ") != "v type_changed 2" {
		t.Errorf("drift summary: %v", got)
	}
	if got := e.query(`SELECT stream, status, inserted, quarantined FROM rawland.run_history ORDER BY run_id`); len(got) != 3 ||
		strings.Join(got[0], " ") != "items transformed 1 2" {
		t.Errorf("run history: %v", got)
	}
	c, err := Counts(context.Background(), e.wh)
	if err != nil {
		t.Fatal(err)
	}
	if c["items"] != (StreamCounts{Rows: 1, Quarantined: 2, Drift: 2}) || c["other"] != (StreamCounts{Rows: 2}) {
		t.Errorf("counts: %+v", c)
	}
	if c, err := Counts(context.Background(), filepath.Join(e.dir, "none.duckdb")); err != nil || len(c) != 0 {
		t.Errorf("counts of a missing warehouse: %v %v", c, err)
	}
}
