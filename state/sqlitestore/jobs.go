package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/rawland/rawland/state"
)

// jobsSchema is run by Open with the rest of the schema: CREATE TABLE IF
// NOT EXISTS, so a state database written before exports existed gains the
// table on its next open, empty.
const jobsSchema = `
CREATE TABLE IF NOT EXISTS export_jobs(
  stream TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, job_id TEXT NOT NULL DEFAULT '',
  run_id TEXT NOT NULL, cursor TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY(stream, kind));
`

var _ state.Jobs = (*Store)(nil)

// PutJob implements state.Jobs.
func (s *Store) PutJob(ctx context.Context, j state.Job) error {
	now := s.Now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		var holder string
		err := tx.QueryRowContext(ctx, `SELECT run_id FROM leases WHERE stream=?`, j.Stream).Scan(&holder)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("record export job of %s: read lease: %w", j.Stream, err)
		}
		if holder != j.RunID {
			return fmt.Errorf("record export job of %s by %s (lease held by %q): %w", j.Stream, j.RunID, holder, state.ErrLeaseLost)
		}
		created := nanos(j.CreatedAt)
		if created == 0 {
			created = nanos(now)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO export_jobs(stream, kind, key, job_id, run_id, cursor, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?)
			ON CONFLICT(stream, kind) DO UPDATE SET
			  created_at=CASE WHEN export_jobs.key=excluded.key THEN export_jobs.created_at ELSE excluded.created_at END,
			  key=excluded.key, job_id=excluded.job_id, run_id=excluded.run_id, cursor=excluded.cursor, updated_at=excluded.updated_at`,
			j.Stream, string(j.Kind), j.Key, j.ID, j.RunID, j.Cursor, created, nanos(now))
		if err != nil {
			return fmt.Errorf("record export job of %s: %w", j.Stream, err)
		}
		return nil
	})
}

// GetJob implements state.Jobs.
func (s *Store) GetJob(ctx context.Context, stream string, kind state.Kind) (state.Job, bool, error) {
	j := state.Job{Stream: stream, Kind: kind}
	var created, updated int64
	err := s.db.QueryRowContext(ctx, `SELECT key, job_id, run_id, cursor, created_at, updated_at FROM export_jobs WHERE stream=? AND kind=?`,
		stream, string(kind)).Scan(&j.Key, &j.ID, &j.RunID, &j.Cursor, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return state.Job{}, false, nil
	}
	if err != nil {
		return state.Job{}, false, fmt.Errorf("read export job of %s: %w", stream, err)
	}
	j.CreatedAt, j.UpdatedAt = fromNanos(created), fromNanos(updated)
	return j, true, nil
}

// ClearJob implements state.Jobs.
func (s *Store) ClearJob(ctx context.Context, stream string, kind state.Kind, key string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM export_jobs WHERE stream=? AND kind=? AND key=?`, stream, string(kind), key); err != nil {
		return fmt.Errorf("clear export job of %s: %w", stream, err)
	}
	return nil
}
