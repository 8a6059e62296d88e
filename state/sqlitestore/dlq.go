package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/rawland/rawland/state"
)

// PutDLQ implements state.DLQ.
func (s *Store) PutDLQ(ctx context.Context, entries []state.DLQEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, e := range entries {
			if e.CreatedAt.IsZero() {
				e.CreatedAt = s.Now()
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO dlq(stream, run_id, record_id, url, error, status, attempts, tracking_id, created_at) VALUES(?,?,?,?,?,?,?,?,?)`,
				e.Stream, e.RunID, e.ID, e.URL, e.Error, e.Status, e.Attempts, e.TrackingID, nanos(e.CreatedAt))
			if err != nil {
				return fmt.Errorf("put dead letter for %s id %s: %w", e.Stream, e.ID, err)
			}
		}
		return nil
	})
}

// ListDLQ implements state.DLQ.
func (s *Store) ListDLQ(ctx context.Context, stream string) ([]state.DLQEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, stream, run_id, record_id, url, error, status, attempts, tracking_id, created_at
		FROM dlq WHERE ?='' OR stream=? ORDER BY seq`, stream, stream)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	var out []state.DLQEntry
	for rows.Next() {
		var e state.DLQEntry
		var created int64
		if err := rows.Scan(&e.Seq, &e.Stream, &e.RunID, &e.ID, &e.URL, &e.Error, &e.Status, &e.Attempts, &e.TrackingID, &created); err != nil {
			return nil, fmt.Errorf("list dead letters: %w", err)
		}
		e.CreatedAt = fromNanos(created)
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteDLQ implements state.DLQ.
func (s *Store) DeleteDLQ(ctx context.Context, seqs []int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range seqs {
			if _, err := tx.ExecContext(ctx, `DELETE FROM dlq WHERE seq=?`, q); err != nil {
				return fmt.Errorf("delete dead letter %d: %w", q, err)
			}
		}
		return nil
	})
}
