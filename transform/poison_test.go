package transform

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rawland/rawland/state"
)

const poisonSchema = `{"type": "object", "required": ["id"], "properties": {
	"id": {"type": "integer"},
	"name": {"type": "string"},
	"n": {"type": "number"},
	"big": {"type": "integer"},
	"huge": {"type": "integer", "minimum": -1e30},
	"doc": {"type": "object"},
	"tags": {"type": "array", "items": {"type": "string"}}
}}`

func deep(n int) string {
	return strings.Repeat("[", n) + strings.Repeat("]", n)
}

// TestPoisonRecords lands a run that mixes good records with every kind of
// poison record: the run is transformed, the good records load, each
// poison record is quarantined with a reason that says what is wrong (or
// loads losslessly), and the next run loads normally.
func TestPoisonRecords(t *testing.T) {
	big := strings.Repeat("x", 10<<20)
	cases := []struct {
		name   string
		id     string
		record string
		reason string // "" = must load
		check  string // with reason "": SQL expression on the row that must be true
	}{
		{"invalid UTF-8 in a string", "10", "{\"id\":10,\"name\":\"a\xffb\"}", "UTF-8", ""},
		{"invalid UTF-8 outside the schema", "11", "{\"id\":11,\"other\":\"a\xc3\x28b\"}", "UTF-8", ""},
		{"invalid UTF-8 in a key", "12", "{\"id\":12,\"k\xff\":1}", "UTF-8", ""},
		{"escaped NUL in a string", "13", `{"id":13,"name":"a\u0000b"}`, "", "name = 'a' || chr(0) || 'b'"},
		{"escaped NUL outside the schema", "14", `{"id":14,"other":"a\u0000b"}`, "", "_rawland_extra IS NOT NULL"},
		{"raw NUL byte", "15", "{\"id\":15,\"name\":\"a\x00b\"}", "not valid JSON", ""},
		{"raw NUL byte after the record", "28", "{\"id\":28,\"name\":\"ab\"}\x00", "not valid JSON", ""},
		{"1e400 in a number field", "16", `{"id":16,"n":1e400}`, "DOUBLE", ""},
		{"-1e400 in a number field", "17", `{"id":17,"n":-1e400}`, "DOUBLE", ""},
		{"1e400 outside the schema", "18", `{"id":18,"other":1e400}`, "", "_rawland_extra IS NOT NULL"},
		{"1e400 in an open object", "19", `{"id":19,"doc":{"v":1e400}}`, "", "doc IS NOT NULL"},
		{"integer beyond BIGINT", "20", `{"id":20,"big":9223372036854775808}`, "out of range", ""},
		{"integer beyond HUGEINT", "21", `{"id":21,"huge":1e39}`, "out of range", ""},
		{"integer key beyond BIGINT", "9223372036854775808", `{"id":9223372036854775808}`, "out of range", ""},
		{"10 MB string", "23", `{"id":23,"name":"` + big + `"}`, "", "length(name) = 10485760"},
		{"10,000-deep nesting in an open object", "24", `{"id":24,"doc":{"a":` + deep(10000) + `}}`, "nest", ""},
		{"10,000-deep nesting outside the schema", "25", `{"id":25,"other":` + deep(10000) + `}`, "nest", ""},
		{"duplicate key", "26", `{"id":26,"name":"a","name":"b"}`, "duplicate key \"name\"", ""},
		{"duplicate key deep inside", "27", `{"id":27,"doc":{"a":{"b":1,"b":2}}}`, "duplicate key \"b\"", ""},
	}
	e := newEnv(t, map[string]streamSpec{"things": {schema: poisonSchema}})
	e.rollBytes = 1 << 30 // one part: lines number the records
	recs := []string{`{"id":1,"name":"one"}`, `{"id":2,"n":1.5}`}
	quarantined := 0
	for _, c := range cases {
		recs = append(recs, c.record)
		if c.reason != "" {
			quarantined++
		}
	}
	recs = append(recs, `{"id":3,"name":"three"}`)
	run := e.land("things", state.KindIngest, recs...)
	e.transform()
	if got := e.runStatus(run.ID); got != state.StatusTransformed {
		t.Fatalf("run status %s, want transformed", got)
	}
	for _, id := range []string{"1", "2", "3"} {
		if got := e.one("SELECT count(*) FROM things WHERE id = " + id); got != "1" {
			t.Errorf("good record %s: %s rows", id, got)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			line := 0
			for i, r := range recs {
				if r == c.record {
					line = i + 1
				}
			}
			q := e.query("SELECT list_transform(errors, e -> e.path || ': ' || e.reason)::VARCHAR FROM rawland.quarantine WHERE stream = 'things' AND line = ?", line)
			if c.reason == "" {
				if len(q) != 0 {
					t.Fatalf("quarantined: %v; want it loaded", q)
				}
				if got := e.one("SELECT count(*) FROM things WHERE id = " + c.id + " AND " + c.check); got != "1" {
					t.Fatalf("not loaded as it was landed (%s)", c.check)
				}
				return
			}
			if len(q) != 1 {
				t.Fatalf("quarantine rows for line %d: %v; want one", line, q)
			}
			t.Logf("%.300s", q[0][0])
			if !strings.Contains(q[0][0], c.reason) {
				t.Errorf("reason %s; want it to mention %q", q[0][0], c.reason)
			}
		})
	}
	// the exact bytes of a record that is not UTF-8 are kept, and a
	// replay reads them back (and still refuses the record)
	if got := e.one(`SELECT count(*) FROM rawland.quarantine WHERE record_bytes = '{"id":10,"name":"a\xFFb"}'::BLOB`); got != "1" {
		t.Errorf("record_bytes of the invalid UTF-8 record: %s rows", got)
	}
	rep, err := ReplayQuarantine(context.Background(), e.options(), nil)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if got := rep.Streams[0].Runs[0].Quarantined; got != int64(quarantined) {
		t.Errorf("replay: %d still quarantined, want %d", got, quarantined)
	}
	next := e.land("things", state.KindIngest, `{"id":4,"name":"four"}`)
	e.transform()
	if got := e.runStatus(next.ID); got != state.StatusTransformed {
		t.Fatalf("next run status %s, want transformed", got)
	}
	if got, want := e.one("SELECT count(*) FROM things"), fmt.Sprint(4+len(cases)-quarantined); got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
}
