package mockapi

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPaginationWalksEveryRecordOnce(t *testing.T) {
	s, ts := start(t, Options{Seed: 7, Size: 230})
	s.Advance(20) // ties, moved records, appended IDs
	s.Backdate(5)
	s.Delete(5) // 230 + Appended(20) - 5 = 235 live records per stream
	tests := []struct {
		stream string
		q      url.Values
		pages  int // expected page count (0: don't check)
	}{
		{StreamUsers, url.Values{"per_page": {"25"}}, 10},
		{StreamUsers, url.Values{}, 8}, // default per_page 30
		{StreamOrders, url.Values{"limit": {"25"}}, 10},
		{StreamEvents, url.Values{"page_size": {"25"}}, 10},
		{StreamProducts, url.Values{"size": {"25"}}, 11}, // the empty page ends it
		{StreamTickets, url.Values{"limit": {"25"}}, 10},
		{StreamCountries, url.Values{}, 1},
		{StreamCertificates, url.Values{"size": {"100"}}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.stream+"?"+tc.q.Encode(), func(t *testing.T) {
			want := truth(s, tc.stream)
			got := walk(t, ts.Client(), ts.URL, tc.stream, tc.q)
			if len(got.records) != len(want) {
				t.Fatalf("walked %d records, upstream has %d", len(got.records), len(want))
			}
			seen := map[int64]bool{}
			for i := range want {
				if !bytes.Equal(got.records[i], want[i]) {
					t.Fatalf("record %d differs:\n got %s\nwant %s", i, got.records[i], want[i])
				}
				id := parseHead(t, got.records[i]).ID
				if seen[id] {
					t.Fatalf("id %d served twice", id)
				}
				seen[id] = true
			}
			if tc.pages > 0 && got.pages != tc.pages {
				t.Errorf("took %d pages, want %d", got.pages, tc.pages)
			}
		})
	}
}

func TestTruthIsOrderedByUpdatedAtThenID(t *testing.T) {
	s := New(Options{Seed: 3, Size: 500})
	s.Advance(50)
	s.Backdate(10)
	for _, stream := range append(s.Streams(), StreamCertificates) {
		var prev head
		ties := 0
		for i, rec := range truth(s, stream) {
			h := parseHead(t, rec)
			if i > 0 && (h.UpdatedAt.Before(prev.UpdatedAt) || h.UpdatedAt.Equal(prev.UpdatedAt) && h.ID <= prev.ID) {
				t.Fatalf("%s: record %d (id %d, %s) after id %d, %s", stream, i, h.ID, h.UpdatedAt, prev.ID, prev.UpdatedAt)
			}
			if i > 0 && h.UpdatedAt.Equal(prev.UpdatedAt) {
				ties++
			}
			prev = h
		}
		if stream != StreamCountries && ties == 0 {
			t.Errorf("%s: no two records share updated_at; ordering by id is never exercised", stream)
		}
	}
}

func TestSinceFilter(t *testing.T) {
	s, ts := start(t, Options{Seed: 11, Size: 300})
	s.Advance(30)
	for _, stream := range []string{StreamUsers, StreamOrders, StreamEvents, StreamProducts, StreamTickets, StreamCertificates} {
		all := truth(s, stream)
		mid := parseHead(t, all[len(all)/2]).UpdatedAt
		tests := []struct {
			name  string
			since string
			keep  func(time.Time) bool
		}{
			{"exact second is inclusive", mid.Format(time.RFC3339), func(u time.Time) bool { return !u.Before(mid) }},
			{"fraction rounds up", mid.Add(500 * time.Millisecond).Format(time.RFC3339Nano), func(u time.Time) bool { return u.After(mid) }},
			{"offset zone", mid.In(time.FixedZone("x", -5*3600)).Format(time.RFC3339), func(u time.Time) bool { return !u.Before(mid) }},
			{"before everything", "1999-01-01T00:00:00Z", func(time.Time) bool { return true }},
			{"after everything", "2100-01-01T00:00:00Z", func(time.Time) bool { return false }},
		}
		for _, tc := range tests {
			t.Run(stream+"/"+tc.name, func(t *testing.T) {
				var want [][]byte
				for _, rec := range all {
					if tc.keep(parseHead(t, rec).UpdatedAt) {
						want = append(want, rec)
					}
				}
				got := walk(t, ts.Client(), ts.URL, stream, url.Values{"since": {tc.since}})
				if len(got.records) != len(want) {
					t.Fatalf("since=%s: got %d records, want %d", tc.since, len(got.records), len(want))
				}
				for i := range want {
					if !bytes.Equal(got.records[i], want[i]) {
						t.Fatalf("record %d differs", i)
					}
				}
			})
		}
	}
}

