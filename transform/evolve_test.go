package transform

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/state"
)

func TestSchemaEvolution(t *testing.T) {
	v1 := `{"type": "object", "required": ["id"], "properties": {
		"id": {"type": "integer"}, "n": {"type": "integer"},
		"o": {"type": "object", "properties": {"a": {"type": "string"}}}}}`
	e := newEnv(t, map[string]streamSpec{"things": {schema: v1}})
	e.land("things", state.KindIngest, `{"id":1,"n":5,"o":{"a":"x","b":true},"extra":"kept"}`)
	e.transform()
	if got := e.one(`SELECT _rawland_extra::VARCHAR FROM things`); got != `{"extra":"kept","o.b":true}` {
		t.Errorf("extra: %s", got)
	}

	// Safe: a new optional property, a new struct field, BIGINT → DOUBLE.
	v2 := `{"type": "object", "required": ["id"], "properties": {
		"id": {"type": "integer"}, "n": {"type": "number"},
		"o": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}}},
		"added": {"type": "string", "format": "date"}}}`
	e.setSchema("things", v2)
	e.land("things", state.KindIngest, `{"id":2,"n":2.5,"o":{"a":"y","b":false},"added":"2024-02-29"}`)
	e.transform()
	types := map[string]string{}
	for _, r := range e.query(`SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'things'`) {
		types[r[0]] = r[1]
	}
	if types["n"] != "DOUBLE" || types["added"] != "DATE" || types["o"] != "STRUCT(a VARCHAR, b BOOLEAN)" {
		t.Errorf("evolved types: n %s, added %s, o %s", types["n"], types["added"], types["o"])
	}
	if got := e.one(`SELECT string_agg(id || ':' || n || ':' || coalesce(o.b::VARCHAR, '-') || ':' || coalesce(added::VARCHAR, '-'), ' ' ORDER BY id) FROM things`); got != "1:5.0:-:- 2:2.5:false:2024-02-29" {
		t.Errorf("rows after evolution: %s", got)
	}

	// Unsafe: n narrowed to a string. Stream stops with a config error that
	// says what to do; nothing is altered and the run stays pending.
	v3 := strings.Replace(v2, `"n": {"type": "number"}`, `"n": {"type": "string"}`, 1)
	v3 = strings.Replace(v3, `"added": {"type": "string", "format": "date"}`, `"added": {"type": "string", "format": "date"}, "later": {"type": "string"}`, 1)
	e.setSchema("things", v3)
	pending := e.land("things", state.KindIngest, `{"id":3,"n":"three"}`)
	rep, err := Run(context.Background(), e.options())
	if !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("narrowing: got %v, want a config.ErrInvalid error", err)
	}
	var ce *config.Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, `column "n" is DOUBLE in the warehouse`) || !strings.Contains(ce.Msg, "--rebuild things") {
		t.Errorf("message should name the column and what to do: %v", err)
	}
	if rep.Streams[0].Err == nil {
		t.Error("the stream report should carry the error")
	}
	if got := e.one(`SELECT count(*) FROM duckdb_columns() WHERE table_name = 'things' AND column_name = 'later'`); got != "0" {
		t.Error("a safe change was applied although the schema also had an unsafe one")
	}
	if st := e.runStatus(pending.ID); st != state.StatusCommitted {
		t.Errorf("pending run is %s, want committed", st)
	}

	// Rebuilding from the raw landing applies the new schema to every run.
	rep = e.transform(func(o *Options) { o.Rebuild = true })
	if tot := rep.Streams[0].Totals(); tot.Records != 3 || tot.Quarantined != 2 {
		t.Errorf("rebuild: %+v, want 3 records, 2 quarantined (their n is a number)", tot)
	}
	if got := e.one(`SELECT string_agg(id || ':' || n, ' ') FROM things`); got != "3:three" {
		t.Errorf("rebuilt table: %s", got)
	}
}

func TestCompileSchemasErrors(t *testing.T) {
	for _, tc := range []struct {
		name, schema, pk, want string
	}{
		{"not JSON", `{"type": "object",`, "[id]", "not valid JSON"},
		{"bad keyword value", `{"type": "object", "properties": {"id": {"type": "integr"}}}`, "[id]", "does not compile"},
		{"missing local ref", `{"type": "object", "properties": {"id": {"$ref": "nope.json"}}}`, "[id]", "does not compile"},
		{"not an object", `{"type": "array"}`, "[id]", "must describe the record as an object"},
		{"key not a property", `{"type": "object", "properties": {"x": {"type": "string"}}}`, "[id]", `primary key field "id" is not a property`},
		{"key not scalar", `{"type": "object", "properties": {"id": {"type": "object", "properties": {"a": {}}}}}`, "[id]", "a key must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir+"/s.json", `{}`)
			writeFile(t, dir+"/rawland.yaml", "sources: {up: {base_url: \"http://x\"}}\nstreams:\n  s: {source: up, path: /s, primary_key: "+tc.pk+", schema: s.json}\n")
			cfg, err := config.Load(dir + "/rawland.yaml")
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, dir+"/s.json", tc.schema) // changed after the config was checked
			_, err = CompileSchemas(cfg)
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a config.ErrInvalid error containing %q", err, tc.want)
			}
		})
	}
}

// $ref to a local file relative to the schema file works.
func TestLocalRef(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"refs": {schema: `{"type": "object", "properties": {"id": {"type": "integer"}}}`}})
	writeFile(t, e.dir+"/schemas/defs/user.json", `{"definitions": {"user": {"type": "object", "required": ["login"],
		"properties": {"login": {"type": "string"}, "since": {"type": "string", "format": "date-time"}}}}}`)
	e.setSchema("refs", `{"type": "object", "properties": {
		"id": {"type": "integer"}, "owner": {"$ref": "defs/user.json#/definitions/user"}}}`)
	e.land("refs", state.KindIngest, `{"id":1,"owner":{"login":"a","since":"2020-01-01T00:00:00Z"}}`, `{"id":2,"owner":{"since":"2020-01-01T00:00:00Z"}}`)
	rep := e.transform()
	if got := counts(rep.Streams[0].Runs[0]); got != "1/0/0/0/0/1" {
		t.Errorf("counts %s: the referenced schema must validate (login required)", got)
	}
	if got := e.one(`SELECT data_type FROM duckdb_columns() WHERE table_name = 'refs' AND column_name = 'owner'`); got != "STRUCT(login VARCHAR, since TIMESTAMP WITH TIME ZONE)" {
		t.Errorf("owner column: %s", got)
	}
}
