package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rawland/rawland/state"
)

// Cursor implements state.Runs.
func (s *Store) Cursor(ctx context.Context, stream string) (string, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM cursors WHERE stream = $1`, stream).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read cursor of %s: %w", stream, err)
	}
	return v, nil
}

// Begin implements state.Runs. When the connection breaks with the INSERT
// in flight, Begin reads the run back on a new connection until it knows
// whether the row is there, and inserts it again if not.
func (s *Store) Begin(ctx context.Context, r state.Run) error {
	if !state.ValidRunID(r.ID) {
		return fmt.Errorf("begin run: bad run id %q", r.ID)
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = s.Now()
	}
	if r.Host == "" {
		r.Host = s.Host
	}
	r.StartedAt = r.StartedAt.UTC().Truncate(time.Microsecond) // what timestamptz keeps, so a read-back compares equal
	const insert = `INSERT INTO runs(id, stream, kind, status, started_at, cursor_before, host, pid) VALUES($1, $2, $3, $4, $5, $6, $7, $8)`
	args := []any{r.ID, r.Stream, string(r.Kind), string(state.StatusRunning), r.StartedAt, r.CursorBefore, r.Host, r.PID}
	_, err := s.exec(ctx, insert, args...)
	if err == nil {
		return nil
	}
	op := fmt.Sprintf("begin run %s of %s", r.ID, r.Stream)
	if definite(err) {
		return fmt.Errorf("%s: %w", op, err)
	}
	ours := func(ctx context.Context) (bool, error) {
		got, err := s.Get(ctx, r.ID)
		switch {
		case errors.Is(err, state.ErrNotFound):
			return false, nil
		case err != nil:
			return false, err
		case got.Stream != r.Stream || !got.StartedAt.Equal(r.StartedAt):
			return false, fmt.Errorf("run id %s names another run (stream %s, started %s): %w", r.ID, got.Stream, got.StartedAt, errIDTaken)
		}
		return true, nil
	}
	// A repeat does nothing if the first INSERT landed after all (ON
	// CONFLICT), so the run's row is written once.
	return s.settle(ctx, op, err, ours, func() error {
		if _, err := s.exec(ctx, insert+` ON CONFLICT (id) DO NOTHING`, args...); err != nil {
			return err
		}
		ok, err := ours(ctx)
		if err == nil && !ok {
			err = fmt.Errorf("run %s is missing after its insert: %w", r.ID, errIDTaken)
		}
		return err
	})
}

// errIDTaken: a run ID that names another run (never expected: run IDs carry
// random bits).
var errIDTaken = errors.New("run id taken")

// Commit implements state.Runs. When the connection breaks after the
// commit was sent, Commit reads the run back on a new connection until it
// knows the outcome (see ResolveFor), and fails with state.ErrCommitUnknown
// if it never learns it.
func (s *Store) Commit(ctx context.Context, r state.Run, setCursor bool) error {
	if r.FinishedAt.IsZero() {
		r.FinishedAt = s.Now()
	}
	err := s.commitOnce(ctx, r, setCursor)
	if err == nil || definite(err) {
		return err
	}
	return s.resolve(ctx, r, setCursor, err)
}

// resolve learns the outcome of a commit that failed without a definite
// answer: the run reads committed → it took effect; running → try again.
func (s *Store) resolve(ctx context.Context, r state.Run, setCursor bool, first error) error {
	deadline := time.Now().Add(s.ResolveFor)
	last := first
	for wait := 50 * time.Millisecond; time.Now().Before(deadline); wait = min(wait*2, 2*time.Second) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("commit run %s of %s: %w: %w (then %w)", r.ID, r.Stream, state.ErrCommitUnknown, first, context.Cause(ctx))
		case <-time.After(wait):
		}
		got, err := s.Get(ctx, r.ID)
		if err != nil {
			last = err
			continue
		}
		switch got.Status {
		case state.StatusCommitted, state.StatusTransformed:
			if got.CursorAfter == r.CursorAfter && got.Records == r.Records {
				return nil // the first attempt took effect
			}
			return fmt.Errorf("commit run %s of %s: it reads committed with other counts: %w", r.ID, r.Stream, state.ErrCommitUnknown)
		case state.StatusRunning:
			err := s.commitOnce(ctx, r, setCursor)
			if err == nil || definite(err) {
				return err
			}
			last = err
		default:
			return fmt.Errorf("commit run %s of %s: it is %s: %w", r.ID, r.Stream, got.Status, errNotRunning)
		}
	}
	return fmt.Errorf("commit run %s of %s: the state store did not answer for %s: %w: %w (last: %w)", r.ID, r.Stream, s.ResolveFor, state.ErrCommitUnknown, first, last)
}

func (s *Store) commitOnce(ctx context.Context, r state.Run, setCursor bool) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := holds(ctx, tx, r.Stream, r.ID, "commit run "+r.ID); err != nil {
			return err
		}
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM runs WHERE id = $1 FOR UPDATE`, r.ID).Scan(&status); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("commit run %s: %w", r.ID, state.ErrNotFound)
			}
			return fmt.Errorf("commit run %s: %w", r.ID, err)
		}
		if status != string(state.StatusRunning) {
			return fmt.Errorf("commit run %s: it is %s: %w", r.ID, status, errNotRunning)
		}
		if setCursor {
			var cur string
			err := tx.QueryRow(ctx, `SELECT value FROM cursors WHERE stream = $1`, r.Stream).Scan(&cur)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("commit run %s: read cursor: %w", r.ID, err)
			}
			if cur != r.CursorBefore {
				return fmt.Errorf("commit run %s of %s: cursor is %q, run began at %q: %w", r.ID, r.Stream, cur, r.CursorBefore, state.ErrCursorMoved)
			}
			if r.CursorAfter != "" {
				if _, err := tx.Exec(ctx, `INSERT INTO cursors(stream, value, run_id, updated_at) VALUES($1, $2, $3, $4)
					ON CONFLICT (stream) DO UPDATE SET value = excluded.value, run_id = excluded.run_id, updated_at = excluded.updated_at`,
					r.Stream, r.CursorAfter, r.ID, s.Now()); err != nil {
					return fmt.Errorf("commit run %s: write cursor: %w", r.ID, err)
				}
			}
		}
		_, err := tx.Exec(ctx, `UPDATE runs SET status = $1, finished_at = $2, records = $3, bytes = $4, pages = $5, cursor_after = $6, complete = $7, error = $8, report = $9 WHERE id = $10`,
			string(state.StatusCommitted), r.FinishedAt, r.Records, r.Bytes, r.Pages, r.CursorAfter, r.Complete, r.Error, r.Report, r.ID)
		if err != nil {
			return fmt.Errorf("commit run %s: %w", r.ID, err)
		}
		return nil
	})
}

