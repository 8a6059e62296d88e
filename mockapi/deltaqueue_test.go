package mockapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

func listIDs(t *testing.T, ts *httptest.Server, limit int) []int64 {
	t.Helper()
	r := get(t, ts.Client(), fmt.Sprintf("%s/delta?limit=%d", ts.URL, limit))
	var body struct {
		IDs []int64 `json:"ids"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || r.status != 200 || body.IDs == nil {
		t.Fatalf("GET /delta: %d %s: %v", r.status, r.body, err)
	}
	return body.IDs
}

func clearIDs(t *testing.T, ts *httptest.Server, body string) response {
	t.Helper()
	r, err := do(ts.Client(), http.MethodPost, ts.URL+"/delta/clear", []byte(body), "Content-Type", "application/json")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDeltaQueueCycle(t *testing.T) {
	s, ts := start(t, Options{Seed: 1, Size: 30})
	ids := listIDs(t, ts, 10)
	if !slices.Equal(ids, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) {
		t.Fatalf("first batch %v", ids)
	}
	for _, id := range ids {
		r := get(t, ts.Client(), fmt.Sprintf("%s/records/%d", ts.URL, id))
		want, _ := s.Record(StreamCertificates, id)
		if r.status != 200 || !bytes.Equal(r.body, want) {
			t.Fatalf("record %d: %d %s", id, r.status, r.body)
		}
	}
	if r := clearIDs(t, ts, `{"ids":[1,2,3,4,5,6,7,8,9,"10",999]}`); string(r.body) != `{"cleared":10}` {
		t.Errorf("clear: %d %s", r.status, r.body)
	}
	if next := listIDs(t, ts, 100); len(next) != 20 || next[0] != 11 {
		t.Errorf("second batch %v, want 11..30", next)
	}
	st := s.Stats()
	if st.DeltaListed != 30 || st.DeltaCleared != 10 || st.DeltaClearIgnored != 1 || st.DeltaLeased != 20 || st.DeltaPending != 0 || st.DeltaRedeliveries != 0 || st.RecordFetches != 10 {
		t.Errorf("stats %+v", st)
	}
	if ids := listIDs(t, ts, 100); len(ids) != 0 {
		t.Errorf("empty queue listed %v", ids)
	}
}

func TestDeltaRedeliveryAfterDeadline(t *testing.T) {
	clk := newClock()
	s, ts := start(t, Options{Seed: 1, Size: 50, Now: clk.Now, Delta: DeltaOptions{QueueSize: 5},
		Faults: Faults{DeltaDeadline: 2 * time.Minute}})
	first := listIDs(t, ts, 3) // 1,2,3
	clearIDs(t, ts, `{"ids":[1]}`)
	clk.Add(time.Minute)
	if got := listIDs(t, ts, 10); !slices.Equal(got, []int64{4, 5}) {
		t.Fatalf("inside the deadline: listed %v, want [4 5]", got)
	}
	clk.Add(61 * time.Second) // 2 and 3 expire; 4 and 5 have a minute left
	got := listIDs(t, ts, 10)
	if !slices.Equal(got, first[1:]) {
		t.Fatalf("after the deadline: listed %v, want %v first", got, first[1:])
	}
	r := clearIDs(t, ts, `{"ids":[2,3,4,5]}`)
	if string(r.body) != `{"cleared":4}` {
		t.Errorf("clear: %s", r.body)
	}
	st := s.Stats()
	if st.DeltaRedeliveries != 2 || st.DeltaRequeued != 2 || st.DeltaLateClears != 0 || st.DeltaPending != 0 || st.DeltaLeased != 0 {
		t.Errorf("stats %+v", st)
	}

	// A clear after the lease ran out still clears, but counts as late.
	s.Advance(1)
	ids := listIDs(t, ts, 10)
	clk.Add(3 * time.Minute)
	clearIDs(t, ts, fmt.Sprintf(`{"ids":%s}`, jsonInts(ids)))
	if st := s.Stats(); st.DeltaLateClears != int64(len(ids)) || st.DeltaPending != 0 {
		t.Errorf("late clears %d of %d, pending %d", st.DeltaLateClears, len(ids), st.DeltaPending)
	}
}

func TestDeltaRedeliveryRealClock(t *testing.T) {
	s, ts := start(t, Options{Seed: 1, Size: 10, Delta: DeltaOptions{QueueSize: 4}, Faults: Faults{DeltaDeadline: 50 * time.Millisecond}})
	first := listIDs(t, ts, 4)
	time.Sleep(100 * time.Millisecond) // past the deadline: no timing assertion
	if again := listIDs(t, ts, 4); !slices.Equal(again, first) {
		t.Errorf("listed %v after the deadline, want %v again", again, first)
	}
	if st := s.Stats(); st.DeltaRedeliveries != 4 {
		t.Errorf("redeliveries %d, want 4", st.DeltaRedeliveries)
	}
}

func TestDeltaAdvanceEnqueues(t *testing.T) {
	s, ts := start(t, Options{Seed: 3, Size: 100, Delta: DeltaOptions{QueueSize: -1}})
	if ids := listIDs(t, ts, 100); len(ids) != 0 {
		t.Fatalf("QueueSize -1 listed %v", ids)
	}
	changed, _ := s.Mutate(StreamCertificates, OpAdvance, 6)
	got := listIDs(t, ts, 100)
	if !slices.Equal(got, changed) {
		t.Fatalf("listed %v, want the changed and new IDs %v", got, changed)
	}
	// A record that changes while leased is queued again once cleared.
	again, _ := s.Mutate(StreamCertificates, OpAdvance, 1000) // every live record
	clearIDs(t, ts, fmt.Sprintf(`{"ids":%s}`, jsonInts(got)))
	relisted := listIDs(t, ts, 1000)
	if len(relisted) != len(again) {
		t.Errorf("after clear: listed %d IDs, want %d", len(relisted), len(again))
	}
	for _, id := range got {
		if !slices.Contains(relisted, id) {
			t.Errorf("id %d changed while leased but was not queued again", id)
		}
	}
}

func TestDeltaFailingIDs(t *testing.T) {
	s, ts := start(t, Options{Seed: 1, Size: 10, Delta: DeltaOptions{Fail500: []int64{3}, Fail404: []int64{4}}})
	s.Mutate(StreamCertificates, OpDelete, 1)
	deleted := int64(0)
	for id := int64(1); id <= 10; id++ {
		if _, ok := s.Record(StreamCertificates, id); !ok {
			deleted = id
		}
	}
	tests := []struct {
		path string
		want int
	}{
		{"/records/1", 200}, {"/records/3", 500}, {"/records/4", 404},
		{"/records/11", 404}, {"/records/abc", 404}, {fmt.Sprintf("/records/%d", deleted), 404},
	}
	for _, tc := range tests {
		if tc.path == "/records/1" && deleted == 1 {
			tc.path = "/records/2"
		}
		if r := get(t, ts.Client(), ts.URL+tc.path); r.status != tc.want || !json.Valid(r.body) {
			t.Errorf("%s: %d %s, want %d", tc.path, r.status, r.body, tc.want)
		}
	}
}

func TestDeltaClearBadBody(t *testing.T) {
	_, ts := start(t, Options{Seed: 1, Size: 10})
	for _, body := range []string{``, `{`, `{"id":[1]}`, `{"ids":["x"]}`, `{"ids":[1.5]}`} {
		if r := clearIDs(t, ts, body); r.status != http.StatusBadRequest {
			t.Errorf("body %q: status %d %s, want 400", body, r.status, r.body)
		}
	}
	if r, _ := do(ts.Client(), http.MethodGet, ts.URL+"/delta/clear", nil); r.status != http.StatusNotFound {
		t.Errorf("GET /delta/clear: %d", r.status)
	}
}

func jsonInts(ids []int64) string {
	b, _ := json.Marshal(ids)
	return string(b)
}
