package transform

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawland/rawland/state"
)

// The real GitHub issue schema against the real recorded issues of all four
// recording dates: every issue valid, typed columns, and every field of
// every record kept in a column or in _rawland_extra. With a schema that
// only knows the 2018 fields, the fields added since land in
// _rawland_extra (and in rawland.drift), still valid, still never lost.
func TestGitHubIssues(t *testing.T) {
	for _, tc := range []struct {
		name, schema string
		extra        []string // top-level fields expected in _rawland_extra of the 2022 issues
	}{
		{"current schema", readFile(t, "testdata/github-issues/issue.schema.json"), nil},
		{"schema of the 2018 fields", issueSchemaFor(t, "2018-06-09", false), addedSince2018},
	} {
		t.Run(tc.name, func(t *testing.T) { testGitHubIssues(t, tc.schema, tc.extra) })
	}
}

func testGitHubIssues(t *testing.T, schema string, extra2022 []string) {
	e := newEnv(t, map[string]streamSpec{"issues": {schema: schema, cursor: "updated_at"}})
	raw := map[string]string{} // id → record
	var last state.Run
	for _, date := range recordingDates {
		recs := githubIssues(t, date)
		if len(recs) != 13 {
			t.Fatalf("%s: %d issues, want 13", date, len(recs))
		}
		last = e.land("issues", state.KindIngest, recs...)
		for _, r := range recs {
			var v struct{ ID json.Number }
			json.Unmarshal([]byte(r), &v)
			raw[v.ID.String()] = r
		}
	}
	rep := e.transform()
	tot := rep.Streams[0].Totals()
	if len(rep.Streams[0].Runs) != 4 || tot.Records != 52 || tot.Inserted != 52 || tot.Quarantined != 0 {
		t.Fatalf("report: %+v", rep.Streams[0])
	}
	types := map[string]string{}
	for _, r := range e.query(`SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'issues'`) {
		types[r[0]] = r[1]
	}
	for col, want := range map[string]string{
		"id": "BIGINT", "number": "BIGINT", "created_at": "TIMESTAMP WITH TIME ZONE", "closed_at": "TIMESTAMP WITH TIME ZONE",
		"locked": "BOOLEAN", "title": "VARCHAR", "labels": "JSON", "author_association": "VARCHAR",
		"_rawland_extra": "JSON", "_rawland_run_id": "VARCHAR", "_rawland_landed_at": "TIMESTAMP WITH TIME ZONE",
		"_rawland_deleted_at": "TIMESTAMP WITH TIME ZONE", "_rawland_cursor": "TIMESTAMP WITH TIME ZONE",
	} {
		if types[col] != want {
			t.Errorf("column %s is %q, want %s", col, types[col], want)
		}
	}
	if !strings.HasPrefix(types["user"], "STRUCT(") || !strings.HasPrefix(types["assignees"], "STRUCT(") || !strings.HasSuffix(types["assignees"], "[]") {
		t.Errorf("user / assignees should be STRUCT / STRUCT list: %q / %q", types["user"], types["assignees"])
	}
	if got := e.one(`SELECT count(*) FROM issues WHERE created_at < TIMESTAMPTZ '2018-06-10 00:00:00+00'`); got != "13" {
		t.Errorf("issues created before 2018-06-10: %s, want 13 (created_at must be a real timestamp)", got)
	}
	var got2022 []string
	for _, r := range e.query(`SELECT DISTINCT unnest(json_keys(_rawland_extra)) AS k FROM issues WHERE _rawland_run_id = ? ORDER BY k`, last.ID) {
		got2022 = append(got2022, r[0])
	}
	if !slices.Equal(got2022, extra2022) {
		t.Errorf("_rawland_extra fields of the 2022 issues: %v, want %v", got2022, extra2022)
	}
	// Nothing lost: every field of every record is in its column or in _rawland_extra.
	rows := e.query(`SELECT id::VARCHAR, to_json(issues)::VARCHAR FROM issues`)
	if len(rows) != 52 {
		t.Fatalf("%d rows, want 52", len(rows))
	}
	for _, r := range rows {
		var rec, row map[string]any
		if err := json.Unmarshal([]byte(raw[r[0]]), &rec); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(r[1]), &row); err != nil {
			t.Fatal(err)
		}
		var extra map[string]any
		if s, ok := row[ColExtra].(string); ok {
			json.Unmarshal([]byte(s), &extra)
		} else if m, ok := row[ColExtra].(map[string]any); ok {
			extra = m
		}
		assertKept(t, "issue "+r[0], "", rec, row, extra)
	}
}

// assertKept checks that the raw value v at path survives in the row value
// got, or else in extra under its path.
func assertKept(t *testing.T, what, path string, v, got any, extra map[string]any) {
	t.Helper()
	if m, ok := v.(map[string]any); ok {
		gm, _ := got.(map[string]any)
		if s, isStr := got.(string); isStr { // a JSON column
			json.Unmarshal([]byte(s), &gm)
		}
		for k, fv := range m {
			p := join(path, k)
			if gv, ok := gm[k]; ok && (gv != nil || fv == nil) {
				assertKept(t, what, p, fv, gv, extra)
				continue
			}
			if _, ok := extra[p]; ok || fv == nil {
				continue
			}
			t.Errorf("%s: field %s (%v) is neither in a column nor in %s", what, p, fv, ColExtra)
		}
		return
	}
	if a, ok := v.([]any); ok {
		ga, _ := got.([]any)
		if len(ga) != len(a) {
			t.Errorf("%s: %s has %d elements, row has %v", what, path, len(a), got)
			return
		}
		for i := range a {
			assertKept(t, what, path+"["+strconv.Itoa(i)+"]", a[i], ga[i], extra)
		}
		return
	}
	if !sameScalar(v, got) {
		t.Errorf("%s: %s is %v (%T), row has %v (%T)", what, path, v, v, got, got)
	}
}

func sameScalar(v, got any) bool {
	if v == got {
		return true
	}
	switch x := v.(type) {
	case string:
		s, ok := got.(string)
		if !ok {
			return false
		}
		if a, err := time.Parse(time.RFC3339Nano, x); err == nil {
			for _, layout := range []string{"2006-01-02 15:04:05Z07", "2006-01-02 15:04:05.999999Z07", "2006-01-02 15:04:05Z07:00"} {
				if b, err := time.Parse(layout, s); err == nil {
					return a.Equal(b)
				}
			}
		}
		return x == s
	case float64:
		g, ok := got.(float64)
		return ok && math.Abs(x-g) < 1e-9
	}
	return false
}
