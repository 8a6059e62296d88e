package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rawland/rawland/state"
)

var _ state.Store = (*Store)(nil)

// DefaultSchema is the schema the tables live in unless configured.
const DefaultSchema = "rawland"

// Options configures Open.
type Options struct {
	// DSN is the connection string (keyword/value or URL form).
	DSN string
	// Schema holds the tables (default DefaultSchema); created if missing.
	Schema string
	// Host is this worker's identity in leases (default state.HostName()).
	Host string
	// MaxConns bounds the pool (default 8).
	MaxConns int32
}

// Store is the PostgreSQL state store. Its methods are safe for concurrent
// use by many goroutines, processes and hosts.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	// Host is this worker's identity, recorded in leases and runs.
	Host string
	// Now is the clock for run times (leases use PostgreSQL's clock).
	Now func() time.Time
	// ResolveFor bounds how long Commit keeps trying to learn the outcome
	// of a commit whose connection broke (default 1m).
	ResolveFor time.Duration
	// OpTimeout bounds one operation on a connection that hangs
	// (default 30s).
	OpTimeout time.Duration
	alive     func(pid int) bool
}

// Open connects, applies pending migrations and returns the store.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	cfg, err := pgxpool.ParseConfig(o.DSN)
	if err != nil {
		// the DSN may hold a password: never echo it
		return nil, errors.New("open PostgreSQL state store: the DSN does not parse; check its syntax (postgres://user:password@host:5432/db or host=… dbname=…)")
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = o.Schema
	cfg.ConnConfig.RuntimeParams["application_name"] = "rawland"
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	cfg.MaxConns = 8
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL state store on %s: %w", where(cfg), err)
	}
	s := &Store{pool: pool, schema: o.Schema, Host: o.Host, Now: time.Now, ResolveFor: time.Minute, OpTimeout: 30 * time.Second, alive: pidAlive}
	if s.Host == "" {
		s.Host = state.HostName()
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open PostgreSQL state store on %s schema %s: %w", where(cfg), o.Schema, err)
	}
	return s, nil
}

// where names the server without credentials.
func where(cfg *pgxpool.Config) string {
	return fmt.Sprintf("%s:%d database %s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
}

// Close closes the pool.
func (s *Store) Close() error { s.pool.Close(); return nil }

// Schema is the schema the tables live in.
func (s *Store) Schema() string { return s.schema }

// Pool is the connection pool (for tools and tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// op bounds one operation.
func (s *Store) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.OpTimeout)
}

// tx runs fn in one READ COMMITTED transaction.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin state transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit state transaction: %w", err)
	}
	return nil
}

// exec runs one statement outside an explicit transaction.
func (s *Store) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	return s.pool.Exec(ctx, sql, args...)
}

// ts is t for a nullable timestamptz column (NULL for the zero time).
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// fromTS reads a nullable timestamptz.
func fromTS(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// micros is d in microseconds, for "$n * interval '1 microsecond'".
func micros(d time.Duration) int64 { return d.Microseconds() }

func pidAlive(pid int) bool { return processAlive(pid) }

// definite reports whether err says for sure that a transaction did not
// commit: the server answered with an error (the transaction aborted), or
// the store refused before writing.
func definite(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) || errors.Is(err, state.ErrLeaseLost) || errors.Is(err, state.ErrCursorMoved) ||
		errors.Is(err, state.ErrNotFound) || errors.Is(err, errNotRunning) || errors.Is(err, errIDTaken) || errors.Is(err, pgx.ErrTxCommitRollback)
}

// errNotRunning: Commit of a run that is not running.
var errNotRunning = errors.New("run is not running")
