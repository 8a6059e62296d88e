package mockapi

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// TestConcurrentUse walks every stream from several goroutines while the
// upstream changes and a delta-queue consumer runs (run it with -race).
func TestConcurrentUse(t *testing.T) {
	s, ts := start(t, Options{Seed: 1, Size: 400})
	c := ts.Client()
	t.Run("group", func(t *testing.T) { // parallel subtests; the group waits for them
		for i := range 8 {
			stream := append(s.Streams(), StreamCertificates)[i%7]
			t.Run(fmt.Sprintf("walk-%d-%s", i, stream), func(t *testing.T) {
				t.Parallel()
				w := walk(t, c, ts.URL, stream, url.Values{"per_page": {"50"}, "limit": {"50"}, "page_size": {"50"}, "size": {"50"}})
				if len(w.records) == 0 {
					t.Errorf("%s: nothing walked", stream)
				}
			})
		}
		t.Run("mutate", func(t *testing.T) {
			t.Parallel()
			for range 10 {
				s.Advance(5)
				s.Backdate(1)
				s.Delete(1)
				s.Resurrect(1)
				_ = s.Stats()
			}
		})
		t.Run("delta", func(t *testing.T) {
			t.Parallel()
			for range 10 {
				ids := get(t, c, ts.URL+"/delta?limit=20").body
				for id := range 3 {
					if r := get(t, c, fmt.Sprintf("%s/records/%d", ts.URL, id+1)); r.status != http.StatusOK && r.status != http.StatusNotFound {
						t.Errorf("fetch: %d", r.status)
					}
				}
				clearIDs(t, ts, string(ids))
			}
		})
	})
	if st := s.Stats(); st.DeltaCleared == 0 || st.MaxInFlight < 1 || st.InFlight < 0 {
		t.Errorf("stats %+v", st)
	}
}
