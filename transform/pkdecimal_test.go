package transform

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/state"
)

// TestKeyTyping: integer-valued keys stay distinct whatever the key's
// schema type; a key that cannot be held exactly is quarantined, never
// rounded.
func TestKeyTyping(t *testing.T) {
	cases := []struct {
		name, keyType string
		ddl           string
		keys          []string // landed ids
		rows          []string // ids in the table (as VARCHAR)
		quarantined   string   // reason of the one quarantined key, if any
	}{
		{"integer keys beyond 2^53", `"integer"`, "BIGINT",
			[]string{"9007199254740993", "9007199254740992"}, []string{"9007199254740992", "9007199254740993"}, ""},
		{"number keys beyond 2^53", `"number"`, "DECIMAL(38,10)",
			[]string{"9007199254740993", "9007199254740992", "9007199254740993.0"}, []string{"9007199254740992.0000000000", "9007199254740993.0000000000"}, ""},
		{"number keys with fractions", `"number"`, "DECIMAL(38,10)",
			[]string{"1.5", "1.25", "1e2", "0.12345678901"}, []string{"1.2500000000", "1.5000000000", "100.0000000000"}, "more than 10 decimal places"},
		{"number key beyond DECIMAL(38,10)", `"number"`, "DECIMAL(38,10)",
			[]string{"1", "1e30"}, []string{"1.0000000000"}, "out of range"},
		{"integer-or-number keys", `["integer", "number"]`, "DECIMAL(38,10)",
			[]string{"18446744073709551617", "18446744073709551616"}, []string{"18446744073709551616.0000000000", "18446744073709551617.0000000000"}, ""},
		{"integer key beyond BIGINT", `"integer"`, "BIGINT",
			[]string{"1", "18446744073709551616"}, []string{"1"}, "out of range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, map[string]streamSpec{"k": {schema: `{"type": "object", "properties": {"id": {"type": ` + c.keyType + `}}}`}})
			var recs []string
			for _, k := range c.keys {
				recs = append(recs, `{"id":`+k+`}`)
			}
			e.land("k", state.KindIngest, recs...)
			e.transform()
			if got := e.one("SELECT data_type FROM duckdb_columns() WHERE table_name = 'k' AND column_name = 'id'"); got != c.ddl {
				t.Errorf("id is %s, want %s", got, c.ddl)
			}
			var got []string
			for _, r := range e.query("SELECT id::VARCHAR FROM k ORDER BY id") {
				got = append(got, r[0])
			}
			if strings.Join(got, " ") != strings.Join(c.rows, " ") {
				t.Errorf("rows %v, want %v", got, c.rows)
			}
			q := e.query("SELECT errors[1].reason FROM rawland.quarantine")
			switch {
			case c.quarantined == "" && len(q) > 0:
				t.Errorf("quarantined %v", q)
			case c.quarantined != "" && (len(q) != 1 || !strings.Contains(q[0][0], c.quarantined)):
				t.Errorf("quarantined %v, want one saying %q", q, c.quarantined)
			}
		})
	}
}

// TestKeyTypingOldDoubleKey: a warehouse made when number keys were DOUBLE
// gets a config error saying to rebuild, and the rebuild works.
func TestKeyTypingOldDoubleKey(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"k": {schema: `{"type": "object", "properties": {"id": {"type": "number"}}}`}})
	e.land("k", state.KindIngest, `{"id":9007199254740993}`, `{"id":9007199254740992}`)
	db, err := sql.Open("duckdb", e.wh)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE k (id DOUBLE, _rawland_extra JSON, _rawland_run_id VARCHAR, _rawland_landed_at TIMESTAMPTZ,
		_rawland_deleted_at TIMESTAMPTZ, _rawland_cursor VARCHAR, _rawland_hash UBIGINT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Run(context.Background(), e.options())
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "rawland transform --rebuild k") || !strings.Contains(err.Error(), "DOUBLE") {
		t.Fatalf("err %v; want a config error that says to rebuild", err)
	}
	e.transform(func(o *Options) { o.Rebuild = true })
	if got := e.one("SELECT count(*) FROM k"); got != "2" {
		t.Errorf("%s rows after the rebuild, want 2", got)
	}
}