// holds locks the stream's lease row and checks runID holds it (fencing:
// a run whose lease was taken over cannot write).
func holds(ctx context.Context, tx pgx.Tx, stream, runID, op string) error {
	var holder string
	err := tx.QueryRow(ctx, `SELECT run_id FROM leases WHERE stream = $1 FOR UPDATE`, stream).Scan(&holder)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: read lease: %w", op, err)
	}
	if holder != runID {
		return fmt.Errorf("%s of %s (held by %q): %w", op, stream, holder, state.ErrLeaseLost)
	}
	return nil
}

// FinishMany implements state.FinishManyer: one transaction, all or none;
// an unknown run ID is state.ErrNotFound and changes nothing. Setting a
// status is idempotent, so a repeat after a broken connection is harmless.
func (s *Store) FinishMany(ctx context.Context, fins []state.Finish) error {
	now := s.Now()
	return s.tx(ctx, func(tx pgx.Tx) error {
		for _, f := range fins {
			tag, err := tx.Exec(ctx, `UPDATE runs SET status = $1, error = $2, report = CASE WHEN $3 = '' THEN report ELSE $3 END,
				finished_at = coalesce(finished_at, $4) WHERE id = $5`, string(f.Status), f.Error, f.Report, now, f.RunID)
			if err != nil {
				return fmt.Errorf("finish run %s as %s: %w", f.RunID, f.Status, err)
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("finish run %s: %w", f.RunID, state.ErrNotFound)
			}
		}
		return nil
	})
}

// Finish implements state.Runs.
func (s *Store) Finish(ctx context.Context, runID string, status state.Status, errMsg, report string) error {
	return s.FinishMany(ctx, []state.Finish{{RunID: runID, Status: status, Error: errMsg, Report: report}})
}

const runCols = `id, stream, kind, status, started_at, finished_at, records, bytes, pages, cursor_before, cursor_after, error, host, pid, complete, report`

func scanRun(row pgx.Row) (state.Run, error) {
	var r state.Run
	var kind, status string
	var finished *time.Time
	err := row.Scan(&r.ID, &r.Stream, &kind, &status, &r.StartedAt, &finished, &r.Records, &r.Bytes, &r.Pages,
		&r.CursorBefore, &r.CursorAfter, &r.Error, &r.Host, &r.PID, &r.Complete, &r.Report)
	r.Kind, r.Status = state.Kind(kind), state.Status(status)
	r.StartedAt, r.FinishedAt = r.StartedAt.UTC(), fromTS(finished)
	return r, err
}

// List implements state.Runs.
func (s *Store) List(ctx context.Context, f state.RunFilter) ([]state.Run, error) {
	var where []string
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Stream != "" {
		arg("stream = $%d", f.Stream)
	}
	if f.Kind != "" {
		arg("kind = $%d", string(f.Kind))
	}
	if len(f.Status) > 0 {
		st := make([]string, len(f.Status))
		for i, x := range f.Status {
			st[i] = string(x)
		}
		arg("status = ANY($%d)", st)
	}
	q := "SELECT " + runCols + " FROM runs"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Oldest {
		q += " ORDER BY id ASC"
	} else {
		q += " ORDER BY id DESC"
	}
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []state.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

// Get implements state.Runs.
func (s *Store) Get(ctx context.Context, runID string) (state.Run, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	r, err := scanRun(s.pool.QueryRow(ctx, "SELECT "+runCols+" FROM runs WHERE id = $1", runID))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("run %s: %w", runID, state.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read run %s: %w", runID, err)
	}
	return r, nil
}
