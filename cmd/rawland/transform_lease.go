package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/transform"
)

// transformLease is the lease name that makes transform a single writer
// across every worker on every host sharing the state store. It cannot
// collide with a stream (stream names are identifiers).
const transformLease = "@transform"

// TransformHeldError says another worker is transforming now.
type TransformHeldError struct{ Holder state.Lease }

func (e *TransformHeldError) Error() string {
	h := e.Holder
	return fmt.Sprintf("transform is running on host %s (pid %d, run %s) since %s, lease expires %s: one worker at a time writes the warehouse; nothing was changed, every landed run still waits, try again later",
		h.Host, h.PID, h.RunID, h.Since.UTC().Format(time.RFC3339), h.ExpiresAt.UTC().Format(time.RFC3339))
}

// Is makes the caller treat it like a busy warehouse (exit 75).
func (e *TransformHeldError) Is(target error) bool { return target == transform.ErrWarehouseBusy }

// holdTransform takes the transform lease and renews it until release is
// called; ctx is cancelled if the lease is lost (another worker took it
// after this one stopped renewing in time).
func holdTransform(ctx context.Context, leases state.Leases, ttl time.Duration) (context.Context, func(), error) {
	id := state.NewRunID(time.Now())
	_, err := leases.Acquire(ctx, state.Lease{Stream: transformLease, RunID: id, Host: state.HostName(), PID: os.Getpid()}, ttl)
	var held *state.LeaseHeldError
	if errors.As(err, &held) {
		return ctx, nil, &TransformHeldError{Holder: held.Holder}
	}
	if err != nil {
		return ctx, nil, fmt.Errorf("take the transform lease: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	var wg conc.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(max(ttl/3, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := leases.Renew(ctx, transformLease, id, ttl); errors.Is(err, state.ErrLeaseLost) {
					cancel(fmt.Errorf("transform lease: %w", err))
					return
				}
			}
		}
	})
	release := func() {
		close(done)
		wg.Wait()
		leases.Release(context.WithoutCancel(ctx), transformLease, id)
		cancel(nil)
	}
	return ctx, release, nil
}
