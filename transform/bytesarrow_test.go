package transform

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/mockapi"
)

// streamSchema compiles body as a stream's schema with primary key pk and
// cursor field cursor ("" for none).
func streamSchema(t testing.TB, body, pk, cursor string) *Schema {
	t.Helper()
	s, err := compileTestStream(t, body, pk, cursor)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// compileTestStream is streamSchema returning the compile error.
func compileTestStream(t testing.TB, body, pk, cursor string) (*Schema, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "s.json")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Dir: dir, Path: filepath.Join(dir, "rawland.yaml")}
	st := &config.Stream{Name: "s", SchemaPath: path, PrimaryKey: []string{pk}}
	if cursor != "" {
		st.Cursor = &config.Cursor{Field: cursor}
	}
	return compileStream(cfg, st)
}

// diffBatch stages recs as one batch the way process() does (the bytes →
// Arrow converter where it can) and the reference way (check() rows through
// buildRecord), and fails unless both give the same Arrow record, the same
// quarantine and the same drift. It returns how many records the converter
// took.
func diffBatch(t testing.TB, s *Schema, recs [][]byte) int {
	t.Helper()
	st := newStager(s, nil, nil, 1, len(recs), loadArrow)
	in := make([]rawRec, len(recs))
	for i, r := range recs {
		in[i] = rawRec{file: "f", line: i + 1, seq: int64(i), data: r}
	}
	got := st.process(in)
	defer got.release()

	var c converter
	var rows [][]any
	drift := driftSet{}
	var quar []qrec
	for _, r := range in {
		vd := s.check(r.data, &c)
		drift.add(vd.drift)
		if vd.errs != nil {
			quar = append(quar, qrec{rawRec: r, errs: vd.errs, keys: vd.keys})
			continue
		}
		rows = append(rows, append(vd.row, r.seq))
	}
	if len(rows) == 0 {
		if got.rec != nil {
			t.Fatalf("no valid rows, but process built a record of %d", got.rec.NumRows())
		}
	} else {
		want := buildRecord(st.sch, st.cols, rows)
		defer want.Release()
		if got.rec == nil {
			t.Fatalf("process built no record, want %d rows", len(rows))
		}
		if !array.RecordEqual(got.rec, want) {
			t.Fatal(recordDiff(got.rec, want, recs, got.valid))
		}
	}
	if len(got.quar) != len(quar) {
		t.Fatalf("%d quarantined, want %d", len(got.quar), len(quar))
	}
	for i := range quar {
		// gojsonschema's error order follows map iteration: compare sets
		g, w := sortedErrs(got.quar[i].errs), sortedErrs(quar[i].errs)
		if got.quar[i].line != quar[i].line || !reflect.DeepEqual(g, w) || fmt.Sprint(got.quar[i].keys) != fmt.Sprint(quar[i].keys) {
			t.Fatalf("quarantine of line %d (%s): %+v %v, want line %d: %+v %v", got.quar[i].line, got.quar[i].data, g, got.quar[i].keys, quar[i].line, w, quar[i].keys)
		}
	}
	if len(got.drift) != len(drift) {
		t.Fatalf("drift %v, want %v", got.drift.list(), drift.list())
	}
	for k, a := range drift {
		g := got.drift[k]
		// with two values under one drift path (a[0].x, a[1].x) check()'s
		// example is whichever its map iteration met first
		if g == nil || g.count != a.count || !strings.Contains(k.path, "[]") && g.example != a.example {
			t.Fatalf("drift %v: %+v, want %+v", k, g, a)
		}
	}
	return got.direct
}

func sortedErrs(errs []FieldError) []FieldError {
	out := slices.Clone(errs)
	slices.SortFunc(out, func(a, b FieldError) int { return strings.Compare(a.Path+"\x00"+a.Reason, b.Path+"\x00"+b.Reason) })
	return out
}

