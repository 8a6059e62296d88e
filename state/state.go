package state

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Kind is what a run did.
type Kind string

// Run kinds.
const (
	KindIngest    Kind = "ingest"
	KindReconcile Kind = "reconcile"
	// KindReset records `rawland reset`: the stream's cursor was cleared.
	KindReset Kind = "reset"
)

// Status is where a run is in its lifecycle:
// running → committed → transformed, or running → failed | abandoned.
type Status string

// Run statuses.
const (
	StatusRunning     Status = "running"
	StatusCommitted   Status = "committed"
	StatusTransformed Status = "transformed"
	StatusFailed      Status = "failed"
	StatusAbandoned   Status = "abandoned"
	// StatusReset is the one status of a KindReset record: no files, never
	// transformed.
	StatusReset Status = "reset"
)

// Run is one execution of a stream: everything it lands lives under its ID.
type Run struct {
	ID           string    `json:"run_id"`
	Stream       string    `json:"stream"`
	Kind         Kind      `json:"kind"`
	Status       Status    `json:"status"`
	StartedAt    time.Time `json:"started_at"`
	FinishedAt   time.Time `json:"finished_at"`
	Records      int64     `json:"records"`
	Bytes        int64     `json:"bytes"`
	Pages        int64     `json:"pages"`
	CursorBefore string    `json:"cursor_before"`
	CursorAfter  string    `json:"cursor_after"`
	Error        string    `json:"error"`
	Host         string    `json:"host"`
	PID          int       `json:"pid"`
	// Complete is true when the run read its whole listing (a reconcile
	// snapshot that can mark deletions); false if it stopped early.
	Complete bool `json:"complete"`
	// Report is the transform/reconcile outcome as JSON (counts), if any.
	Report string `json:"report,omitempty"`
}

