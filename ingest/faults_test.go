package ingest_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/rawland/rawland/ingest/fetch"
	"github.com/rawland/rawland/mockapi"
)

// The fault matrix of issue 3: every upstream fault of mockapi alone, then
// all of them together, against all six REST streams and the delta queue
// ingested at once through one source client (concurrency 5). Each case
// asserts that
//   - every live record of every stream lands (byte for byte, in the union
//     of the committed runs) and nothing is dead-lettered;
//   - the upstream never disabled the credential and counted no quota
//     violation (no request was sent beyond a quota known to be exhausted);
//   - at most `concurrency` requests were in flight, as the upstream and as
//     the client counted them;
//   - the fault really happened (so a broken switch cannot make a case pass).
//
// Sizes are small and the retry backoff short (fastRetry), so the cases
// run in seconds; they run in parallel, each with its own upstream.

const (
	matrixSize = 200
	// matrixQueued certificate IDs are on the delta queue at start.
	matrixQueued      = 80
	matrixConcurrency = 5
	// matrixDeadline is the delta queue's deadline in the matrix. A list
	// response that is cut short leases IDs the client never saw; the queue
	// hands them out again after the deadline (see drainQueue).
	matrixDeadline = 4 * time.Second
)

// noRateLimit removes the client-side budget Config generates for a quota,
// so that only the upstream's rate-limit headers keep the client in check.
var rateLimitLine = regexp.MustCompile(`(?m)^\s*rate_limit: .*\n`)

func noRateLimit(cfg string) string { return rateLimitLine.ReplaceAllString(cfg, "") }

