package landing

import (
	"context"
	"io"
)

// Backend is the landing zone's storage port: where a run's files are
// written while it runs (staging), and where they are read once it has
// committed (raw). Two implementations exist: DirBackend (a directory, local
// or on a shared filesystem such as NFS/EFS) and the S3-compatible object
// store in package landing/s3zone.
//
// The commit protocol is the same for both: every part file, then the page
// log, then the manifest are made durable in staging (File.Commit); then the
// caller commits the run in the state store — the commit point; only then
// does Publish move the run to raw. A run that never committed is never
// published: Recover removes it. Readers read only runs the state store says
// are committed (Zone.Records), rolling them forward with Publish if a crash
// left them in staging.
//
// Implementations must be safe for concurrent use by several processes on
// several hosts: Publish and Remove are idempotent and may race with the
// same call elsewhere.
type Backend interface {
	// Create starts file name of a run in staging. The caller writes to the
	// returned File and then calls exactly one of Commit (the file is
	// durable under name) or Abort (it is discarded).
	Create(ctx context.Context, stream, runID, name string) (File, error)
	// Open reads file name of a published run (in raw). The error wraps
	// fs.ErrNotExist when there is no such file. The caller closes it.
	Open(ctx context.Context, stream, runID, name string) (io.ReadCloser, error)
	// Publish moves a run whose manifest is durable in staging to raw. It
	// is idempotent: a run already in raw is left alone (leftovers of it in
	// staging are removed). The error wraps fs.ErrNotExist when the run is
	// in neither place.
	Publish(ctx context.Context, stream, runID string) error
	// Remove deletes every file of a run, in staging and in raw.
	Remove(ctx context.Context, stream, runID string) error
	// StagedRuns lists the run IDs that have files in staging for a stream.
	StagedRuns(ctx context.Context, stream string) ([]string, error)
	// Location names a run's place in raw for messages (a directory or a
	// URL); it holds no secret.
	Location(stream, runID string) string
}

// File is one file being written in staging. Write streams bytes (memory is
// bounded by the backend's buffer, never the file's size); Commit makes the
// file durable and visible under its name; Abort discards it. Exactly one of
// Commit or Abort must be called; both are safe to call from a goroutine
// other than the writer's once writing has stopped.
type File interface {
	io.Writer
	Commit() error
	Abort()
}
