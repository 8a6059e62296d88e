package transform

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/mockapi"
)

// onePassDiff stages recs as one batch with the one-pass path first (as
// the transform does) and with the two-pass path only, and fails unless
// both give the same Arrow record, quarantine and drift. It returns how
// many records the one-pass path took.
func onePassDiff(t testing.TB, s *Schema, recs [][]byte) int {
	t.Helper()
	in := make([]rawRec, len(recs))
	for i, r := range recs {
		in[i] = rawRec{file: "f", line: i + 1, seq: int64(i), data: r}
	}
	one := newStager(s, nil, nil, 1, len(recs), loadArrow)
	two := newStager(s, nil, nil, 1, len(recs), loadArrow)
	two.twoPass = true
	got, want := one.process(in), two.process(in)
	defer got.release()
	defer want.release()
	if want.onePass != 0 {
		t.Fatalf("the two-pass stager took %d records in one pass", want.onePass)
	}
	switch {
	case (got.rec == nil) != (want.rec == nil):
		t.Fatalf("one pass built a record: %v, two passes: %v", got.rec != nil, want.rec != nil)
	case got.rec != nil && !array.RecordEqual(got.rec, want.rec):
		t.Fatal("one pass against two passes: " + recordDiff(got.rec, want.rec, recs, want.valid))
	}
	if got.direct != want.direct || len(got.quar) != len(want.quar) || len(got.valid) != len(want.valid) {
		t.Fatalf("one pass: %d converted, %d valid, %d quarantined; two passes: %d, %d, %d",
			got.direct, len(got.valid), len(got.quar), want.direct, len(want.valid), len(want.quar))
	}
	if fmt.Sprint(got.drift.list()) != fmt.Sprint(want.drift.list()) {
		t.Fatalf("drift: one pass %v, two passes %v", got.drift.list(), want.drift.list())
	}
	return got.onePass
}

// TestOnePassDifferential holds the one-pass path (vrow) to the two-pass
// path (validator, then converter) on the records of the mock's streams
// (with drift), the GitHub recordings under three schemas, the edge
// records of every column type under 8 cursor settings and the JSON
// Schema Test Suite's instances under its schemas: same Arrow records,
// quarantine and drift, and on realistic records the one-pass path takes
// nearly all valid records (it is not just always declining).
func TestOnePassDifferential(t *testing.T) {
	type tc struct {
		name   string
		s      *Schema
		recs   [][]byte
		minOne int
	}
	var cases []tc
	for _, cursor := range []string{"meta.seen", "s", "extra.a", "mixed", "big", "id", "nope", ""} {
		var rs [][]byte
		for _, r := range kindsRecords {
			rs = append(rs, []byte(r))
		}
		cases = append(cases, tc{name: "kinds, cursor " + cursor, s: streamSchema(t, kindsSchema, "id", cursor), recs: rs, minOne: 8})
	}
	mock := mockapi.New(mockapi.Options{Seed: 3, Size: 600, Drift: 0.05})
	mock.Advance(200)
	for name, body := range mock.Schemas() {
		var rs [][]byte
		for r := range mock.Truth(name) {
			rs = append(rs, r)
		}
		cases = append(cases, tc{name: "mock " + name, s: streamSchema(t, string(body), "id", "updated_at"), recs: rs, minOne: len(rs) * 8 / 10})
	}
	for _, sc := range []struct{ name, body string }{
		{"current", readFile(t, "testdata/github-issues/issue.schema.json")},
		{"2018 fields", issueSchemaFor(t, "2018-06-09", false)},
		{"2018 strict", issueSchemaFor(t, "2018-06-09", true)},
	} {
		var rs [][]byte
		for _, date := range recordingDates {
			for _, r := range githubIssues(t, date) {
				rs = append(rs, []byte(r))
			}
		}
		cases = append(cases, tc{name: "github issues, " + sc.name, s: streamSchema(t, sc.body, "id", "updated_at"), recs: rs})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := onePassDiff(t, c.s, c.recs)
			t.Logf("one pass took %d of %d records", n, len(c.recs))
			if n < c.minOne {
				t.Errorf("one pass took %d of %d records, want at least %d", n, len(c.recs), c.minOne)
			}
			for _, r := range c.recs {
				onePassDiff(t, c.s, [][]byte{r})
			}
		})
	}
}

