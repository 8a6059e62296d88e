package state

import (
	"context"
	"time"
)

// Job is the bulk export job (kind: export) a stream asked its upstream
// for. There is at most one per stream and run kind: it is recorded before
// the create request is sent (with its idempotency key, no ID yet), its ID
// is recorded before the first poll, and it is cleared once a run that
// landed its files committed. A process killed anywhere in between finds it
// here and resumes the same upstream job instead of starting another.
type Job struct {
	// Stream and Kind (ingest or reconcile) identify the job's slot.
	Stream string `json:"stream"`
	Kind   Kind   `json:"kind"`
	// Key is the idempotency key sent with the create request; a re-sent
	// create carries the same key, so the upstream returns the same job.
	Key string `json:"key"`
	// ID is the upstream's job ID ("" until the create answer was read).
	ID string `json:"id"`
	// RunID is the run that owns the job now: the run that created it, or
	// the latest run that resumed it. A job whose RunID committed has been
	// landed.
	RunID string `json:"run_id"`
	// Cursor is the stream's committed cursor the job was created from.
	Cursor string `json:"cursor"`
	// CreatedAt is when the job's key was first recorded; UpdatedAt when
	// the record last changed.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Jobs keeps each stream's pending export job. Backends that implement it
// can run kind: export streams.
type Jobs interface {
	// PutJob records j in the (j.Stream, j.Kind) slot, replacing what was
	// there, in one transaction; CreatedAt is kept when the key is
	// unchanged. ErrLeaseLost if j.RunID does not hold the stream's lease;
	// then nothing changes.
	PutJob(ctx context.Context, j Job) error
	// GetJob returns the job in the slot; false when there is none.
	GetJob(ctx context.Context, stream string, kind Kind) (Job, bool, error)
	// ClearJob empties the slot if it still holds the job with this key
	// (clearing an empty slot, or one holding another key, is not an error
	// and changes nothing).
	ClearJob(ctx context.Context, stream string, kind Kind, key string) error
}
