package transform

import (
	"testing"

	"github.com/rawland/rawland/state"
)

// TestContentHashOfOlderTables: a table an older rawland made holds
// SHA-256 content hashes and no rawland.meta key. Its records must still
// compare equal to their re-delivered copies (unchanged, not updated, so
// that counts and a reconcile's repairs stay true), and a rebuild makes
// the table anew with xxHash64.
func TestContentHashOfOlderTables(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}})
	rec := item(1, "a", t1)
	runCounts := func(rep Report) []string {
		var out []string
		for _, r := range rep.Streams[0].Runs {
			out = append(out, counts(r))
		}
		return out
	}
	createSHATables = true
	t.Cleanup(func() { createSHATables = false }) // also when the test stops early
	e.land("items", state.KindIngest, rec)
	rep := e.transform()
	createSHATables = false
	if got := runCounts(rep); len(got) != 1 || got[0] != "1/0/0/0/0/0" {
		t.Fatalf("first run: %v", got)
	}
	sha := e.one(`SELECT _rawland_hash FROM items`)
	if n := e.one(`SELECT count(*) FROM rawland.meta WHERE key = 'content_hash/items'`); n != "0" {
		t.Fatalf("an older table has a hash key")
	}

	e.land("items", state.KindIngest, `{"updated_at":"`+t1+`", "v":"a", "id":1}`)
	if got := runCounts(e.transform()); len(got) != 1 || got[0] != "0/0/1/0/0/0" {
		t.Errorf("the same record again, into the older table: %v, want unchanged (0/0/1/0/0/0)", got)
	}
	if h := e.one(`SELECT _rawland_hash FROM items`); h != sha {
		t.Errorf("hash %s, want the older table's SHA-256 hash %s", h, sha)
	}

	e.transform(func(o *Options) { o.Rebuild = true })
	if v := e.one(`SELECT value FROM rawland.meta WHERE key = 'content_hash/items'`); v != hashXXH64 {
		t.Errorf("after the rebuild the table's hash is %q, want %q", v, hashXXH64)
	}
	xxh := e.one(`SELECT _rawland_hash FROM items`)
	if xxh == sha {
		t.Errorf("after the rebuild the hash is still SHA-256's")
	}
	e.land("items", state.KindIngest, rec)
	if got := runCounts(e.transform()); len(got) != 1 || got[0] != "0/0/1/0/0/0" {
		t.Errorf("the same record again, into the rebuilt table: %v, want unchanged", got)
	}
	if h := e.one(`SELECT _rawland_hash FROM items`); h != xxh {
		t.Errorf("hash %s, want %s", h, xxh)
	}
}
