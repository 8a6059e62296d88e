package transform

import (
	"path/filepath"
	"testing"
)

// The type mapping of issue 4, item 2, one schema shape per case.
func TestTypeMapping(t *testing.T) {
	for _, tc := range []struct {
		name, schema, want string
	}{
		{"string", `{"type": "string"}`, "VARCHAR"},
		{"date-time", `{"type": "string", "format": "date-time"}`, "TIMESTAMPTZ"},
		{"date", `{"type": "string", "format": "date"}`, "DATE"},
		{"other format", `{"type": "string", "format": "uri"}`, "VARCHAR"},
		{"integer", `{"type": "integer"}`, "BIGINT"},
		{"integer within int64 bounds", `{"type": "integer", "minimum": 0, "maximum": 9223372036854775807}`, "BIGINT"},
		{"integer beyond int64", `{"type": "integer", "minimum": 0, "maximum": 18446744073709551615}`, "HUGEINT"},
		{"integer beyond hugeint", `{"type": "integer", "maximum": 1e40}`, "JSON"},
		{"number", `{"type": "number"}`, "DOUBLE"},
		{"integer or number", `{"type": ["integer", "number"]}`, "DOUBLE"},
		{"boolean", `{"type": "boolean"}`, "BOOLEAN"},
		{"nullable", `{"type": ["string", "null"], "format": "date-time"}`, "TIMESTAMPTZ"},
		{"only null", `{"type": "null"}`, "JSON"},
		{"mixed types", `{"type": ["string", "integer"]}`, "JSON"},
		{"no type", `{}`, "JSON"},
		{"object", `{"type": "object", "properties": {"b": {"type": "integer"}, "a": {"type": "string"}}}`, `STRUCT("b" BIGINT, "a" VARCHAR)`},
		{"open object", `{"type": "object", "additionalProperties": {"type": "string"}}`, "JSON"},
		{"object fields equal but for case", `{"type": "object", "properties": {"id": {"type": "integer"}, "ID": {"type": "string"}}}`, `STRUCT("id" BIGINT)`},
		{"array", `{"type": "array", "items": {"type": "string", "format": "date"}}`, "DATE[]"},
		{"array of objects", `{"type": "array", "items": {"type": "object", "properties": {"x": {"type": "number"}}}}`, `STRUCT("x" DOUBLE)[]`},
		{"array, open items", `{"type": "array"}`, "JSON"},
		{"array, tuple items", `{"type": "array", "items": [{"type": "string"}]}`, "JSON"},
		{"array, mixed items", `{"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "object", "properties": {"a": {}}}]}}`, "JSON"},
		{"nullable ref", `{"definitions": {"u": {"type": ["object", "null"], "properties": {"login": {"type": "string"}}}}, "$ref": "#/definitions/u"}`, `STRUCT("login" VARCHAR)`},
		{"anyOf with null", `{"anyOf": [{"type": "integer"}, {"type": "null"}]}`, "BIGINT"},
		{"oneOf of different types", `{"oneOf": [{"type": "integer"}, {"type": "string"}]}`, "JSON"},
		{"allOf merges properties", `{"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"properties": {"b": {"type": "boolean"}}}]}`, `STRUCT("a" VARCHAR, "b" BOOLEAN)`},
		{"enum of strings", `{"enum": ["a", "b", null]}`, "VARCHAR"},
		{"enum of integers", `{"enum": [1, 2]}`, "BIGINT"},
		{"enum mixed", `{"enum": [1, "a"]}`, "JSON"},
		{"const", `{"const": true}`, "BOOLEAN"},
		{"recursive", `{"definitions": {"n": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/definitions/n"}}}}}, "$ref": "#/definitions/n"}`, `STRUCT("kids" JSON)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.json")
			writeFile(t, path, tc.schema)
			s, err := loadSchema(path, false, refPolicy{roots: []string{realPath(filepath.Dir(path))}})
			if err != nil {
				t.Fatal(err)
			}
			if got := s.root.DDL(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			if back, rest := parseDuckType(s.root.DDL()); rest != "" || !back.equal(s.root) {
				t.Errorf("DuckDB type %s does not parse back (%s, rest %q)", s.root.DDL(), back.DDL(), rest)
			}
		})
	}
}

func TestParseDuckType(t *testing.T) {
	for in, want := range map[string]string{
		`STRUCT(login VARCHAR, "name" VARCHAR, "a ""b""" BIGINT[])[]`: `STRUCT("login" VARCHAR, "name" VARCHAR, "a ""b""" BIGINT[])[]`,
		`TIMESTAMP WITH TIME ZONE`:                                    `TIMESTAMPTZ`,
		`DECIMAL(18,3)`:                                               `DECIMAL(18,3)`,
		`STRUCT(a STRUCT(b HUGEINT), c DATE)`:                         `STRUCT("a" STRUCT("b" HUGEINT), "c" DATE)`,
	} {
		got, rest := parseDuckType(in)
		if rest != "" || got.DDL() != want {
			t.Errorf("%s: got %s (rest %q), want %s", in, got.DDL(), rest, want)
		}
	}
}
