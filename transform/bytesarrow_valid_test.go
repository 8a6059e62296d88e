package transform

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
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
		convCase
		minOne int
	}
	var cases []tc
	for _, c := range convCases(t) {
		min := map[string]int{"kinds": 8, "bench": 490, "mock": len(c.recs) * 8 / 10}[c.kind]
		cases = append(cases, tc{convCase: c, minOne: min})
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

// tryStreamSchema is streamSchema without a cursor, nil when the schema
// does not compile.
func tryStreamSchema(t testing.TB, body, pk string) *Schema {
	t.Helper()
	s, err := compileTestStream(t, body, pk, "")
	if err != nil {
		return nil
	}
	return s
}

// TestOnePassIntegers holds the one pass's integers (vint) to the two
// passes at and around every kind of bound (inclusive, exclusive, exact
// and not exactly a float64), at the 15-digit edge where vint leaves them
// to the validator, and on numbers that are not plain integers: same Arrow
// records and quarantine, and the one pass takes the valid plain ones.
func TestOnePassIntegers(t *testing.T) {
	s := streamSchema(t, `{
  "type": "object",
  "required": ["id"],
  "properties": {
    "id": {"type": "integer"},
    "lo": {"type": "integer", "minimum": 1},
    "hi": {"type": ["integer", "null"], "maximum": 10},
    "xlo": {"type": "integer", "exclusiveMinimum": -5},
    "xhi": {"type": "integer", "exclusiveMaximum": 100},
    "half": {"type": "integer", "minimum": 0.5, "maximum": 9007199254740993},
    "num": {"type": "number", "minimum": 0},
    "tie": {"type": "integer", "minimum": 123456789012345.0001}
  }
}`, "id", "")
	var recs [][]byte
	for i, v := range []string{"0", "1", "2", "-1", "10", "11", "-5", "-4", "99", "100", "-0", "0.0", "1.0", "1e1", "1E0",
		"123456789012345", "123456789012346", "1234567890123456", "-999999999999999", "9007199254740993", "9007199254740992"} {
		for _, f := range []string{"lo", "hi", "xlo", "xhi", "half", "num", "tie", "id"} {
			id := fmt.Sprint(i*10 + len(recs))
			if f == "id" {
				id = v
			}
			recs = append(recs, fmt.Appendf(nil, `{"id":%s,"%s":%s}`, id, f, v))
		}
	}
	recs = append(recs, []byte(`{"id":7,"hi":null}`), []byte(`{"id":8,"lo":01}`), []byte(`{"id":9,"lo":-}`), []byte(`{"id":12,"lo":3x}`))
	n := onePassDiff(t, s, recs)
	for _, r := range recs {
		onePassDiff(t, s, [][]byte{r})
	}
	if n < len(recs)/3 {
		t.Errorf("the one pass took %d of %d records", n, len(recs))
	}
}
