package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/rawland/rawland/state"
)

// leaseKeeper renews a stream's lease in the background for the run that
// currently holds it.
type leaseKeeper struct {
	mu    sync.Mutex
	runID string
	// renewing is held for each renewal and for a transfer, so a renewal
	// never runs between the store's Transfer and the keeper learning
	// the new run ID (it would renew the old ID, find the lease gone and
	// cancel a run that still holds it).
	renewing  sync.Mutex
	done      chan struct{}
	wg        conc.WaitGroup
	once      sync.Once
	ctxCancel context.CancelCauseFunc
}

func (k *leaseKeeper) set(runID string) {
	k.mu.Lock()
	k.runID = runID
	k.mu.Unlock()
}

// transfer hands the lease from the current run to runID with
// transferFn (the store's Transfer) and switches the renewals to runID,
// with no renewal in between.
func (k *leaseKeeper) transfer(runID string, transferFn func(from string) error) error {
	k.renewing.Lock()
	defer k.renewing.Unlock()
	if err := transferFn(k.current()); err != nil {
		return err
	}
	k.set(runID)
	return nil
}

func (k *leaseKeeper) current() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.runID
}

// stop ends the renewals and waits for them.
func (k *leaseKeeper) stop() {
	k.once.Do(func() {
		close(k.done)
		k.wg.Wait()
		k.ctxCancel(nil)
	})
}

// keepLease renews the stream's lease every ttl/3 while the run lives. If
// the lease is lost (another run took the stream after a stall longer than
// the TTL) the returned context is cancelled, so the run stops and its
// commit is refused.
func keepLease(ctx context.Context, l state.Leases, stream, runID string, ttl time.Duration, log *slog.Logger) (context.Context, *leaseKeeper) {
	ctx, cancel := context.WithCancelCause(ctx)
	k := &leaseKeeper{runID: runID, done: make(chan struct{}), ctxCancel: cancel}
	k.wg.Go(func() {
		t := time.NewTicker(max(ttl/3, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-k.done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				k.renewing.Lock()
				err := l.Renew(ctx, stream, k.current(), ttl)
				k.renewing.Unlock()
				if errors.Is(err, state.ErrLeaseLost) {
					log.Error("lease lost: stopping the run", "err", err)
					cancel(fmt.Errorf("stream %s: %w", stream, err))
					return
				}
				if err != nil {
					log.Warn("renew lease", "err", err)
				}
			}
		}
	})
	return ctx, k
}
