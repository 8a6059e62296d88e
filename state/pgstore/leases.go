package pgstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rawland/rawland/state"
)

// Leases live in one row per stream; expiry is PostgreSQL's clock, so hosts
// with skewed clocks agree on when a lease ends.

const leaseCols = `stream, run_id, host, pid, since, expires_at`

// Acquire implements state.Leases.
func (s *Store) Acquire(ctx context.Context, l state.Lease, ttl time.Duration) (state.Lease, error) {
	if l.Host == "" {
		l.Host = s.Host
	}
	if l.PID == 0 {
		l.PID = os.Getpid()
	}
	var out state.Lease
	err := s.tx(ctx, func(tx pgx.Tx) error {
		for range 5 {
			// no row: take it
			row := tx.QueryRow(ctx, `INSERT INTO leases(`+leaseCols+`) VALUES($1, $2, $3, $4, clock_timestamp(), clock_timestamp() + $5 * interval '1 microsecond')
				ON CONFLICT (stream) DO NOTHING RETURNING `+leaseCols, l.Stream, l.RunID, l.Host, l.PID, micros(ttl))
			got, err := scanLease(row)
			if err == nil {
				out = got
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("acquire lease of %s: %w", l.Stream, err)
			}
			// a row: lock it and decide
			var expired bool
			cur, err := scanLease(tx.QueryRow(ctx, `SELECT `+leaseCols+`, expires_at <= clock_timestamp() FROM leases WHERE stream = $1 FOR UPDATE`, l.Stream), &expired)
			if errors.Is(err, pgx.ErrNoRows) {
				continue // released in between: insert again
			}
			if err != nil {
				return fmt.Errorf("acquire lease of %s: %w", l.Stream, err)
			}
			if cur.RunID != l.RunID && !expired && !(cur.Host == s.Host && !s.alive(cur.PID)) {
				return &state.LeaseHeldError{Holder: cur}
			}
			out, err = scanLease(tx.QueryRow(ctx, `UPDATE leases SET run_id = $2, host = $3, pid = $4, since = clock_timestamp(),
				expires_at = clock_timestamp() + $5 * interval '1 microsecond' WHERE stream = $1 RETURNING `+leaseCols,
				l.Stream, l.RunID, l.Host, l.PID, micros(ttl)))
			if err != nil {
				return fmt.Errorf("acquire lease of %s: %w", l.Stream, err)
			}
			return nil
		}
		return fmt.Errorf("acquire lease of %s: it kept changing hands; try again", l.Stream)
	})
	if err != nil {
		return state.Lease{}, err
	}
	return out, nil
}

func scanLease(row pgx.Row, extra ...any) (state.Lease, error) {
	var l state.Lease
	err := row.Scan(append([]any{&l.Stream, &l.RunID, &l.Host, &l.PID, &l.Since, &l.ExpiresAt}, extra...)...)
	l.Since, l.ExpiresAt = l.Since.UTC(), l.ExpiresAt.UTC()
	return l, err
}

// Renew implements state.Leases.
func (s *Store) Renew(ctx context.Context, stream, runID string, ttl time.Duration) error {
	tag, err := s.exec(ctx, `UPDATE leases SET expires_at = clock_timestamp() + $3 * interval '1 microsecond' WHERE stream = $1 AND run_id = $2`, stream, runID, micros(ttl))
	if err != nil {
		return fmt.Errorf("renew lease of %s: %w", stream, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("renew lease of %s for run %s: %w", stream, runID, state.ErrLeaseLost)
	}
	return nil
}

// Transfer implements state.Leases.
func (s *Store) Transfer(ctx context.Context, stream, from, to string) error {
	tag, err := s.exec(ctx, `UPDATE leases SET run_id = $3 WHERE stream = $1 AND run_id = $2`, stream, from, to)
	if err != nil {
		return fmt.Errorf("transfer lease of %s: %w", stream, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("transfer lease of %s from run %s: %w", stream, from, state.ErrLeaseLost)
	}
	return nil
}

// Release implements state.Leases.
func (s *Store) Release(ctx context.Context, stream, runID string) error {
	if _, err := s.exec(ctx, `DELETE FROM leases WHERE stream = $1 AND run_id = $2`, stream, runID); err != nil {
		return fmt.Errorf("release lease of %s: %w", stream, err)
	}
	return nil
}

// Holder implements state.Leases.
func (s *Store) Holder(ctx context.Context, stream string) (state.Lease, bool, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	l, err := scanLease(s.pool.QueryRow(ctx, `SELECT `+leaseCols+` FROM leases WHERE stream = $1 AND expires_at > clock_timestamp()`, stream))
	if errors.Is(err, pgx.ErrNoRows) {
		return state.Lease{}, false, nil
	}
	if err != nil {
		return state.Lease{}, false, fmt.Errorf("read lease of %s: %w", stream, err)
	}
	return l, true, nil
}
