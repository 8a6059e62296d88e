package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rawland/rawland/state"
)

// PutDLQ implements state.DLQ.
func (s *Store) PutDLQ(ctx context.Context, entries []state.DLQEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		for _, e := range entries {
			if e.CreatedAt.IsZero() {
				e.CreatedAt = s.Now()
			}
			_, err := tx.Exec(ctx, `INSERT INTO dlq(stream, run_id, record_id, url, error, status, attempts, tracking_id, created_at) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				e.Stream, e.RunID, e.ID, e.URL, e.Error, e.Status, e.Attempts, e.TrackingID, e.CreatedAt)
			if err != nil {
				return fmt.Errorf("put dead letter for %s id %s: %w", e.Stream, e.ID, err)
			}
		}
		return nil
	})
}

// ListDLQ implements state.DLQ.
func (s *Store) ListDLQ(ctx context.Context, stream string) ([]state.DLQEntry, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT seq, stream, run_id, record_id, url, error, status, attempts, tracking_id, created_at
		FROM dlq WHERE $1 = '' OR stream = $1 ORDER BY seq`, stream)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	var out []state.DLQEntry
	for rows.Next() {
		var e state.DLQEntry
		var created time.Time
		if err := rows.Scan(&e.Seq, &e.Stream, &e.RunID, &e.ID, &e.URL, &e.Error, &e.Status, &e.Attempts, &e.TrackingID, &created); err != nil {
			return nil, fmt.Errorf("list dead letters: %w", err)
		}
		e.CreatedAt = created.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

// DeleteDLQ implements state.DLQ.
func (s *Store) DeleteDLQ(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	if _, err := s.exec(ctx, `DELETE FROM dlq WHERE seq = ANY($1)`, seqs); err != nil {
		return fmt.Errorf("delete dead letters: %w", err)
	}
	return nil
}
