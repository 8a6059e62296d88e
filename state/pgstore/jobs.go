package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rawland/rawland/state"
)

var _ state.Jobs = (*Store)(nil)

// PutJob implements state.Jobs: the lease row is locked (FOR UPDATE) so a
// run that lost its lease cannot record a job.
func (s *Store) PutJob(ctx context.Context, j state.Job) error {
	now := s.Now()
	created := j.CreatedAt
	if created.IsZero() {
		created = now
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := holds(ctx, tx, j.Stream, j.RunID, "record export job by "+j.RunID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO export_jobs(stream, kind, key, job_id, run_id, cursor, created_at, updated_at)
			VALUES($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT(stream, kind) DO UPDATE SET
			  created_at = CASE WHEN export_jobs.key = excluded.key THEN export_jobs.created_at ELSE excluded.created_at END,
			  key = excluded.key, job_id = excluded.job_id, run_id = excluded.run_id, cursor = excluded.cursor, updated_at = excluded.updated_at`,
			j.Stream, string(j.Kind), j.Key, j.ID, j.RunID, j.Cursor, created, now)
		if err != nil {
			return fmt.Errorf("record export job of %s: %w", j.Stream, err)
		}
		return nil
	})
}

// GetJob implements state.Jobs.
func (s *Store) GetJob(ctx context.Context, stream string, kind state.Kind) (state.Job, bool, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	j := state.Job{Stream: stream, Kind: kind}
	err := s.pool.QueryRow(ctx, `SELECT key, job_id, run_id, cursor, created_at, updated_at FROM export_jobs WHERE stream = $1 AND kind = $2`,
		stream, string(kind)).Scan(&j.Key, &j.ID, &j.RunID, &j.Cursor, &j.CreatedAt, &j.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return state.Job{}, false, nil
	}
	if err != nil {
		return state.Job{}, false, fmt.Errorf("read export job of %s: %w", stream, err)
	}
	j.CreatedAt, j.UpdatedAt = j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	return j, true, nil
}

// ClearJob implements state.Jobs.
func (s *Store) ClearJob(ctx context.Context, stream string, kind state.Kind, key string) error {
	if _, err := s.exec(ctx, `DELETE FROM export_jobs WHERE stream = $1 AND kind = $2 AND key = $3`, stream, string(kind), key); err != nil {
		return fmt.Errorf("clear export job of %s: %w", stream, err)
	}
	return nil
}
