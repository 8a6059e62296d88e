package mockapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xeipuuv/gojsonschema"
)

func byID(t *testing.T, s *Server, stream string) map[int64][]byte {
	t.Helper()
	out := map[int64][]byte{}
	for rec := range s.Truth(stream) {
		out[parseHead(t, rec).ID] = rec
	}
	return out
}

func TestDeterminism(t *testing.T) {
	run := func(seed int64) map[string][]byte {
		s, ts := start(t, Options{Seed: seed, Size: 120})
		s.Advance(10)
		s.Backdate(3)
		s.Delete(4)
		s.Resurrect(2)
		out := map[string][]byte{}
		for _, stream := range append(s.Streams(), StreamCertificates) {
			w := walk(t, ts.Client(), ts.URL, stream, url.Values{})
			out[stream] = bytes.Join(w.records, []byte("\n"))
		}
		r := get(t, ts.Client(), ts.URL+"/delta?limit=1000")
		out["delta"] = r.body
		return out
	}
	a, b, c := run(42), run(42), run(43)
	for stream := range a {
		if !bytes.Equal(a[stream], b[stream]) {
			t.Errorf("%s: same seed served different bytes", stream)
		}
		if stream != StreamCountries && stream != "delta" && bytes.Equal(a[stream], c[stream]) {
			t.Errorf("%s: seeds 42 and 43 served the same bytes", stream)
		}
	}
}

func TestAdvance(t *testing.T) {
	const size, n = 200, 17
	s := New(Options{Seed: 5, Size: size})
	for _, stream := range []string{StreamUsers, StreamOrders, StreamCertificates} {
		t.Run(stream, func(t *testing.T) {
			before := byID(t, s, stream)
			var maxBefore time.Time
			for _, rec := range before {
				if u := parseHead(t, rec).UpdatedAt; u.After(maxBefore) {
					maxBefore = u
				}
			}
			ids, err := s.Mutate(stream, OpAdvance, n)
			if err != nil {
				t.Fatal(err)
			}
			after := byID(t, s, stream)
			if len(after) != len(before)+Appended(n) || len(ids) != n+Appended(n) {
				t.Fatalf("%d records after (want %d), %d IDs touched (want %d)", len(after), len(before)+Appended(n), len(ids), n+Appended(n))
			}
			changed, added := 0, 0
			for id, rec := range after {
				h := parseHead(t, rec)
				old, existed := before[id]
				switch {
				case !existed:
					added++
					if h.Version != 1 || h.UpdatedAt.Before(maxBefore) || !h.CreatedAt.Equal(h.UpdatedAt) {
						t.Errorf("new id %d: version %d updated %s created %s", id, h.Version, h.UpdatedAt, h.CreatedAt)
					}
				case !bytes.Equal(old, rec):
					changed++
					o := parseHead(t, old)
					if h.Version != o.Version+1 || !h.UpdatedAt.After(maxBefore) || !h.CreatedAt.Equal(o.CreatedAt) {
						t.Errorf("id %d: version %d→%d, updated %s→%s (max before %s)", id, o.Version, h.Version, o.UpdatedAt, h.UpdatedAt, maxBefore)
					}
				}
			}
			if changed != n || added != Appended(n) {
				t.Errorf("changed %d, added %d; want %d and %d", changed, added, n, Appended(n))
			}
			if !slices.Contains(ids, int64(size+1)) {
				t.Errorf("touched IDs %v lack the first new ID %d", ids, size+1)
			}
		})
	}
	// Advance covers every changing stream and leaves countries alone.
	counts := map[string]int{}
	for _, st := range s.Streams() {
		counts[st] = s.Count(st)
	}
	s.Advance(4)
	for _, st := range s.Streams() {
		want := counts[st] + Appended(4)
		if st == StreamCountries {
			want = counts[st]
		}
		if got := s.Count(st); got != want {
			t.Errorf("%s: %d records after Advance(4), want %d", st, got, want)
		}
	}
}

func TestAdvanceFollowsClock(t *testing.T) {
	now := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	s := New(Options{Seed: 1, Size: 50, Now: func() time.Time { return now }})
	ids, _ := s.Mutate(StreamUsers, OpAdvance, 1)
	rec, _ := s.Record(StreamUsers, ids[0])
	if u := parseHead(t, rec).UpdatedAt; u.Before(now) || u.After(now.Add(time.Minute)) {
		t.Errorf("updated_at %s, want just after the clock %s", u, now)
	}
}

