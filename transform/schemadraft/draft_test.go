package schemadraft_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"github.com/rawland/rawland/transform/schemadraft"
)

// githubIssues returns every issue object of the four real GitHub
// recordings (the GET listings), 23 to 28 keys each.
func githubIssues(t *testing.T) [][]byte {
	t.Helper()
	files, _ := filepath.Glob("../../ingest/testdata/raw-fixture-*.json") // the real GitHub recordings (shared/fixtures)
	if len(files) == 0 {
		t.Fatal("the GitHub recordings are missing from ingest/testdata")
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ix []struct {
			Method   string          `json:"method"`
			Response json.RawMessage `json:"response"`
		}
		if err := json.Unmarshal(b, &ix); err != nil {
			t.Fatal(err)
		}
		for _, x := range ix {
			var page []json.RawMessage
			if !strings.EqualFold(x.Method, "GET") || json.Unmarshal(x.Response, &page) != nil {
				continue
			}
			for _, r := range page {
				out = append(out, r)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no issue records in the recordings")
	}
	return out
}

func draft(t *testing.T, recs [][]byte) (map[string]any, *gojsonschema.Schema) {
	t.Helper()
	d := schemadraft.New()
	for _, r := range recs {
		if err := d.Observe(r); err != nil {
			t.Fatal(err)
		}
	}
	s := d.Schema("x")
	b, err := schemadraft.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(b))
	if err != nil {
		t.Fatalf("the draft does not compile: %v\n%s", err, b)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("Marshal wrote invalid JSON: %v", err)
	}
	return back, compiled
}

func validateAll(t *testing.T, s *gojsonschema.Schema, recs [][]byte) {
	t.Helper()
	for i, r := range recs {
		res, err := s.Validate(gojsonschema.NewBytesLoader(r))
		if err != nil {
			t.Fatal(err)
		}
		if !res.Valid() {
			t.Fatalf("record %d does not validate against its own draft: %v", i, res.Errors())
		}
	}
}

func TestDraftGitHubIssuesValidatesEveryRecord(t *testing.T) {
	recs := githubIssues(t)
	s, compiled := draft(t, recs)
	validateAll(t, compiled, recs)
	props := s["properties"].(map[string]any)
	want := map[string]string{"id": "integer", "number": "integer", "title": "string", "locked": "boolean", "labels": "array", "user": "object"}
	for f, typ := range want {
		p, ok := props[f].(map[string]any)
		if !ok {
			t.Errorf("no property %s", f)
			continue
		}
		if p["type"] != typ {
			t.Errorf("%s: type %v, want %s", f, p["type"], typ)
		}
	}
	if f := props["created_at"].(map[string]any)["format"]; f != "date-time" {
		t.Errorf("created_at format %v, want date-time", f)
	}
	if f := props["url"].(map[string]any)["format"]; f != "uri" {
		t.Errorf("url format %v, want uri", f)
	}
	// fields added in later recordings are not required; id is everywhere
	req := fmt.Sprint(s["required"])
	for _, f := range []string{"id", "title", "user"} {
		if !contains(s["required"], f) {
			t.Errorf("%s not required (required: %s)", f, req)
		}
	}
	for f := range props {
		if !contains(s["required"], f) {
			return // at least one optional field: the drift over the years shows
		}
	}
	t.Errorf("every field required, but the recordings gained fields over time")
}

func contains(list any, s string) bool {
	l, _ := list.([]any)
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

func TestDraftShapes(t *testing.T) {
	var recs [][]byte
	statuses := []string{"active", "blocked", "pending"}
	for i := range 30 {
		email := fmt.Sprintf(`"u%d@example.com"`, i)
		if i%7 == 0 {
			email = "null"
		}
		score := fmt.Sprintf("%d", i)
		if i == 5 {
			score = "2.5"
		}
		extra := ""
		if i%2 == 0 {
			extra = `,"nick":"n"`
		}
		recs = append(recs, fmt.Appendf(nil,
			`{"id":%d,"uuid":"%08d-0000-4000-8000-000000000000","status":%q,"email":%s,"score":%s,"day":"2024-01-%02d","tags":["a","b"],"addr":{"city":"C%d","zip":null},"empty":[]%s,"big":123456789012345678901234567890}`,
			i, i, statuses[i%3], email, score, i%28+1, i, extra))
	}
	s, compiled := draft(t, recs)
	validateAll(t, compiled, recs)
	p := s["properties"].(map[string]any)
	check := func(field, key string, want any) {
		t.Helper()
		got := fmt.Sprint(p[field].(map[string]any)[key])
		if got != fmt.Sprint(want) {
			t.Errorf("%s.%s = %s, want %v", field, key, got, want)
		}
	}
	check("id", "type", "integer")
	check("big", "type", "integer")
	check("score", "type", "number")
	check("status", "enum", []string{"active", "blocked", "pending"})
	check("email", "type", []string{"string", "null"})
	check("email", "format", "email")
	check("uuid", "format", "uuid")
	check("day", "format", "date")
	check("tags", "type", "array")
	check("empty", "items", "<nil>")
	if contains(s["required"], "nick") || !contains(s["required"], "id") {
		t.Errorf("required = %v: want id, not nick (present in half the records)", s["required"])
	}
	addr := p["addr"].(map[string]any)
	if fmt.Sprint(addr["properties"].(map[string]any)["zip"]) != "map[description:only null values were seen: give it a type]" {
		t.Errorf("addr.zip = %v, want type null", addr["properties"].(map[string]any)["zip"])
	}
	// a record that breaks the enum must fail the draft: the enum is real
	bad := []byte(`{"id":1,"status":"deleted"}`)
	if res, _ := compiled.Validate(gojsonschema.NewBytesLoader(bad)); res.Valid() {
		t.Errorf("a new status value validated: the enum is not enforced")
	}
}

func TestDraftRejectsNonJSON(t *testing.T) {
	d := schemadraft.New()
	for _, r := range []string{`{"a":`, `{} {}`, ``} {
		if err := d.Observe([]byte(r)); err == nil {
			t.Errorf("Observe(%q) accepted", r)
		}
	}
	if d.Records() != 0 {
		t.Errorf("Records = %d after rejected input", d.Records())
	}
}

// TestMarshalOrdersFieldNamesAlphabetically: a field called "type" is not
// moved ahead of the others as if it were the schema keyword.
func TestMarshalOrdersFieldNamesAlphabetically(t *testing.T) {
	d := schemadraft.New()
	d.Observe([]byte(`{"b":1,"type":"x","a":{"type":1,"properties":2,"c":3}}`))
	b, err := schemadraft.Marshal(d.Schema(""))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	ia, ib, it := strings.Index(s, "\n    \"a\": {"), strings.Index(s, "\n    \"b\": {"), strings.Index(s, "\n    \"type\": {")
	if ia < 0 || !(ia < ib && ib < it) {
		t.Errorf("fields not alphabetical (a %d, b %d, type %d):\n%s", ia, ib, it, s)
	}
	if !strings.HasPrefix(strings.TrimSpace(s[strings.Index(s, "{")+1:]), `"$schema"`) {
		t.Errorf("schema keywords lost their order:\n%s", s)
	}
}
