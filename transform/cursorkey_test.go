package transform

import (
	"testing"

	"github.com/rawland/rawland/state"
)

// A cursor field typed as a plain string (VARCHAR) orders by instant, not by
// text, whatever form each version's time takes.
func TestMergeOrdersTextCursorsAsTimes(t *testing.T) {
	const schema = `{"type":"object","required":["id"],"properties":{"id":{"type":"integer"},"v":{"type":"string"},"updated_at":{"type":"string"}}}`
	// (test names avoid "+": the schema loader reads it in a temp path as a space)
	for _, tc := range []struct {
		name         string
		older, newer string
	}{
		{"offset 0200 vs Z", "2024-01-01T12:00:00+0200", "2024-01-01T11:00:00Z"},
		{"offset 0000 vs 02:00", "2024-01-01T10:00:00+0000", "2024-01-01T12:30:00+02:00"},
		{"space separator vs T", "2024-01-01T10:00:00Z", "2024-01-01 11:00:00"},
		{"fraction vs none", "2024-01-01T10:00:00Z", "2024-01-01T10:00:00.5Z"},
		{"9-digit fractions", "2024-01-01T10:00:00.9Z", "2024-01-01T10:00:00.999999999+00:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, map[string]streamSpec{"items": {schema: schema, cursor: "updated_at"}})
			// the newer version lands first; the older one, landed later, must not replace it
			e.land("items", state.KindIngest, item(1, "newer", tc.newer))
			e.land("items", state.KindIngest, item(1, "older", tc.older))
			e.transform()
			if got := e.one(`SELECT v FROM items WHERE id = 1`); got != "newer" {
				t.Fatalf("row holds %q: the older version (%s) replaced the newer (%s)", got, tc.older, tc.newer)
			}
		})
	}
}
