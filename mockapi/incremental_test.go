package mockapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestIncrementalDialects(t *testing.T) {
	srv := httptest.NewServer(New(Options{Seed: 1, Size: 500}))
	defer srv.Close()
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var raw json.RawMessage
		json.NewDecoder(resp.Body).Decode(&raw)
		return resp.StatusCode, raw
	}
	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"range without until", "/range/orders?since=0", 400},
		{"range without since", "/range/orders?until=0", 400},
		{"range with RFC 3339", "/range/orders?since=2024-01-01T00:00:00Z&until=1", 400},
		{"range backwards", "/range/orders?since=2000&until=1000", 400},
		{"range", "/range/orders?since=0&until=1704067200000", 200},
		{"feed", "/feed/orders?page=1&per_page=10", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, body := get(tc.path); st != tc.status {
				t.Fatalf("status %d, want %d: %s", st, tc.status, body)
			}
		})
	}

	// range: since <= updated_ms < until, oldest first, total = the range
	from := time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	to := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	_, raw := get("/range/orders?limit=500&since=" + itoa(from) + "&until=" + itoa(to))
	var rng struct {
		Data []struct {
			ID        int    `json:"id"`
			UpdatedAt string `json:"updated_at"`
			UpdatedMS int64  `json:"updated_ms"`
		} `json:"data"`
		Total int `json:"total"`
	}
	if err := json.Unmarshal(raw, &rng); err != nil || rng.Total == 0 || rng.Total != len(rng.Data) {
		t.Fatalf("range: %v, total %d, %d records", err, rng.Total, len(rng.Data))
	}
	for i, r := range rng.Data {
		u, _ := time.Parse(time.RFC3339, r.UpdatedAt)
		if r.UpdatedMS != u.UnixMilli() || r.UpdatedMS < from || r.UpdatedMS >= to || (i > 0 && r.UpdatedMS < rng.Data[i-1].UpdatedMS) {
			t.Fatalf("record %d: updated_ms %d, updated_at %s", r.ID, r.UpdatedMS, r.UpdatedAt)
		}
	}

	// feed: every order, newest first, whatever since says
	var all []struct {
		ID        int    `json:"id"`
		UpdatedAt string `json:"updated_at"`
	}
	for p := 1; ; p++ {
		_, raw := get("/feed/orders?since=2030-01-01T00:00:00Z&per_page=100&page=" + itoa(int64(p)))
		var page []struct {
			ID        int    `json:"id"`
			UpdatedAt string `json:"updated_at"`
		}
		json.Unmarshal(raw, &page)
		all = append(all, page...)
		if len(page) < 100 {
			break
		}
	}
	if len(all) != 500 {
		t.Fatalf("feed served %d orders, want 500", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].UpdatedAt > all[i-1].UpdatedAt {
			t.Fatalf("feed not newest first at %d: %s after %s", i, all[i].UpdatedAt, all[i-1].UpdatedAt)
		}
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
