package ingest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rawland/rawland/config"
)

// Batch sizing for delta-queue cycles: each cycle must list, fetch, commit
// and clear well inside the upstream's deadline, and within the quota.

// Share of the deadline a cycle may spend fetching; the rest is for commit
// and clear, and for latency spikes.
const dqFetchShare = 0.5

// dqTuner sizes batches from measured fetch latency and cycle overhead.
// It is pessimistic on purpose: the estimate is the slowest fetch of the
// last cycle, and falls by only a quarter per cycle, so a burst of slow
// responses shrinks the next batch at once and a quiet spell grows it
// gradually. Re-deliveries cost quota; a smaller batch costs only a cycle.
type dqTuner struct {
	max         int
	concurrency int
	deadline    time.Duration
	latency     time.Duration // per-fetch estimate
	overhead    time.Duration // list + commit + clear estimate
	mu          sync.Mutex
	cycleMax    time.Duration
}

// batch returns how many IDs to list next: as many as the workers can fetch
// in dqFetchShare of the deadline, less the commit and clear overhead.
func (t *dqTuner) batch() int {
	if t.latency <= 0 {
		return max(1, min(t.max, t.concurrency*2)) // first cycle: probe small
	}
	budget := time.Duration(float64(t.deadline)*dqFetchShare) - t.overhead
	n := int(float64(budget) * float64(t.concurrency) / float64(t.latency))
	return max(1, min(t.max, n))
}

// observe records one fetch latency (safe for concurrent fetches).
func (t *dqTuner) observe(d time.Duration) {
	t.mu.Lock()
	t.cycleMax = max(t.cycleMax, d)
	t.mu.Unlock()
}

// endCycle folds a finished cycle in: its slowest fetch, and the time it
// spent outside fetching.
func (t *dqTuner) endCycle(fetching, total time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cycleMax > 0 {
		t.latency = max(t.cycleMax, t.latency*3/4)
	}
	t.overhead = max(total-fetching, t.overhead*3/4)
	t.cycleMax = 0
}

// headroomer is a Doer that knows the upstream's remaining quota
// (*fetch.Client does).
type headroomer interface {
	Headroom() (remaining int64, resetAt time.Time, known bool)
}

// quotaFit shrinks a batch so that its whole cycle (one list, one fetch per
// ID, one clear) fits the quota: the client's rate_limit over the fetch share
// of the deadline, and the upstream's remaining requests before its reset.
// When the upstream has fewer than three requests left, it waits for the
// reset before listing: IDs listed then fetched only after the deadline
// would be re-delivered, spending quota twice.
func quotaFit(ctx context.Context, o Options, d Doer, size int, src *config.Source, dq *config.DeltaQueue) (int, error) {
	if rl := src.RateLimit; rl != nil && rl.Per > 0 {
		perSec := float64(rl.Requests) / rl.Per.D().Seconds()
		size = min(size, max(1, int(perSec*dq.Deadline.D().Seconds()*dqFetchShare)-2))
	}
	h, ok := d.(headroomer)
	if !ok {
		return size, nil
	}
	for range 3 { // bounded: a reset moves the window on
		rem, reset, known := h.Headroom()
		if !known {
			return size, nil
		}
		if rem >= 3 {
			return min(size, int(rem-2)), nil
		}
		wait := reset.Sub(o.Now())
		if wait <= 0 {
			return size, nil
		}
		if wait > dq.Deadline.D() {
			return 0, fmt.Errorf("the upstream quota is spent until %s: not listing the queue before then", reset.UTC().Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(wait):
		}
	}
	return size, nil
}