// recordDiff names the first cell where two records differ.
func recordDiff(got, want arrow.Record, recs [][]byte, valid []rawRec) string {
	if got.NumRows() != want.NumRows() {
		return fmt.Sprintf("%d rows, want %d", got.NumRows(), want.NumRows())
	}
	for i := 0; i < int(got.NumCols()); i++ {
		a, b := got.Column(i), want.Column(i)
		for r := 0; r < a.Len(); r++ {
			if !array.SliceEqual(a, int64(r), int64(r+1), b, int64(r), int64(r+1)) {
				return fmt.Sprintf("column %s, record %s:\n got %v\nwant %v", got.ColumnName(i), valid[r].data,
					array.NewSlice(a, int64(r), int64(r+1)), array.NewSlice(b, int64(r), int64(r+1)))
			}
		}
	}
	return "records differ (schema or metadata)"
}

// kindsSchema has a column of every type rawland derives.
const kindsSchema = `{
  "type": "object",
  "required": ["id"],
  "properties": {
    "id": {"type": "number"},
    "big": {"type": "integer", "minimum": -1e30, "maximum": 1e30},
    "i": {"type": "integer"},
    "f": {"type": "number"},
    "s": {"type": "string"},
    "b": {"type": "boolean"},
    "ts": {"type": ["string", "null"], "format": "date-time"},
    "d": {"type": "string", "format": "date"},
    "o": {"type": "object"},
    "mixed": {"type": ["string", "integer"]},
    "nul": {"type": "null"},
    "st": {"type": ["object", "null"], "properties": {"a": {"type": "integer"}, "inner": {"type": "object", "properties": {"x": {"type": "string"}}}}},
    "l": {"type": "array", "items": {"type": ["object", "null"], "properties": {"k": {"type": "string"}}}},
    "ll": {"type": "array", "items": {"type": ["array", "null"], "items": {"type": "integer"}}},
    "_rawland_x": {"type": "string"},
    "meta": {"type": ["object", "null"], "properties": {"seen": {"type": "string", "format": "date-time"}}}
  }
}`

// kindsRecords exercise every column type, the extras, the cursor and
// the cases the converter must leave to check().
var kindsRecords = []string{
	`{"id":1,"big":123456789012345678901234567890,"i":-5,"f":1.5,"s":"x","b":true,"ts":"2024-01-02T03:04:05.123456789+02:00","d":"2024-02-29","o":{"z":1,"a":[true,null]},"mixed":7,"nul":null,"st":{"a":1,"inner":{"x":"y","new":1}},"l":[{"k":"a","q":1},{"k":"b","q":2},null],"ll":[[1,2],[],null,[3]],"_rawland_x":"shadow","meta":{"seen":"2024-05-06T07:08:09Z"},"extra":{"b":2,"a":"é\u2028<>&"}}`,
	` { "id" : 2.50 , "s" : "esc \" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \ud800" , "i" : 1.0 , "f" : 1e300 , "meta" : { "seen" : "2024-05-06T07:08:09.5-01:30" } } `,
	`{"id":3,"i":1e3,"f":-0,"mixed":"a","o":{},"l":[],"st":null,"meta":null}`,
	`{"id":4,"i":9223372036854775808}`,                   // beyond BIGINT: quarantined
	`{"id":5,"f":1e400}`,                                 // beyond DOUBLE: quarantined
	`{"id":6,"ts":"2024-13-01T00:00:00Z"}`,               // valid for gojsonschema? quarantined either way
	`{"id":null}`,                                        // primary key null
	`{"s":"no key"}`,                                     // primary key missing
	`{"id":7,"\u0073":"escaped key"}`,                    // escaped key: check() path
	`{"id":8,"st.new":1,"st":{"new":2}}`,                 // two extras with one path
	`{"id":9,"l":[{"k":"a","q":1},{"k":"b","q":"two"}]}`, // one drift path, two values
	`{"id":10,"id2":1}`,
	`[1,2]`,
	`{"id":11,"d":"2024-02-30"}`,
	`{"id":1e-11}`,                        // more than 10 decimal places in a DECIMAL key
	`{"id":12,"big":-1e30}`,               // HUGEINT in exponent form
	`{"id":13,"big":-1.0}`,                // an integer written with a fraction
	`{"id":14,"meta":{"seen":5}}`,         // a cursor of the wrong type
	`{"id":15,"meta":[1]}`,                // the cursor path through an array
	`{"id":16,"nul":1}`,                   // fails the schema
	`{"id":17,"id":18}`,                   // duplicate key
	"{\"id\":19,\"s\":\"bad utf8 \xff\"}", // not UTF-8
	`{"id":20}` + "\x00",
	`{"id":21,"ll":[[1,"x"]]}`,
	`{"id":22,"extra":[1],"mixed":"2024-01-01T00:00:00+01:00"}`,
	`{"id":23,"extra":{"a":null},"s":"2024-01-01T00:00:00+01:00"}`,
	`{"id":24,"extra":{"a":{"z":[1,"\u00e9"]}},"l":[{"q":{"r":1}},{"q":2}]}`,
	`{"id":25,"extra":"s","st":{"a":9223372036854775807,"inner":{}}}`,
	`{"id":26.5,"big":-999999999999999999999999999999,"d":"0001-01-01","ts":"0001-01-01T00:00:00Z"}`,
}

