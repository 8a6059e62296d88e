package mockapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// TestLargeSize checks that a million records per stream is served without
// per-request work proportional to the stream: first page, a deep page, a
// since filter near the end, and an Advance.
func TestLargeSize(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): allocates a million-record stream")
	}
	const size = 1_000_000
	s, ts := start(t, Options{Seed: 1, Size: size})
	c := ts.Client()
	r := get(t, c, ts.URL+"/orders?limit=100&offset=999950")
	var body struct {
		Data  []json.RawMessage `json:"data"`
		Total int               `json:"total"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || len(body.Data) != 50 || body.Total != size {
		t.Fatalf("deep page: %d records, total %d, err %v", len(body.Data), body.Total, err)
	}
	if h := parseHead(t, body.Data[49]); h.ID != size {
		t.Errorf("last record id %d, want %d", h.ID, size)
	}
	ids, _ := s.Mutate(StreamOrders, OpAdvance, 10)
	last, _ := s.Record(StreamOrders, ids[len(ids)-1])
	since := parseHead(t, last).UpdatedAt.Format("2006-01-02T15:04:05Z07:00")
	got := walk(t, c, ts.URL, StreamOrders, url.Values{"since": {since}})
	if len(got.records) == 0 || len(got.records) > len(ids) {
		t.Errorf("since the newest change: %d records", len(got.records))
	}
	if r := get(t, c, ts.URL+"/users?per_page=100"); r.status != http.StatusOK {
		t.Errorf("first users page: %d", r.status)
	}
}

// BenchmarkServePage measures serving one 100-record page of a
// million-record stream through the whole handler chain.
func BenchmarkServePage(b *testing.B) {
	for _, stream := range []string{StreamUsers, StreamOrders, StreamEvents} {
		b.Run(stream, func(b *testing.B) {
			s := New(Options{Seed: 1, Size: 1_000_000})
			s.Count(stream) // generate outside the timer
			w := &discard{h: http.Header{}}
			for i := 0; b.Loop(); i++ {
				u := fmt.Sprintf("/%s?per_page=100&page=%d&limit=100&offset=%d&page_size=100", stream, 1+i%9000, (i%9000)*100)
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				s.ServeHTTP(w, req)
				if w.code != http.StatusOK {
					b.Fatalf("%s: status %d", u, w.code)
				}
			}
			b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// discard is a ResponseWriter that keeps only the status.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(code int)        { d.code = code }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