// Lease is the right to run a stream until ExpiresAt; the holder renews it
// while it lives.
type Lease struct {
	Stream    string    `json:"stream"`
	RunID     string    `json:"run_id"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Since     time.Time `json:"since"`
	ExpiresAt time.Time `json:"expires_at"`
}

// DLQEntry is a request that failed for good.
type DLQEntry struct {
	Seq        int64     `json:"seq"`
	Stream     string    `json:"stream"`
	RunID      string    `json:"run_id"`
	ID         string    `json:"id"` // upstream record ID (delta queues)
	URL        string    `json:"url"`
	Error      string    `json:"error"`
	Status     int       `json:"status"`
	Attempts   int       `json:"attempts"`
	TrackingID string    `json:"tracking_id"`
	CreatedAt  time.Time `json:"created_at"`
}

// Finish is one run's end state for FinishMany.
type Finish struct {
	RunID  string
	Status Status
	Error  string
	Report string // "" keeps the run's report
}

// FinishManyer is implemented by stores that can end many runs in one
// transaction (every store here does): a transform that merged a batch of
// runs marks them all at once, all or none, instead of one commit each.
type FinishManyer interface {
	FinishMany(ctx context.Context, fins []Finish) error
}

// RunFilter selects runs; zero fields match everything.
type RunFilter struct {
	Stream string
	Status []Status
	Kind   Kind
	Limit  int // 0 = all
	// Oldest returns the oldest first (default newest first).
	Oldest bool
}

// Sentinel errors every Store implementation returns (wrapped).
var (
	// ErrLeaseLost: the caller's lease expired and another run took the stream.
	ErrLeaseLost = errors.New("lease lost")
	// ErrCursorMoved: the stream's cursor changed since the run began.
	ErrCursorMoved = errors.New("cursor moved since the run began")
	// ErrNotFound: no such run.
	ErrNotFound = errors.New("not found")
	// ErrCommitUnknown: the store could not learn whether a commit took
	// effect (the connection broke after the commit was sent and did not
	// come back in time). The caller must keep the run's files and must not
	// mark the run: the next holder of the lease resolves it (publishes the
	// files if the run committed, removes them if not).
	ErrCommitUnknown = errors.New("commit outcome unknown")
)

// LeaseHeldError says another live run holds the stream.
type LeaseHeldError struct{ Holder Lease }

func (e *LeaseHeldError) Error() string {
	h := e.Holder
	return fmt.Sprintf("stream %s is busy: run %s on host %s (pid %d) holds it since %s, lease expires %s; try again later",
		h.Stream, h.RunID, h.Host, h.PID, h.Since.UTC().Format(time.RFC3339), h.ExpiresAt.UTC().Format(time.RFC3339))
}

// Leases gives one run at a time a stream.
type Leases interface {
	// Acquire takes the stream's lease for l.RunID until now+ttl. It returns
	// a *LeaseHeldError if a live holder has it. An expired lease, or one
	// held by a dead process on this host, is taken over.
	Acquire(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// Renew extends the lease; ErrLeaseLost if runID no longer holds it.
	Renew(ctx context.Context, stream, runID string, ttl time.Duration) error
	// Transfer hands the lease from one run ID to the next run of the same
	// holder (a delta queue commits one run per cycle); ErrLeaseLost if
	// from no longer holds it.
	Transfer(ctx context.Context, stream, from, to string) error
	// Release gives the lease up; releasing a lease not held is not an error.
	Release(ctx context.Context, stream, runID string) error
	// Holder returns the current unexpired lease of the stream, if any.
	Holder(ctx context.Context, stream string) (Lease, bool, error)
}

// Runs records the run history and the cursors, and commits them together.
type Runs interface {
	// Cursor returns the stream's committed cursor ("" before the first run).
	Cursor(ctx context.Context, stream string) (string, error)
	// Begin records a new running run.
	Begin(ctx context.Context, r Run) error
	// Commit marks r committed and sets the stream's cursor to
	// r.CursorAfter in one transaction. It fails with ErrCursorMoved if the
	// cursor is no longer r.CursorBefore, and ErrLeaseLost if r.ID does not
	// hold the stream's lease; then nothing changes. A reconcile run (or any
	// run with setCursor false) leaves the cursor as it is.
	Commit(ctx context.Context, r Run, setCursor bool) error
	// Finish ends a run that did not commit (failed or abandoned) or records
	// a committed run's later status (transformed) and report.
	Finish(ctx context.Context, runID string, status Status, errMsg, report string) error
	// List returns runs matching f.
	List(ctx context.Context, f RunFilter) ([]Run, error)
	// Get returns one run or ErrNotFound.
	Get(ctx context.Context, runID string) (Run, error)
}

// DLQ keeps requests that failed for good.
type DLQ interface {
	// Put stores entries (Seq is assigned).
	PutDLQ(ctx context.Context, entries []DLQEntry) error
	// ListDLQ returns the entries of a stream ("" = all), oldest first.
	ListDLQ(ctx context.Context, stream string) ([]DLQEntry, error)
	// DeleteDLQ removes the entries with these sequence numbers.
	DeleteDLQ(ctx context.Context, seqs []int64) error
}

// Paths remembers, per stream, the response paths (pagination fields such
// as a next-page token) that a page of the stream has been seen to carry.
// It is a hint that widens what counts as the clear end of a walk: an API
// that omits its next field on the last page is told apart from a typo in
// the configured path once a page has shown the field. Only paths observed
// present are ever added, so a lost or late write only narrows the hint.
type Paths interface {
	// SeenPaths returns the paths recorded for the stream (an empty, non-nil
	// set before any).
	SeenPaths(ctx context.Context, stream string) (map[string]bool, error)
	// AddSeenPaths records paths for the stream; adding a path already
	// recorded is not an error, and nothing is ever removed by it.
	AddSeenPaths(ctx context.Context, stream string, paths []string) error
}

// Resets clears a stream's incremental state.
type Resets interface {
	// Reset clears the stream's cursor and its seen paths and records r
	// (KindReset, begun with Begin) as finished with StatusReset, in one
	// transaction. ErrLeaseLost if r.ID does not hold the stream's lease;
	// then nothing changes. Committed runs and their files are kept: the
	// next ingest reads from cursor.start again.
	Reset(ctx context.Context, r Run) error
}

// Store is the whole state port: one implementation per backend (embedded
// SQLite by default; a Postgres store can implement it for many workers).
type Store interface {
	Leases
	Runs
	DLQ
	Paths
	Resets
	Jobs
	Close() error
}