func TestOffsetTotalAndLinkHeader(t *testing.T) {
	_, ts := start(t, Options{Seed: 1, Size: 95})
	r := get(t, ts.Client(), ts.URL+"/orders?offset=90&limit=10")
	if !strings.HasSuffix(string(r.body), `,"total":95}`) {
		t.Errorf("orders body ends %q, want total 95", r.body[max(0, len(r.body)-20):])
	}
	r = get(t, ts.Client(), ts.URL+"/users?per_page=10&page=2&since=2000-01-01T00:00:00Z")
	link := r.header.Get("Link")
	for _, want := range []string{
		`<` + ts.URL + `/users?page=3&per_page=10&since=2000-01-01T00%3A00%3A00Z>; rel="next"`,
		`<` + ts.URL + `/users?page=10&per_page=10&since=2000-01-01T00%3A00%3A00Z>; rel="last"`,
		`<` + ts.URL + `/users?page=1&per_page=10&since=2000-01-01T00%3A00%3A00Z>; rel="prev"`,
	} {
		if !strings.Contains(link, want) {
			t.Errorf("Link %q lacks %q", link, want)
		}
	}
	r = get(t, ts.Client(), ts.URL+"/users?per_page=10&page=10")
	if strings.Contains(r.header.Get("Link"), `rel="next"`) {
		t.Errorf("last page still links a next page: %s", r.header.Get("Link"))
	}
}

func TestBadParameters(t *testing.T) {
	_, ts := start(t, Options{Seed: 1, Size: 10})
	for _, path := range []string{
		"/users?since=yesterday", "/users?page=0", "/users?per_page=x", "/orders?offset=-1",
		"/orders?limit=0", "/events?cursor=bm9wZQ", "/events?page_size=0", "/products?page=0",
		"/tickets?after=!!!", "/certificates?size=-3", "/delta?limit=0",
	} {
		t.Run(path, func(t *testing.T) {
			r := get(t, ts.Client(), ts.URL+path)
			if r.status != http.StatusBadRequest || !bytes.HasPrefix(r.body, []byte(`{"message":`)) {
				t.Errorf("status %d body %s, want 400 with a JSON message", r.status, r.body)
			}
		})
	}
	if r := get(t, ts.Client(), ts.URL+"/nope"); r.status != http.StatusNotFound {
		t.Errorf("unknown path: status %d, want 404", r.status)
	}
}

func TestPageSizeIsClamped(t *testing.T) {
	_, ts := start(t, Options{Seed: 1, Size: 300})
	got := walk(t, ts.Client(), ts.URL, StreamUsers, url.Values{"per_page": {"1000"}})
	if got.pages != 3 { // 300 records at the maximum of 100
		t.Errorf("per_page=1000 took %d pages, want 3 (clamped to 100)", got.pages)
	}
}

func TestPathPrefix(t *testing.T) {
	s, ts := start(t, Options{Seed: 1, Size: 40, PathPrefix: "/v2/"})
	got := walk(t, ts.Client(), ts.URL+"/v2", StreamTickets, url.Values{"limit": {"7"}})
	if len(got.records) != 40 || got.pages != 6 {
		t.Errorf("walked %d records in %d pages, want 40 in 6", len(got.records), got.pages)
	}
	if r := get(t, ts.Client(), ts.URL+"/tickets"); r.status != http.StatusNotFound {
		t.Errorf("unprefixed path: status %d, want 404", r.status)
	}
	if !strings.Contains(s.Config(ts.URL), "base_url: "+ts.URL+"/v2\n") {
		t.Errorf("config base_url lacks the prefix")
	}
}

func TestBreakListingAfterPages(t *testing.T) {
	_, ts := start(t, Options{Seed: 1, Size: 100, Faults: Faults{BreakListingAfterPages: 2}})
	c := ts.Client()
	tests := []struct {
		path string
		want int
	}{
		{"/users?per_page=10&page=2", 200},
		{"/users?per_page=10&page=3", 500},
		{"/users?per_page=10&page=3&since=2000-01-01T00:00:00Z", 200}, // incremental reads still work
		{"/orders?limit=10&offset=10", 200},
		{"/orders?limit=10&offset=20", 500},
		{"/products?size=10&page=3", 500},
		{"/certificates?size=10&page=3", 500},
	}
	for _, tc := range tests {
		if r := get(t, c, ts.URL+tc.path); r.status != tc.want {
			t.Errorf("%s: status %d, want %d", tc.path, r.status, tc.want)
		}
	}
	// Cursor-style listings count pages through their tokens.
	for _, stream := range []string{StreamEvents, StreamTickets} {
		pages, status := 0, 0
		u := ts.URL + "/" + stream + "?page_size=10&limit=10"
		for ; u != "" && pages < 20; pages++ {
			r := get(t, c, u)
			if status = r.status; status != 200 {
				break
			}
			u = nextOf(t, stream, ts.URL, r.body)
		}
		if status != 500 || pages != 2 {
			t.Errorf("%s: stopped after %d pages with status %d, want 500 after 2", stream, pages, status)
		}
	}
}