// convCase is one corpus of the converter's differential tests: a schema
// and records to stage under it.
type convCase struct {
	name string
	kind string // kinds, bench, mock, github, github-strict
	s    *Schema
	recs [][]byte
}

// convCases are the differential tests' corpora: the edge records of every
// column type under 8 cursor settings, the bench record, the mock's
// streams with drift and the GitHub recordings under three schemas.
func convCases(t *testing.T) []convCase {
	recs := func(ss []string) [][]byte {
		out := make([][]byte, len(ss))
		for i, s := range ss {
			out[i] = []byte(s)
		}
		return out
	}
	var cases []convCase
	for _, cursor := range []string{"meta.seen", "s", "extra.a", "mixed", "big", "id", "nope", ""} {
		cases = append(cases, convCase{name: "kinds, cursor " + cursor, kind: "kinds", s: streamSchema(t, kindsSchema, "id", cursor), recs: recs(kindsRecords)})
	}
	var bench [][]byte
	for i := 0; i < 500; i++ {
		bench = append(bench, benchRecord(nil, i))
	}
	cases = append(cases, convCase{name: "benchRecord", kind: "bench", s: streamSchema(t, benchSchema, "id", "updated_at"), recs: bench})
	mock := mockapi.New(mockapi.Options{Seed: 3, Size: 600, Drift: 0.05})
	mock.Advance(200)
	for name, body := range mock.Schemas() {
		var rs [][]byte
		for r := range mock.Truth(name) {
			rs = append(rs, r)
		}
		cases = append(cases, convCase{name: "mock " + name, kind: "mock", s: streamSchema(t, string(body), "id", "updated_at"), recs: rs})
	}
	for _, sc := range []struct{ name, kind, body string }{
		{"current", "github", readFile(t, "testdata/github-issues/issue.schema.json")},
		{"2018 fields", "github", issueSchemaFor(t, "2018-06-09", false)},
		{"2018 strict", "github-strict", issueSchemaFor(t, "2018-06-09", true)},
	} {
		var rs [][]byte
		for _, date := range recordingDates {
			for _, r := range githubIssues(t, date) {
				rs = append(rs, []byte(r))
			}
		}
		cases = append(cases, convCase{name: "github issues, " + sc.name, kind: sc.kind, s: streamSchema(t, sc.body, "id", "updated_at"), recs: rs})
	}
	return cases
}

func TestBytesArrowDifferential(t *testing.T) {
	type tc struct {
		convCase
		minDirect int
	}
	var cases []tc
	for _, c := range convCases(t) {
		min := map[string]int{"kinds": 12, "bench": 490, "mock": len(c.recs) * 9 / 10, "github": len(c.recs), "github-strict": 13}[c.kind]
		cases = append(cases, tc{convCase: c, minDirect: min})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.s.fast == nil {
				t.Fatalf("no fast validator: %v", c.s.fastWhy)
			}
			n := diffBatch(t, c.s, c.recs)
			t.Logf("the converter took %d of %d records", n, len(c.recs))
			if n < c.minDirect {
				t.Errorf("the converter took %d of %d records, want at least %d", n, len(c.recs), c.minDirect)
			}
			for i, r := range c.recs { // one at a time too: a record alone in its batch
				if i < 50 {
					diffBatch(t, c.s, [][]byte{r})
				}
			}
		})
	}
}

