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
}

// Recovered says what Recover did.
type Recovered struct {
	Published []string // committed runs rolled forward into raw/
	Abandoned []string // runs that died before commit: marked abandoned, files removed
	Removed   []string // staging leftovers with no live run
}

// Recover finishes what dead runs of a stream left behind. The caller must
// hold the stream's lease as run self, so no other live run of the stream
// exists: committed runs still in staging are published (roll forward);
// runs still marked running are marked abandoned and their files removed
// (roll back). Nothing of an uncommitted run is ever moved into raw/.
func (z Zone) Recover(ctx context.Context, runs RunStore, stream, self string) (Recovered, error) {
	var rec Recovered
	staged, err := z.StagedRuns(stream)
	if err != nil {
		return rec, err
	}
	for _, id := range staged {
		if id == self {
			continue
		}
		r, err := runs.Get(ctx, id)
		switch {
		case errors.Is(err, state.ErrNotFound):
			if err := z.Remove(stream, id); err != nil {
				return rec, err
			}
			rec.Removed = append(rec.Removed, id)
			continue
		case err != nil:
			return rec, fmt.Errorf("recover %s: %w", stream, err)
		}
		switch r.Status {
		case state.StatusCommitted, state.StatusTransformed:
			if err := z.Publish(stream, id); err != nil {
				return rec, err
			}
			rec.Published = append(rec.Published, id)
		default:
			if err := z.Remove(stream, id); err != nil {
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
		if err := z.Remove(stream, r.ID); err != nil {
			return rec, err
		}
		if err := runs.Finish(ctx, r.ID, state.StatusAbandoned, "the run's process ended before it committed; its files were removed and the next run re-reads from the committed cursor", ""); err != nil {
			return rec, err
		}
		rec.Abandoned = append(rec.Abandoned, r.ID)
	}
	return rec, nil
}
