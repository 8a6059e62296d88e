package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/mockapi"
	"github.com/rawland/rawland/state"
)

// TestDeltaQueueMockDeadlineSpikes drains the mock's certificates queue (400
// IDs, a 3 s deadline) while the fetch latency spikes: every 9th request
// takes 120 ms more, and for one second every request does (25 times the
// base latency). Every cycle must clear within the deadline, so nothing is
// re-delivered; the IDs whose fetch always fails (404, 500) end in the DLQ
// and are cleared with the rest; replaying the DLQ while the upstream still
// fails keeps them; once the upstream is healthy, replay lands them as a new
// run and empties the DLQ.
func TestDeltaQueueMockDeadlineSpikes(t *testing.T) {
	t.Parallel() // mostly waiting: overlaps with the other upstream-fault tests
	const size, dead404, dead500 = 400, 17, 42
	opts := mockapi.Options{
		Seed: 7, Size: size,
		Delta: mockapi.DeltaOptions{Fail404: []int64{dead404}, Fail500: []int64{dead500}},
		Faults: mockapi.Faults{
			DeltaDeadline: 3 * time.Second,
			Latency:       2 * time.Millisecond, Jitter: 3 * time.Millisecond,
			SpikeEvery: 9, SpikeLatency: 120 * time.Millisecond,
			SpikeAfter: time.Second, SpikeFor: time.Second,
		},
	}
	e := newMockEnv(t, opts, nil)
	ctx := context.Background()
	cert := e.cfg.Streams[mockapi.StreamCertificates]
	res := e.run(mockapi.StreamCertificates)

	st := e.m.Stats()
	if st.Faults[mockapi.FaultSpike] == 0 {
		t.Fatal("no latency spike happened: the test proves nothing")
	}
	if st.DeltaRedeliveries != 0 || st.DeltaRequeued != 0 || st.DeltaLateClears != 0 {
		t.Errorf("a cycle overran the deadline: %d re-deliveries, %d leases expired, %d late clears",
			st.DeltaRedeliveries, st.DeltaRequeued, st.DeltaLateClears)
	}
	if st.DeltaPending != 0 || st.DeltaLeased != 0 || st.DeltaCleared != size {
		t.Errorf("queue not drained: %d pending, %d leased, %d of %d cleared (dead IDs must be cleared too)",
			st.DeltaPending, st.DeltaLeased, st.DeltaCleared, size)
	}
	if len(res.Runs) < 3 {
		t.Errorf("%d cycles: a 400-ID queue with a 3 s deadline should take several", len(res.Runs))
	}
	recs, _ := e.allCommitted(mockapi.StreamCertificates)
	landed := map[int]int{}
	for _, id := range ids(t, recs) {
		landed[id]++
	}
	for id := 1; id <= size; id++ {
		want := 1
		if id == dead404 || id == dead500 {
			want = 0
		}
		if landed[id] != want {
			t.Errorf("certificate %d landed %d times, want %d", id, landed[id], want)
		}
	}

	dlq, err := e.store.ListDLQ(ctx, mockapi.StreamCertificates)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]state.DLQEntry{}
	for _, d := range dlq {
		byID[d.ID] = d
	}
	if len(dlq) != 2 || byID["17"].Status != 404 || byID["42"].Status != 500 || byID["42"].Attempts < 2 || byID["17"].TrackingID == "" {
		t.Fatalf("dead letters = %+v, want 17 (404, with its tracking ID) and 42 (500 after retries)", dlq)
	}

	// Replaying while the upstream still fails keeps both letters.
	rr, left, err := ingest.ReplayDLQ(ctx, e.opts(state.KindIngest), cert)
	if err != nil || left != 2 || rr.Run.Records != 0 {
		t.Fatalf("replay against the failing upstream: %+v, %d left, %v", rr.Run, left, err)
	}

	// The upstream is fixed: same data, no failing IDs.
	healthy := opts
	healthy.Delta = mockapi.DeltaOptions{QueueSize: -1}
	e.m = mockapi.New(healthy)
	e.upstream.set(e.m)
	rr, left, err = ingest.ReplayDLQ(ctx, e.opts(state.KindIngest), cert)
	if err != nil || left != 0 || rr.Run.Records != 2 || rr.Run.Status != state.StatusCommitted {
		t.Fatalf("replay after the fix: %+v, %d left, %v", rr.Run, left, err)
	}
	if dlq, _ := e.store.ListDLQ(ctx, mockapi.StreamCertificates); len(dlq) != 0 {
		t.Fatalf("the DLQ still holds %+v after a successful replay", dlq)
	}
	e.queued = size
	e.assertAllLanded(mockapi.StreamCertificates)
	t.Logf("%d cycles, %d requests, %d spikes, max in flight %d", len(res.Runs), st.Requests, st.Faults[mockapi.FaultSpike], st.MaxInFlight)
}