var fuzzArrowSchemas = map[int]*Schema{}

// FuzzBytesArrow holds the bytes → Arrow converter to the check() path,
// and the one-pass path to the two-pass path (bytesarrow_valid.go), on
// fuzzed records, under a few schemas (every column type, the bench
// record's, the mock's nested orders).
//
//	go test -tags duckdb_arrow -run '^$' -fuzz FuzzBytesArrow -fuzztime 60s ./transform/
func FuzzBytesArrow(f *testing.F) {
	orders := string(mockapi.New(mockapi.Options{Seed: 1, Size: 10}).Schemas()[mockapi.StreamOrders])
	bodies := []struct{ body, cursor string }{
		{kindsSchema, "meta.seen"}, {kindsSchema, "s"}, {benchSchema, "updated_at"}, {orders, "updated_at"},
	}
	for i, b := range bodies {
		fuzzArrowSchemas[i] = streamSchema(f, b.body, "id", b.cursor)
	}
	for _, r := range kindsRecords {
		f.Add(uint8(0), []byte(r))
		f.Add(uint8(1), []byte(r))
	}
	f.Add(uint8(2), benchRecord(nil, 3))
	f.Add(uint8(2), benchRecord(nil, 49))
	m := mockapi.New(mockapi.Options{Seed: 2, Size: 20, Drift: 0.2})
	for r := range m.Truth(mockapi.StreamOrders) {
		f.Add(uint8(3), r)
	}
	f.Fuzz(func(t *testing.T, which uint8, record []byte) {
		if len(record) > 4096 {
			return
		}
		s := fuzzArrowSchemas[int(which)%len(fuzzArrowSchemas)]
		batch := [][]byte{record, []byte(`{"id":` + strconv.Itoa(int(which)) + `}`), record}
		diffBatch(t, s, batch)
		onePassDiff(t, s, batch)
	})
}

// BenchmarkProcess stages a batch of 10,000 mock records through process()
// (the one-pass path, bytesarrow_valid.go), through process() with the
// two-pass path only (the validator, then the bytes → Arrow converter) and
// through the check() path (decode, convert, appendArrow), per stream:
//
//	go test -tags duckdb_arrow -run '^$' -bench Process ./transform/
func BenchmarkProcess(b *testing.B) {
	m := mockapi.New(mockapi.Options{Seed: 5, Size: 10_000})
	for _, name := range []string{mockapi.StreamUsers, mockapi.StreamOrders} {
		s := streamSchema(b, string(m.Schemas()[name]), "id", "updated_at")
		var recs []rawRec
		size := 0
		for r := range m.Truth(name) {
			recs = append(recs, rawRec{seq: int64(len(recs)), data: r})
			size += len(r)
		}
		st := newStager(s, nil, nil, 1, len(recs), loadArrow)
		b.Run(name+"/bytes", func(b *testing.B) {
			b.SetBytes(int64(size))
			for range b.N {
				st.process(recs).release()
			}
		})
		two := newStager(s, nil, nil, 1, len(recs), loadArrow)
		two.twoPass = true
		b.Run(name+"/bytes-two-pass", func(b *testing.B) {
			b.SetBytes(int64(size))
			for range b.N {
				two.process(recs).release()
			}
		})
		b.Run(name+"/check", func(b *testing.B) {
			b.SetBytes(int64(size))
			for range b.N {
				var c converter
				rows := make([][]any, 0, len(recs))
				for _, r := range recs {
					vd := s.check(r.data, &c)
					rows = append(rows, append(vd.row, r.seq))
				}
				buildRecord(st.sch, st.cols, rows).Release()
			}
		})
	}
}
