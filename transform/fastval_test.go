package transform

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"github.com/rawland/rawland/mockapi"
)

// referenceVerdict is gojsonschema's decision on data (valid JSON), or
// false, false when gojsonschema cannot decide (it panics on a few inputs).
func referenceVerdict(s *Schema, v any) (valid, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	res, err := s.validator.Validate(gojsonschema.NewRawLoader(v))
	if err != nil {
		return false, false
	}
	return res.Valid(), true
}

// suiteCase is one test of the JSON-Schema-Test-Suite.
type suiteCase struct {
	key    string
	schema string // file
	data   json.RawMessage
}

// suiteCases writes every suite group's schema to dir and returns the
// cases, the mandatory tests and the optional ones (formats, bignum, ...).
func suiteCases(t testing.TB, dir string) []suiteCase {
	var files []string
	for _, pat := range []string{"*.json", "optional/*.json", "optional/format/*.json"} {
		m, err := filepath.Glob(filepath.Join("testdata/json-schema-test-suite/tests/draft7", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 40 {
		t.Fatalf("only %d suite files", len(files))
	}
	var out []suiteCase
	for fi, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var groups []suiteGroup
		if err := json.Unmarshal(data, &groups); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		base := strings.TrimSuffix(filepath.Base(file), ".json")
		for gi, g := range groups {
			path := filepath.Join(dir, itoa(fi)+"-"+itoa(gi)+".json")
			if err := os.WriteFile(path, g.Schema, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, tc := range g.Tests {
				out = append(out, suiteCase{key: base + "/" + g.Description + "/" + tc.Description, schema: path, data: tc.Data})
			}
		}
	}
	return out
}

// TestFastValidatorDifferential runs the fast validator and gojsonschema on
// every case of the JSON-Schema-Test-Suite (draft-07, optional tests
// included): wherever the fast validator decides, it must decide as
// gojsonschema does.
func TestFastValidatorDifferential(t *testing.T) {
	remotes, err := filepath.Abs("testdata/json-schema-test-suite/remotes")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	policy := refPolicy{roots: []string{realPath(dir), realPath(remotes)}, mirror: map[string]string{"http://localhost:1234/": remotes}}
	compiled := map[string]*Schema{}
	var st fastState
	var cases, decided, noFast, unsure int
	unsupportedWhy := map[string]int{}
	for _, tc := range suiteCases(t, dir) {
		s, ok := compiled[tc.schema]
		if !ok {
			s, _ = loadSchema(tc.schema, false, policy)
			compiled[tc.schema] = s
			if s != nil && s.fast == nil {
				unsupportedWhy[s.fastWhy.Error()]++
			}
		}
		if s == nil {
			continue // gojsonschema refuses the schema: no verdicts to compare
		}
		cases++
		if s.fast == nil {
			noFast++
			continue
		}
		v, derr := decodeRecord(tc.data)
		if derr != nil {
			t.Fatalf("%s: %v", tc.key, derr)
		}
		want, ok := referenceVerdict(s, v)
		got := s.fast.validate(tc.data, &st)
		if got == fastUnsure || !ok {
			unsure++
			continue
		}
		decided++
		if (got == fastValid) != want {
			t.Errorf("%s: fast validator says valid=%v, gojsonschema valid=%v (data %s)", tc.key, got == fastValid, want, tc.data)
		}
	}
	t.Logf("%d cases: %d decided by both, %d without a fast validator, %d unsure", cases, decided, noFast, unsure)
	for why, n := range unsupportedWhy {
		t.Logf("  schemas without a fast validator: %d × %s", n, why)
	}
	// the fast validator must actually take the suite's schemas: most of
	// the verdicts are compared, not skipped
	if decided < cases*3/4 {
		t.Errorf("only %d of %d cases decided by the fast validator", decided, cases)
	}
}

// fuzzSchemas caches compiled fuzz schemas by text (nil: refused).
var fuzzSchemas = map[string]*Schema{}

func fuzzSchema(t *testing.T, schema []byte) *Schema {
	if s, ok := fuzzSchemas[string(schema)]; ok {
		return s
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "s.json")
	if err := os.WriteFile(path, schema, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := loadSchema(path, false, refPolicy{roots: []string{realPath(dir)}})
	if err != nil {
		s = nil
	}
	if len(fuzzSchemas) > 10000 {
		clear(fuzzSchemas)
	}
	fuzzSchemas[string(schema)] = s
	return s
}

// FuzzFastValidator compares the fast validator with gojsonschema on
// fuzzed schemas and records; seeded with the JSON-Schema-Test-Suite.
//
//	go test -tags duckdb_arrow -run '^$' -fuzz FuzzFastValidator -fuzztime 60s ./transform/
func FuzzFastValidator(f *testing.F) {
	seedDir := f.TempDir()
	seen := map[string][]byte{}
	for _, tc := range suiteCases(f, seedDir) {
		if _, ok := seen[tc.schema]; !ok {
			seen[tc.schema], _ = os.ReadFile(tc.schema)
		}
		f.Add(seen[tc.schema], []byte(tc.data))
	}
	f.Add([]byte(benchSchema), benchRecord(nil, 7))
	f.Add([]byte(benchSchema), benchRecord(nil, 49))
	f.Add([]byte(`{"type":"object","properties":{"a":{"type":"integer","maximum":3}}}`), []byte(`{"a":3.0e0,"a":4}`))
	f.Add([]byte(`{"properties":{"s":{"enum":["\u00e9",1.5,null]}}}`), []byte(`{"s":"\u00e9"}`))
	f.Fuzz(func(t *testing.T, schema, record []byte) {
		if len(schema) > 4096 || len(record) > 4096 || !json.Valid(schema) {
			return
		}
		s := fuzzSchema(t, schema)
		if s == nil || s.fast == nil {
			return
		}
		st := fastState{rec: true}
		got := s.fast.validate(record, &st)
		if got != fastUnsure {
			checkRecording(t, &st, record, string(schema))
		}
		v, ferr := decodeChecked(record)
		if ferr != nil {
			if got == fastValid {
				t.Fatalf("fast validator accepts a record rawland refuses (%s): %q", ferr.Reason, record)
			}
			return
		}
		want, ok := referenceVerdict(s, v)
		if got == fastUnsure || !ok {
			return
		}
		if (got == fastValid) != want {
			t.Fatalf("schema %s, record %s: fast valid=%v, gojsonschema valid=%v", schema, record, got == fastValid, want)
		}
	})
}

// TestFastValidatorTakesMockSchemas: the schemas rawland's own mock
// upstream serves (root $id, formats, patterns, enums, nested objects and
// arrays) all get a fast validator, so that their records skip gojsonschema.
func TestFastValidatorTakesMockSchemas(t *testing.T) {
	dir := t.TempDir()
	for name, body := range mockapi.New(mockapi.Options{Seed: 1, Size: 10}).Schemas() {
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := loadSchema(path, true, refPolicy{roots: []string{realPath(dir)}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.fast == nil {
			t.Errorf("%s: no fast validator: %v", name, s.fastWhy)
		}
	}
}

// TestFastValidatorDuplicateKeys: a record with a duplicate key is never
// decided by the fast validator (decodeChecked refuses it), whether the
// schema names the key (found by the seen flags) or not (found by hash),
// at the root or nested, with the duplicate spelled the same or escaped.
func TestFastValidatorDuplicateKeys(t *testing.T) {
	s := fuzzSchema(t, []byte(`{"type":"object","required":["a"],"properties":{"a":{"type":"integer"},"b":{},
		"o":{"type":"object","properties":{"x":{"type":"string"}}}}}`))
	if s == nil || s.fast == nil {
		t.Fatal("no fast validator")
	}
	for _, tc := range []struct {
		rec  string
		want fastVerdict
	}{
		{`{"a":1,"b":2,"z":3,"o":{"x":"s","y":1}}`, fastValid},
		{`{"a":1,"a":2}`, fastUnsure},
		{`{"a":1,"b":2,"a":1}`, fastUnsure},
		{`{"a":1,"\u0061":1}`, fastUnsure},
		{`{"a":"no","a":1}`, fastUnsure},
		{`{"a":1,"z":1,"z":2}`, fastUnsure},
		{`{"a":1,"z":1,"y":1,"\u007a":2}`, fastUnsure},
		{`{"a":1,"o":{"x":"s","x":"t"}}`, fastUnsure},
		{`{"a":1,"o":{"y":1,"y":2}}`, fastUnsure},
		{`{"a":1,"b":{"a":1,"a":2}}`, fastUnsure},
		{`{"a":1,"o":{"x":"s"},"o":{"x":"s"}}`, fastUnsure},
		{`{"a":1,"o":{"x":"s"},"p":{"x":"s"}}`, fastValid},
	} {
		var st fastState
		if got := s.fast.validate([]byte(tc.rec), &st); got != tc.want {
			t.Errorf("%s: verdict %d, want %d", tc.rec, got, tc.want)
		}
	}
}
