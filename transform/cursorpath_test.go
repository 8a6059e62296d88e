package transform

import "testing"

// A cursor field whose key holds a dot is written with a backslash before
// the dot, as in ingest; the newer version must still win over an older one
// landed later (read as the plain nested path, the field would be missing
// and the later, older version would replace it).
func TestCursorFieldEscapedDot(t *testing.T) {
	schema := `{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"},
		"sys.updated":{"type":"string","format":"date-time"}}}`
	e := newEnv(t, map[string]streamSpec{"items": {schema: schema, cursor: `sys\.updated`}})
	e.land("items", "ingest", `{"id":1,"v":"new","sys.updated":"2024-01-03T00:00:00Z"}`)
	e.land("items", "ingest", `{"id":1,"v":"old","sys.updated":"2024-01-01T00:00:00Z"}`)
	e.transform()
	if got := e.one(`SELECT v FROM items WHERE id = 1`); got != "new" {
		t.Errorf("v = %s, want new: the cursor field with an escaped dot was not read", got)
	}
}
