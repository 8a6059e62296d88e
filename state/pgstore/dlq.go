package pgstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rawland/rawland/state"
)

// PutDLQ implements state.DLQ. The entries go in one transaction, each with
// a key unique to this put; when the connection breaks with the COMMIT in
// flight, PutDLQ reads back whether the batch is there (all or none of a
// transaction is) and puts it again if not. The keys make the second put a
// no-op for any entry the first one stored, so an entry is never stored
// twice and never lost.
func (s *Store) PutDLQ(ctx context.Context, entries []state.DLQEntry) error {
	if len(entries) == 0 {
		return nil
	}
	now := s.Now()
	batch := rand.Text()
	put := func() error {
		return s.tx(ctx, func(tx pgx.Tx) error {
			for i, e := range entries {
				if e.CreatedAt.IsZero() {
					e.CreatedAt = now
				}
				_, err := tx.Exec(ctx, `INSERT INTO dlq(stream, run_id, record_id, url, error, status, attempts, tracking_id, created_at, put_key)
					VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (put_key) WHERE put_key IS NOT NULL DO NOTHING`,
					e.Stream, e.RunID, e.ID, e.URL, e.Error, e.Status, e.Attempts, e.TrackingID, e.CreatedAt, putKey(batch, i))
				if err != nil {
					return fmt.Errorf("put dead letter for %s id %s: %w", e.Stream, e.ID, err)
				}
			}
			return nil
		})
	}
	err := put()
	if err == nil || definite(err) {
		return err
	}
	op := fmt.Sprintf("put %d dead letters of %s", len(entries), entries[0].Stream)
	return s.settle(ctx, op, err, func(ctx context.Context) (bool, error) {
		ctx, cancel := s.op(ctx)
		defer cancel()
		var n int
		err := s.pool.QueryRow(ctx, `SELECT count(*) FROM dlq WHERE put_key = $1`, putKey(batch, len(entries)-1)).Scan(&n)
		return n > 0, err
	}, put)
}

// putKey names entry i of one PutDLQ call.
func putKey(batch string, i int) string { return batch + ":" + strconv.Itoa(i) }

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
