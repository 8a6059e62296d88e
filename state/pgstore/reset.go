package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rawland/rawland/state"
)

var _ state.Resets = (*Store)(nil)

// Reset implements state.Resets.
func (s *Store) Reset(ctx context.Context, r state.Run) error {
	if r.FinishedAt.IsZero() {
		r.FinishedAt = s.Now()
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := holds(ctx, tx, r.Stream, r.ID, "reset by "+r.ID); err != nil {
			return err
		}
		var before string
		err := tx.QueryRow(ctx, `SELECT value FROM cursors WHERE stream = $1`, r.Stream).Scan(&before)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("reset %s: read cursor: %w", r.Stream, err)
		}
		for _, q := range []string{`DELETE FROM cursors WHERE stream = $1`, `DELETE FROM seen_paths WHERE stream = $1`} {
			if _, err := tx.Exec(ctx, q, r.Stream); err != nil {
				return fmt.Errorf("reset %s: %w", r.Stream, err)
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE runs SET status = $1, finished_at = $2, cursor_before = $3, cursor_after = '', error = $4 WHERE id = $5 AND status = $6`,
			string(state.StatusReset), r.FinishedAt, before, r.Error, r.ID, string(state.StatusRunning))
		if err != nil {
			return fmt.Errorf("reset %s: record it: %w", r.Stream, err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("reset %s: run %s is not a running reset: %w", r.Stream, r.ID, state.ErrNotFound)
		}
		return nil
	})
}
