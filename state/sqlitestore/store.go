package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rawland/rawland/state"
	_ "modernc.org/sqlite" // pure-Go SQLite driver: no second cgo library beside DuckDB
)

var _ state.Store = (*Store)(nil)

// Store is the embedded state store: one SQLite database in WAL mode, shared
// safely by every rawland process using the same data directory.
type Store struct {
	db   *sql.DB
	path string
	// Now is the clock (tests may replace it).
	Now func() time.Time
	// Host is this machine's name, recorded in leases.
	Host string
	// alive reports whether a pid on this host still runs.
	alive func(pid int) bool
}

const schema = `
CREATE TABLE IF NOT EXISTS runs(
  id TEXT PRIMARY KEY, stream TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
  started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL DEFAULT 0,
  records INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0, pages INTEGER NOT NULL DEFAULT 0,
  cursor_before TEXT NOT NULL DEFAULT '', cursor_after TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '', host TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL DEFAULT 0,
  complete INTEGER NOT NULL DEFAULT 0, report TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS runs_stream ON runs(stream, id);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status, id);
CREATE TABLE IF NOT EXISTS cursors(
  stream TEXT PRIMARY KEY, value TEXT NOT NULL, run_id TEXT NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS leases(
  stream TEXT PRIMARY KEY, run_id TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
  since INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dlq(
  seq INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, run_id TEXT NOT NULL,
  record_id TEXT NOT NULL DEFAULT '', url TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '',
  status INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
  tracking_id TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seen_paths(
  stream TEXT NOT NULL, path TEXT NOT NULL, first_seen INTEGER NOT NULL, PRIMARY KEY(stream, path));
`

// Open opens (creating if needed) the state database at path.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	// _txlock=immediate: every transaction takes the write lock up front, so
	// two processes never deadlock upgrading read locks; busy_timeout makes
	// them queue instead of failing.
	start := time.Now()
	dsn := "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state store %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	// Switching a new database to WAL needs a moment of exclusive access that
	// SQLite does not queue for; processes that start together retry it.
	var err2 error
	for wait := 5 * time.Millisecond; ; wait = min(wait*2, 500*time.Millisecond) {
		if _, err2 = db.ExecContext(ctx, schema+jobsSchema); err2 == nil || !strings.Contains(err2.Error(), "SQLITE_BUSY") || time.Since(start) > 30*time.Second {
			break
		}
		select {
		case <-ctx.Done():
			err2 = ctx.Err()
		case <-time.After(wait):
			continue
		}
		break
	}
	if err2 != nil {
		db.Close()
		return nil, fmt.Errorf("init state store %s: %w", path, err2)
	}
	host := state.HostName()
	return &Store{db: db, path: path, Now: time.Now, Host: host, alive: pidAlive}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path is the database file.
func (s *Store) Path() string { return s.path }

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin state transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit state transaction: %w", err)
	}
	return nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Acquire implements state.Leases.
func (s *Store) Acquire(ctx context.Context, l state.Lease, ttl time.Duration) (state.Lease, error) {
	now := s.Now()
	if l.Host == "" {
		l.Host = s.Host
	}
	if l.PID == 0 {
		l.PID = os.Getpid()
	}
	l.Since, l.ExpiresAt = now.UTC(), now.Add(ttl).UTC()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		cur, ok, err := holder(ctx, tx, l.Stream)
		if err != nil {
			return err
		}
		if ok && cur.RunID != l.RunID && cur.ExpiresAt.After(now) && !(cur.Host == s.Host && !s.alive(cur.PID)) {
			return &state.LeaseHeldError{Holder: cur}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO leases(stream, run_id, host, pid, since, expires_at) VALUES(?,?,?,?,?,?)
			ON CONFLICT(stream) DO UPDATE SET run_id=excluded.run_id, host=excluded.host, pid=excluded.pid, since=excluded.since, expires_at=excluded.expires_at`,
			l.Stream, l.RunID, l.Host, l.PID, nanos(l.Since), nanos(l.ExpiresAt))
		return err
	})
	if err != nil {
		return state.Lease{}, err
	}
	return l, nil
}

func holder(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, stream string) (state.Lease, bool, error) {
	var l state.Lease
	var since, exp int64
	err := q.QueryRowContext(ctx, `SELECT stream, run_id, host, pid, since, expires_at FROM leases WHERE stream=?`, stream).
		Scan(&l.Stream, &l.RunID, &l.Host, &l.PID, &since, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, fmt.Errorf("read lease of %s: %w", stream, err)
	}
	l.Since, l.ExpiresAt = fromNanos(since), fromNanos(exp)
	return l, true, nil
}

// Renew implements state.Leases.
func (s *Store) Renew(ctx context.Context, stream, runID string, ttl time.Duration) error {
	res, err := s.db.ExecContext(ctx, `UPDATE leases SET expires_at=? WHERE stream=? AND run_id=?`, nanos(s.Now().Add(ttl)), stream, runID)
	if err != nil {
		return fmt.Errorf("renew lease of %s: %w", stream, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("renew lease of %s for run %s: %w", stream, runID, state.ErrLeaseLost)
	}
	return nil
}

// Transfer implements state.Leases.
func (s *Store) Transfer(ctx context.Context, stream, from, to string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE leases SET run_id=? WHERE stream=? AND run_id=?`, to, stream, from)
	if err != nil {
		return fmt.Errorf("transfer lease of %s: %w", stream, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("transfer lease of %s from run %s: %w", stream, from, state.ErrLeaseLost)
	}
	return nil
}

// Release implements state.Leases.
func (s *Store) Release(ctx context.Context, stream, runID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM leases WHERE stream=? AND run_id=?`, stream, runID); err != nil {
		return fmt.Errorf("release lease of %s: %w", stream, err)
	}
	return nil
}

// Holder implements state.Leases.
func (s *Store) Holder(ctx context.Context, stream string) (state.Lease, bool, error) {
	l, ok, err := holder(ctx, s.db, stream)
	if err != nil || !ok {
		return l, false, err
	}
	if !l.ExpiresAt.After(s.Now()) {
		return l, false, nil
	}
	return l, true, nil
}