func TestBackdateDeleteResurrect(t *testing.T) {
	s := New(Options{Seed: 9, Size: 300})
	before := byID(t, s, StreamTickets)

	ids, err := s.Mutate(StreamTickets, OpBackdate, 6)
	if err != nil || len(ids) != 6 {
		t.Fatalf("backdate: %v, %d ids", err, len(ids))
	}
	for _, id := range ids {
		rec, ok := s.Record(StreamTickets, id)
		h, o := parseHead(t, rec), parseHead(t, before[id])
		if !ok || h.Version != o.Version+1 || !h.UpdatedAt.Equal(h.CreatedAt) || h.UpdatedAt.After(o.UpdatedAt) {
			t.Errorf("backdated id %d: %+v (was %+v)", id, h, o)
		}
	}

	gone, _ := s.Mutate(StreamTickets, OpDelete, 10)
	if s.Count(StreamTickets) != 290 {
		t.Errorf("count after delete %d, want 290", s.Count(StreamTickets))
	}
	live := byID(t, s, StreamTickets)
	for _, id := range gone {
		if _, ok := live[id]; ok {
			t.Errorf("deleted id %d still in Truth", id)
		}
		if _, ok := s.Record(StreamTickets, id); ok {
			t.Errorf("deleted id %d still found by Record", id)
		}
	}

	back, _ := s.Mutate(StreamTickets, OpResurrect, 4)
	if len(back) != 4 || s.Count(StreamTickets) != 294 {
		t.Fatalf("resurrected %d, count %d; want 4 and 294", len(back), s.Count(StreamTickets))
	}
	for _, id := range back {
		if !slices.Contains(gone, id) {
			t.Errorf("resurrected id %d was not deleted", id)
		}
		if rec, ok := s.Record(StreamTickets, id); !ok || !bytes.Equal(rec, before[id]) && !slices.Contains(ids, id) {
			t.Errorf("resurrected id %d changed: %s", id, rec)
		}
	}
	if more, _ := s.Mutate(StreamTickets, OpResurrect, 100); len(more) != 6 {
		t.Errorf("resurrected %d of the 6 still deleted", len(more))
	}
}

func TestMutateErrors(t *testing.T) {
	s := New(Options{Size: 10})
	tests := []struct {
		stream string
		op     Op
		want   error
	}{
		{"nope", OpAdvance, ErrUnknownStream},
		{StreamCountries, OpDelete, ErrStaticStream},
		{StreamUsers, Op(99), ErrUnknownOp},
	}
	for _, tc := range tests {
		if _, err := s.Mutate(tc.stream, tc.op, 1); !errors.Is(err, tc.want) {
			t.Errorf("Mutate(%s, %v): %v, want %v", tc.stream, tc.op, err, tc.want)
		}
	}
}

func TestRecordsMatchSchemas(t *testing.T) {
	s := New(Options{Seed: 21, Size: 300})
	s.Advance(100)
	s.Advance(100) // later versions: more statuses, nullable fields filled
	for name, doc := range s.Schemas() {
		t.Run(name, func(t *testing.T) {
			schema, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(doc))
			if err != nil {
				t.Fatalf("schema: %v", err)
			}
			seen := map[string]bool{} // nullable fields seen both ways
			for rec := range s.Truth(name) {
				res, err := schema.Validate(gojsonschema.NewBytesLoader(rec))
				if err != nil {
					t.Fatal(err)
				}
				if !res.Valid() {
					t.Fatalf("record %s: %v", rec, res.Errors())
				}
				var m map[string]any
				_ = json.Unmarshal(rec, &m)
				for k, v := range m {
					seen[fmt.Sprintf("%s=%v", k, v == nil)] = true
				}
			}
			for _, k := range slices.Sorted(maps.Keys(seen)) {
				if f, _ := strings.CutSuffix(k, "=true"); f != k && !seen[f+"=false"] {
					t.Errorf("field %s is always null", f)
				}
			}
		})
	}
}

func TestDrift(t *testing.T) {
	const size = 5000
	s := New(Options{Seed: 4, Size: size, Drift: 0.02})
	drifted := 0
	for rec := range s.Truth(StreamUsers) {
		if parseHead(t, rec).Status == DriftedStatus {
			drifted++
		}
	}
	if drifted < size/100 || drifted > size*3/100 { // about 2%
		t.Errorf("%d of %d users drifted, want about 2%%", drifted, size)
	}
	for rec := range New(Options{Seed: 4, Size: size}).Truth(StreamUsers) {
		if parseHead(t, rec).Status == DriftedStatus {
			t.Fatalf("drift without Options.Drift: %s", rec)
		}
	}
}

func TestServedBytesAreExact(t *testing.T) {
	s := New(Options{Seed: 2, Size: 400})
	want := []string{`\u00e9`, `9223372036854775`, `,"external_ref":90071992547409`, `"score":0.1,`, `"price":0.30000000000000004`, `\ud83d\ude80`}
	var all []byte
	for _, st := range []string{StreamUsers, StreamOrders, StreamProducts, StreamTickets} {
		for rec := range s.Truth(st) {
			all = append(all, rec...)
		}
	}
	for _, w := range want {
		if !bytes.Contains(all, []byte(w)) {
			t.Errorf("served bytes never contain %s", w)
		}
	}
}