func TestFaultMatrix(t *testing.T) {
	t.Parallel() // mostly waiting: overlaps with the other upstream-fault tests
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): fault matrix: about 15 s")
	}
	all := mockapi.Faults{
		ErrorRate: 0.02, RetryAfter: time.Second,
		Quota: 100, QuotaWindow: time.Second, DisableAfter: 2,
		Latency: 2 * time.Millisecond, Jitter: 3 * time.Millisecond, SpikeEvery: 25, SpikeLatency: 150 * time.Millisecond,
		ResetRate: 0.05, TruncateRate: 0.05, HTMLErrorRate: 0.05,
	}
	cases := []struct {
		name   string
		faults mockapi.Faults
		edit   func(string) string
		// happened checks that the fault was injected and handled.
		happened func(st mockapi.Stats, cs fetch.Stats) bool
	}{
		{
			name:   "503 and 429 with Retry-After",
			faults: mockapi.Faults{ErrorRate: 0.03, RetryAfter: time.Second},
			happened: func(st mockapi.Stats, cs fetch.Stats) bool {
				return st.Faults[mockapi.Fault503]+st.Faults[mockapi.Fault429] > 0 && cs.QuotaWaits > 0
			},
		},
		{
			// Headers only: no client-side rate_limit, so the client must
			// stop at remaining=0 and wait for the reset.
			name:   "quota with headers, credential disabled after 2 violations",
			faults: mockapi.Faults{Quota: 60, QuotaWindow: time.Second, DisableAfter: 2},
			edit:   noRateLimit,
			// more requests than one window allows, none over it: the client
			// waited for resets (fetch) or sized its delta-queue batches to
			// the remaining quota and waited before listing (ingest)
			happened: func(st mockapi.Stats, cs fetch.Stats) bool {
				return st.Requests > 60 && (cs.QuotaWaits > 0 || st.QuotaUsed > 0)
			},
		},
		{
			name:   "latency with spikes",
			faults: mockapi.Faults{Latency: 3 * time.Millisecond, Jitter: 5 * time.Millisecond, SpikeEvery: 20, SpikeLatency: 200 * time.Millisecond},
			happened: func(st mockapi.Stats, cs fetch.Stats) bool {
				return st.Faults[mockapi.FaultSpike] > 0
			},
		},
		{
			name:   "connection resets",
			faults: mockapi.Faults{ResetRate: 0.1},
			happened: func(st mockapi.Stats, cs fetch.Stats) bool {
				// Go's transport re-sends an idempotent request itself when a
				// reused connection is reset before any answer, so the
				// client's own retries can be fewer than the resets.
				return st.Faults[mockapi.FaultReset] > 0 && st.ByStatus[0] > 0
			},
		},
		{
			name:   "truncated bodies",
			faults: mockapi.Faults{TruncateRate: 0.1},
			happened: func(st mockapi.Stats, cs fetch.Stats) bool {
				return st.Faults[mockapi.FaultTruncate] > 0 && cs.Retries >= st.Faults[mockapi.FaultTruncate]
			},
		},
		{
			name:   "HTML error pages",
			faults: mockapi.Faults{HTMLErrorRate: 0.1},
			happened: func(st mockapi.Stats, cs fetch.Stats) bool {
				return st.Faults[mockapi.FaultHTML] > 0 && cs.Retries >= st.Faults[mockapi.FaultHTML]
			},
		},
		{
			// With the client-side budget Config generates (rate_limit =
			// the quota) on top of the headers.
			name:   "all together",
			faults: all,
			happened: func(st mockapi.Stats, cs fetch.Stats) bool {
				for _, k := range []string{mockapi.FaultSpike, mockapi.FaultReset, mockapi.FaultTruncate, mockapi.FaultHTML} {
					if st.Faults[k] == 0 {
						return false
					}
				}
				return st.Faults[mockapi.Fault503]+st.Faults[mockapi.Fault429] > 0 && cs.BudgetWaits > 0
			},
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := tc.faults
			f.DeltaDeadline = matrixDeadline
			e := newMockEnv(t, mockapi.Options{Seed: int64(100 + i), Size: matrixSize, Delta: mockapi.DeltaOptions{QueueSize: matrixQueued}, Faults: f}, tc.edit)
			if got := e.cfg.Sources[mockapi.SourceName].Concurrency; got != matrixConcurrency {
				t.Fatalf("the generated config has concurrency %d, the test expects %d", got, matrixConcurrency)
			}
			streams := append(e.m.Streams(), mockapi.StreamCertificates)
			e.ingestAll(streams...)
			e.drainQueue()
			e.assertAllLanded(streams...)
			for _, s := range streams {
				if dlq, _ := e.store.ListDLQ(context.Background(), s); len(dlq) > 0 {
					t.Errorf("%s: %d requests dead-lettered although every fault was transient, first: %+v", s, len(dlq), dlq[0])
				}
			}
			st, cs := e.m.Stats(), e.client.Stats()
			if st.CredentialDisabled {
				t.Errorf("the upstream disabled the credential at %s (%d quota violations)", st.DisabledAt, st.QuotaViolations)
			}
			if st.QuotaViolations != 0 {
				t.Errorf("%d requests were sent although the quota was known to be exhausted", st.QuotaViolations)
			}
			if st.MaxInFlight > matrixConcurrency || cs.MaxInFlight > matrixConcurrency {
				t.Errorf("requests in flight: upstream saw %d, client %d; the source allows %d", st.MaxInFlight, cs.MaxInFlight, matrixConcurrency)
			}
			if cs.Refused > 0 {
				t.Errorf("the lockout breaker refused %d requests", cs.Refused)
			}
			if !tc.happened(st, cs) {
				t.Errorf("the fault did not happen or was not handled as expected: upstream %+v, client %+v", st, cs)
			}
			t.Logf("upstream: %d requests, faults %v, statuses %v, max in flight %d, re-deliveries %d; client: %+v",
				st.Requests, st.Faults, st.ByStatus, st.MaxInFlight, st.DeltaRedeliveries, cs)
		})
	}
}

// drainQueue runs the delta-queue stream again while the upstream still
// holds IDs: a list response cut short (or lost with a reset after the
// server answered) leases IDs the client never saw, and the queue hands them
// out again only after its deadline. Bounded to a few rounds.
func (e *mockEnv) drainQueue() {
	e.t.Helper()
	for round := 0; ; round++ {
		st := e.m.Stats()
		if st.DeltaPending == 0 && st.DeltaLeased == 0 {
			return
		}
		if round == 4 {
			e.t.Fatalf("the delta queue still holds %d pending and %d leased IDs after %d extra runs", st.DeltaPending, st.DeltaLeased, round)
		}
		e.t.Logf("delta queue: %d pending, %d leased (lost list answers); running again after the deadline", st.DeltaPending, st.DeltaLeased)
		time.Sleep(matrixDeadline + 200*time.Millisecond)
		e.ingestAll(mockapi.StreamCertificates)
	}
}
