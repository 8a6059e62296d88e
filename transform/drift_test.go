package transform

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/rawland/rawland/state"
)

// issueSchemaFor returns the real GitHub issue schema cut down to the
// top-level fields present in a recording; strict forbids other fields.
func issueSchemaFor(t *testing.T, date string, strict bool) string {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal([]byte(readFile(t, "testdata/github-issues/issue.schema.json")), &s); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, r := range githubIssues(t, date) {
		var m map[string]any
		json.Unmarshal([]byte(r), &m)
		for k := range m {
			keys[k] = true
		}
	}
	issue := s["definitions"].(map[string]any)["issue"].(map[string]any)
	props := issue["properties"].(map[string]any)
	for k := range props {
		if !keys[k] {
			delete(props, k)
		}
	}
	if len(props) != len(keys) {
		t.Fatalf("the schema lacks fields of the %s recording", date)
	}
	if strict {
		issue["additionalProperties"] = false
	}
	out, _ := json.Marshal(s)
	return string(out)
}

// The fields GitHub added to issues between the 2018 and 2022 recordings.
var addedSince2018 = []string{"active_lock_reason", "performed_via_github_app", "reactions", "state_reason", "timeline_url"}

// A schema that forbids unknown fields, written from the 2018 key set, fed
// the 2022 recording: every issue is quarantined and rawland.drift names
// exactly the added fields. Widened, the replay loads all 13.
func TestDriftQuarantineReplay(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"issues": {schema: issueSchemaFor(t, "2018-06-09", true), cursor: "updated_at"}})
	recs := githubIssues(t, "2022-07-19")
	run := e.land("issues", state.KindIngest, recs...)
	rep := e.transform()
	if got := counts(rep.Streams[0].Runs[0]); got != "0/0/0/0/0/13" {
		t.Fatalf("counts %s, want all 13 quarantined", got)
	}
	if e.runStatus(run.ID) != state.StatusTransformed {
		t.Fatal("a run whose records were all quarantined is still transformed (nothing is lost: they wait in quarantine)")
	}
	if n := e.one(`SELECT count(*) FROM issues`); n != "0" {
		t.Fatalf("%s rows loaded, want 0", n)
	}
	// Drift names exactly the added fields, each in all 13 records.
	var paths []string
	for _, r := range e.query(`SELECT path, kind, count, example FROM rawland.drift WHERE run_id = ? ORDER BY path`, run.ID) {
		if r[1] != DriftNewField || r[2] != "13" || r[3] == "" {
			t.Errorf("drift row %v: want new_field in 13 records with an example", r)
		}
		paths = append(paths, r[0])
	}
	if !slices.Equal(paths, addedSince2018) {
		t.Errorf("drift paths %v, want %v", paths, addedSince2018)
	}
	var summary []string
	for _, d := range rep.Streams[0].Runs[0].Drift {
		summary = append(summary, d.Path)
	}
	if sort.Strings(summary); !slices.Equal(summary, addedSince2018) {
		t.Errorf("reported drift %v, want %v", summary, addedSince2018)
	}
	// Every quarantined record: raw as landed, where it was, every error.
	rows := e.query(`SELECT file, line, record, len(errors), list_transform(errors, e -> e.path)::VARCHAR
		FROM rawland.quarantine WHERE run_id = ? AND replayed_at IS NULL ORDER BY file, line`, run.ID)
	if len(rows) != 13 {
		t.Fatalf("%d quarantined rows, want 13", len(rows))
	}
	for i, r := range rows {
		if r[0] == "" || r[1] == "0" {
			t.Errorf("row %d: no file/line: %v", i, r)
		}
		var want bytes.Buffer
		json.Compact(&want, []byte(recs[i]))
		if r[2] != want.String() {
			t.Errorf("row %d: the quarantined record differs from the landed one", i)
		}
		if r[3] != "5" {
			t.Errorf("row %d: %s errors (%s), want one per added field", i, r[3], r[4])
		}
	}
	// Widen the schema and replay: all 13 load, the quarantine is marked.
	e.setSchema("issues", readFile(t, "testdata/github-issues/issue.schema.json"))
	rep, err := ReplayQuarantine(context.Background(), e.options(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := counts(rep.Streams[0].Runs[0]); got != "13/0/0/0/0/0" || rep.Streams[0].Runs[0].Records != 13 {
		t.Errorf("replay counts %s of %d, want 13 inserted of 13", got, rep.Streams[0].Runs[0].Records)
	}
	if n := e.one(`SELECT count(*) FROM issues WHERE _rawland_run_id = ? AND reactions.total_count = 0 AND timeline_url IS NOT NULL`, run.ID); n != "13" {
		t.Errorf("%s rows with the new fields as columns, want 13", n)
	}
	if n := e.one(`SELECT count(*) FROM rawland.quarantine WHERE replayed_at IS NOT NULL`); n != "13" {
		t.Errorf("%s quarantined records marked replayed, want 13", n)
	}
	// A second replay finds nothing; a transform finds nothing new.
	rep, err = ReplayQuarantine(context.Background(), e.options(), []string{"issues"})
	if err != nil || len(rep.Streams[0].Runs) != 0 {
		t.Errorf("second replay: %v %+v", err, rep)
	}
	if rep := e.transform(); len(rep.Streams[0].Runs) != 0 {
		t.Errorf("transform after replay redid runs: %+v", rep.Streams[0].Runs)
	}
}

// Records that still fail after a schema change stay quarantined with the
// current errors; a replayed old version never overwrites a newer row.
func TestReplayKeepsFailuresAndStaleProtection(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}})
	old := e.land("items", state.KindIngest, `{"id":1,"v":7,"updated_at":"`+t1+`"}`, `{"id":2,"v":8,"updated_at":"`+t1+`"}`, `{"id":3,"v":"ok","updated_at":"`+t1+`"}`)
	e.land("items", state.KindIngest, item(1, "newer", t2))
	e.transform()
	// v may now also be an integer up to 7: id 1 passes (but has a newer
	// row), id 2 still fails.
	e.setSchema("items", strings.Replace(itemSchema, `"v": {"type": "string"}`, `"v": {"type": ["string", "integer"], "maximum": 7}`, 1))
	rep, err := ReplayQuarantine(context.Background(), e.options(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := counts(rep.Streams[0].Runs[0]); got != "0/0/0/1/0/1" {
		t.Errorf("replay of %s: %s, want 1 stale (id 1 has a newer row) and 1 still quarantined (8 > maximum)", old.ID, got)
	}
	if got := e.one(`SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM items`); got != `1="newer",3="ok"` && got != "1=newer,3=ok" {
		t.Errorf("table %s", got)
	}
	got := e.query(`SELECT line, replayed_at IS NULL, errors[1].reason FROM rawland.quarantine ORDER BY line`)
	if len(got) != 2 || got[0][1] != "false" || got[1][1] != "true" || !strings.Contains(got[1][2], "7") {
		t.Errorf("quarantine after replay: %v", got)
	}
}
