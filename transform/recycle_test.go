package transform

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/rawland/rawland/state"
)

// TestRecycledBuffersKeepEveryRecord transforms thousands of records in
// batches of 7 on more workers than cores, so that the buffers holding
// the records' bytes, the record lists and the key hashes (pipeline.go,
// "Recycling") are reused hundreds of times while other batches are in
// flight: every valid record's row and every quarantined record's text
// must still be exactly what was landed, and every new field (drift) must
// be counted with its own value. A buffer reused before its batch was done
// would show here as another record's bytes.
func TestRecycledBuffersKeepEveryRecord(t *testing.T) {
	e := newEnv(t, map[string]streamSpec{"items": {schema: itemSchema, cursor: "updated_at"}})
	const n = 4000
	var recs []string
	want := map[string]string{} // id → v, the valid ones
	quar := map[string]bool{}   // the invalid records
	extras := 0
	for i := 1; i <= n; i++ {
		v := fmt.Sprintf("v%d-%s", i, strings.Repeat(string(rune('a'+i%26)), i%300))
		if i%11 == 0 { // a number where the schema wants a string: quarantined
			recs = append(recs, fmt.Sprintf(`{"id":%d,"v":%d,"updated_at":"2026-01-01T00:00:00Z"}`, i, i))
			quar[recs[len(recs)-1]] = true
			continue
		}
		want[strconv.Itoa(i)] = v
		if i%13 == 0 { // a field the schema does not name: drift, kept in _rawland_extra
			recs = append(recs, fmt.Sprintf(`{"id":%d,"v":%q,"updated_at":"2026-01-01T00:00:00Z","extra":"x%d"}`, i, v, i))
			extras++
			continue
		}
		recs = append(recs, item(i, v, "2026-01-01T00:00:00Z"))
	}
	// in runs of 443 records, which the transform loads together: batches
	// span runs, and the sink reads again the records of a batch that
	// spans runs and shows drift, to count each run's own
	for len(recs) > 0 {
		k := min(443, len(recs))
		e.land("items", state.KindIngest, recs[:k]...)
		recs = recs[k:]
	}
	e.transform(func(o *Options) { o.BatchSize, o.Workers = 7, 4 })

	rows := e.query("SELECT id, v FROM items")
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		if want[r[0]] != r[1] {
			t.Fatalf("id %s: v %.40q, want %.40q", r[0], r[1], want[r[0]])
		}
	}
	for _, r := range e.query(`SELECT id, _rawland_extra->>'extra' FROM items WHERE _rawland_extra IS NOT NULL`) {
		if r[1] != "x"+r[0] {
			t.Fatalf("id %s: extra %q, want %q", r[0], r[1], "x"+r[0])
		}
		extras--
	}
	if extras != 0 {
		t.Fatalf("%d records with an extra field not in _rawland_extra", extras)
	}
	if got := e.one(`SELECT sum(count) FROM rawland.drift WHERE path = 'extra'`); got != "280" {
		t.Fatalf("drift counted %s records with the new field extra, want 280", got)
	}
	got := e.query("SELECT file, line, record FROM rawland.quarantine WHERE stream = 'items'")
	if len(got) != len(quar) {
		t.Fatalf("%d quarantined, want %d", len(got), len(quar))
	}
	for _, r := range got {
		if !quar[r[2]] {
			t.Fatalf("quarantined %s line %s: %q is none of the invalid records landed", r[0], r[1], r[2])
		}
		delete(quar, r[2])
	}
}

// TestFreeListIsBounded: a free list keeps at most max buffers, hands
// them back last in first out, and the zero value when empty.
func TestFreeListIsBounded(t *testing.T) {
	f := freeList[[]byte]{max: 2}
	for i := range 3 {
		f.put(make([]byte, 0, i+1))
	}
	if len(f.free) != 2 {
		t.Fatalf("%d kept, want 2", len(f.free))
	}
	if b := f.get(); cap(b) != 2 {
		t.Fatalf("got cap %d, want 2 (the last kept)", cap(b))
	}
	f.get()
	if b := f.get(); b != nil {
		t.Fatalf("an empty list gave %v, want nil", b)
	}
}
