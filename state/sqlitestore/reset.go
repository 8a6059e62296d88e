package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/rawland/rawland/state"
)

// Reset implements state.Resets.
func (s *Store) Reset(ctx context.Context, r state.Run) error {
	if r.FinishedAt.IsZero() {
		r.FinishedAt = s.Now()
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var holder string
		err := tx.QueryRowContext(ctx, `SELECT run_id FROM leases WHERE stream=?`, r.Stream).Scan(&holder)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("reset %s: read lease: %w", r.Stream, err)
		}
		if holder != r.ID {
			return fmt.Errorf("reset %s by %s (held by %q): %w", r.Stream, r.ID, holder, state.ErrLeaseLost)
		}
		var before string
		err = tx.QueryRowContext(ctx, `SELECT value FROM cursors WHERE stream=?`, r.Stream).Scan(&before)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("reset %s: read cursor: %w", r.Stream, err)
		}
		for _, q := range []string{`DELETE FROM cursors WHERE stream=?`, `DELETE FROM seen_paths WHERE stream=?`} {
			if _, err := tx.ExecContext(ctx, q, r.Stream); err != nil {
				return fmt.Errorf("reset %s: %w", r.Stream, err)
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE runs SET status=?, finished_at=?, cursor_before=?, cursor_after='', error=? WHERE id=? AND status=?`,
			string(state.StatusReset), nanos(r.FinishedAt), before, r.Error, r.ID, string(state.StatusRunning))
		if err != nil {
			return fmt.Errorf("reset %s: record it: %w", r.Stream, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("reset %s: run %s is not a running reset: %w", r.Stream, r.ID, state.ErrNotFound)
		}
		return nil
	})
}

var _ state.Resets = (*Store)(nil)