// TestOnePassSuite holds the one-pass path to the two-pass path on the
// JSON-Schema-Test-Suite (draft-07, optional tests included): every
// keyword under the suite's own edge cases. Each suite schema is the
// type of a field "v" (when it has no $ref, which would move with it),
// with the suite's instance as v's value; and, for instances that are
// objects, the stream's schema itself, with an "id" added to the instance.
func TestOnePassSuite(t *testing.T) {
	dir := t.TempDir()
	var cases, one int
	compiled := map[string]*Schema{}
	compile := func(body string) *Schema {
		if s, ok := compiled[body]; ok {
			return s
		}
		s := tryStreamSchema(t, body, "id")
		compiled[body] = s
		return s
	}
	for _, tc := range suiteCases(t, dir) {
		body, err := os.ReadFile(tc.schema)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(body, []byte("localhost:1234")) {
			continue // remote refs: the suite's own test resolves them
		}
		var tries []struct {
			s   *Schema
			rec []byte
		}
		if !bytes.Contains(body, []byte(`"$ref"`)) && !bytes.Contains(body, []byte(`"$id"`)) {
			wrapped := `{"type":"object","required":["id"],"properties":{"id":{"type":"integer"},"v":` + string(body) + `}}`
			tries = append(tries, struct {
				s   *Schema
				rec []byte
			}{compile(wrapped), []byte(`{"id":1,"v":` + string(tc.data) + `}`)})
		}
		if d := bytes.TrimSpace(tc.data); len(d) > 1 && d[0] == '{' {
			rec := append([]byte(`{"id":1`), d[1:]...)
			if len(bytes.TrimSpace(d[1:len(d)-1])) > 0 {
				rec = append([]byte(`{"id":1,`), d[1:]...)
			}
			tries = append(tries, struct {
				s   *Schema
				rec []byte
			}{compile(string(body)), rec})
		}
		for _, tr := range tries {
			if tr.s == nil || tr.s.fast == nil {
				continue
			}
			cases++
			t.Run(tc.key, func(t *testing.T) {
				one += onePassDiff(t, tr.s, [][]byte{tr.rec})
			})
		}
	}
	t.Logf("%d cases, %d taken by the one-pass path", cases, one)
	if cases < 500 || one < cases/4 {
		t.Errorf("%d cases, %d taken by the one-pass path: want at least 500 and a quarter", cases, one)
	}
}

// tryStreamSchema is streamSchema, nil when the schema does not compile.
func tryStreamSchema(t testing.TB, body, pk string) *Schema {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "s.json")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Dir: dir, Path: filepath.Join(dir, "rawland.yaml")}
	s, err := compileStream(cfg, &config.Stream{Name: "s", SchemaPath: path, PrimaryKey: []string{pk}})
	if err != nil {
		return nil
	}
	return s
}

// FuzzOnePass holds the one-pass path to the two-pass path on fuzzed
// records under the schemas FuzzBytesArrow uses (every column type, the
// bench record's, the mock's nested orders):
//
//	go test -tags duckdb_arrow -run '^$' -fuzz FuzzOnePass -fuzztime 60s ./transform/
func FuzzOnePass(f *testing.F) {
	orders := string(mockapi.New(mockapi.Options{Seed: 1, Size: 10}).Schemas()[mockapi.StreamOrders])
	bodies := []struct{ body, cursor string }{
		{kindsSchema, "meta.seen"}, {kindsSchema, "s"}, {benchSchema, "updated_at"}, {orders, "updated_at"},
	}
	schemas := make([]*Schema, len(bodies))
	for i, b := range bodies {
		schemas[i] = streamSchema(f, b.body, "id", b.cursor)
	}
	for _, r := range kindsRecords {
		f.Add(uint8(0), []byte(r))
		f.Add(uint8(1), []byte(r))
	}
	f.Add(uint8(2), benchRecord(nil, 3))
	m := mockapi.New(mockapi.Options{Seed: 2, Size: 20, Drift: 0.2})
	for r := range m.Truth(mockapi.StreamOrders) {
		f.Add(uint8(3), r)
	}
	f.Fuzz(func(t *testing.T, which uint8, record []byte) {
		if len(record) > 4096 {
			return
		}
		s := schemas[int(which)%len(schemas)]
		onePassDiff(t, s, [][]byte{record, []byte(`{"id":` + strconv.Itoa(int(which)) + `}`), record})
	})
}
