package landing

import (
	"context"
	"errors"
	"fmt"

	"github.com/rawland/rawland/state"
)

// RunStore is what Recover needs of the state store.
type RunStore interface {
	Get(ctx context.Context, runID string) (state.Run, error)
	List(ctx context.Context, f state.RunFilter) ([]state.Run, error)
	Finish(ctx context.Context, runID string, status state.Status, errMsg, report string) error
	// Holder returns the stream's current unexpired lease, if any.
	Holder(ctx context.Context, stream string) (state.Lease, bool, error)
}

// Recovered says what Recover did.
type Recovered struct {
	Published []string // committed runs rolled forward into raw/
	Abandoned []string // runs that died before commit: marked abandoned, files removed
	Removed   []string // staging leftovers with no live run
}

// NotLeaseHolderError means Recover was called by a run that does not hold
// the stream's lease: it must not touch the stream's runs, which may belong
// to a live writer on another host.
type NotLeaseHolderError struct {
	Stream, RunID string
	Holder        state.Lease // zero when no one holds it
}

func (e *NotLeaseHolderError) Error() string {
	if e.Holder.RunID == "" {
		return fmt.Sprintf("recover %s: run %s does not hold the stream's lease (no one does): take the lease first", e.Stream, e.RunID)
	}
	return fmt.Sprintf("recover %s: run %s does not hold the stream's lease (run %s on host %s pid %d does): only the lease holder may clean the stream's runs",
		e.Stream, e.RunID, e.Holder.RunID, e.Holder.Host, e.Holder.PID)
}

// Recover finishes what dead runs of a stream left behind, whichever host
// they ran on. The caller must hold the stream's lease as run self; Recover
// checks that first and otherwise returns a *NotLeaseHolderError without
// touching anything. Holding the lease means no other run of the stream can
// still commit (the state store refuses a commit from a run that lost the
// lease), so: committed runs still in staging are published (roll forward);
// runs the state says are running (their writer died or lost the lease),
// failed or abandoned, and staged files no run in the state store knows,
// are removed and the running ones marked abandoned (roll back). Nothing of
// an uncommitted run is ever moved into raw/.
func (z Zone) Recover(ctx context.Context, runs RunStore, stream, self string) (Recovered, error) {
	var rec Recovered
	if err := holds(ctx, runs, stream, self); err != nil {
		return rec, err
	}
	b := z.Store()
	staged, err := b.StagedRuns(ctx, stream)
	if err != nil {
		return rec, err
	}
	for _, id := range staged {
		if id == self || !state.ValidRunID(id) {
			continue
		}
		r, err := runs.Get(ctx, id)
		switch {
		case errors.Is(err, state.ErrNotFound):
			if err := b.Remove(ctx, stream, id); err != nil {
				return rec, err
			}
			rec.Removed = append(rec.Removed, id)
			continue
		case err != nil:
			return rec, fmt.Errorf("recover %s: %w", stream, err)
		}
		switch r.Status {
		case state.StatusCommitted, state.StatusTransformed:
			if err := b.Publish(ctx, stream, id); err != nil {
				return rec, err
			}
			rec.Published = append(rec.Published, id)
		case state.StatusRunning:
			// handled below with the other running runs
		default:
			if err := b.Remove(ctx, stream, id); err != nil {
				return rec, err
			}
			rec.Removed = append(rec.Removed, id)
		}
	}
	running, err := runs.List(ctx, state.RunFilter{Stream: stream, Status: []state.Status{state.StatusRunning}})
	if err != nil {
		return rec, err
	}
	for _, r := range running {
		if r.ID == self {
			continue
		}
		// the lease again, right before removing a run another process
		// began: had this process stalled past the lease's TTL, the run
		// could be a new holder's, alive
		if err := holds(ctx, runs, stream, self); err != nil {
			return rec, err
		}
		if err := b.Remove(ctx, stream, r.ID); err != nil {
			return rec, err
		}
		if err := runs.Finish(ctx, r.ID, state.StatusAbandoned, "the run's process ended (or lost the stream's lease) before it committed; its files were removed and the next run re-reads from the committed cursor", ""); err != nil {
			return rec, err
		}
		rec.Abandoned = append(rec.Abandoned, r.ID)
	}
	return rec, nil
}

// holds checks that run self holds the stream's lease.
func holds(ctx context.Context, runs RunStore, stream, self string) error {
	l, ok, err := runs.Holder(ctx, stream)
	if err != nil {
		return fmt.Errorf("recover %s: %w", stream, err)
	}
	if !ok || l.RunID != self {
		return &NotLeaseHolderError{Stream: stream, RunID: self, Holder: l}
	}
	return nil
}
