package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrations are applied in order, each once, in one transaction per
// Open; never edit one that has shipped: append a new one.
var migrations = []string{
	// 1: the state tables
	`CREATE TABLE runs(
	  id text PRIMARY KEY, stream text NOT NULL, kind text NOT NULL, status text NOT NULL,
	  started_at timestamptz NOT NULL, finished_at timestamptz,
	  records bigint NOT NULL DEFAULT 0, bytes bigint NOT NULL DEFAULT 0, pages bigint NOT NULL DEFAULT 0,
	  cursor_before text NOT NULL DEFAULT '', cursor_after text NOT NULL DEFAULT '',
	  error text NOT NULL DEFAULT '', host text NOT NULL DEFAULT '', pid integer NOT NULL DEFAULT 0,
	  complete boolean NOT NULL DEFAULT false, report text NOT NULL DEFAULT '');
	CREATE INDEX runs_stream ON runs(stream, id);
	CREATE INDEX runs_status ON runs(status, id);
	CREATE TABLE cursors(
	  stream text PRIMARY KEY, value text NOT NULL, run_id text NOT NULL, updated_at timestamptz NOT NULL);
	CREATE TABLE leases(
	  stream text PRIMARY KEY, run_id text NOT NULL, host text NOT NULL, pid integer NOT NULL,
	  since timestamptz NOT NULL, expires_at timestamptz NOT NULL);
	CREATE TABLE dlq(
	  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream text NOT NULL, run_id text NOT NULL,
	  record_id text NOT NULL DEFAULT '', url text NOT NULL DEFAULT '', error text NOT NULL DEFAULT '',
	  status integer NOT NULL DEFAULT 0, attempts integer NOT NULL DEFAULT 0,
	  tracking_id text NOT NULL DEFAULT '', created_at timestamptz NOT NULL);
	CREATE TABLE seen_paths(
	  stream text NOT NULL, path text NOT NULL, first_seen timestamptz NOT NULL, PRIMARY KEY(stream, path));`,
	// 2: the per-source quota state shared by every worker
	`CREATE TABLE quota(source text PRIMARY KEY, state bytea NOT NULL, updated_at timestamptz NOT NULL);`,
	// 3: the export job of each stream and run kind (state.Jobs)
	`CREATE TABLE export_jobs(
	  stream text NOT NULL, kind text NOT NULL, key text NOT NULL, job_id text NOT NULL DEFAULT '',
	  run_id text NOT NULL, cursor text NOT NULL DEFAULT '',
	  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, PRIMARY KEY(stream, kind));`,
	// 4: a key per dead letter put, so a put repeated after a broken
	// connection stores each entry once
	`ALTER TABLE dlq ADD COLUMN put_key text;
	CREATE UNIQUE INDEX dlq_put_key ON dlq(put_key) WHERE put_key IS NOT NULL;`,
}

// migrationLock is the first key of the advisory lock taken around
// migrations (the second is the schema's hash): workers that start at once
// wait for each other, and the second finds nothing left to do.
const migrationLock = 0x72617764 // "rawd"

// migrate creates the schema and applies the migrations it lacks.
func (s *Store) migrate(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*s.OpTimeout)
	defer cancel()
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, migrationLock, s.schema); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		schema := pgx.Identifier{s.schema}.Sanitize()
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+schema+`.schema_migrations(
			version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+schema+`.schema_migrations`).Scan(&have); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if have > len(migrations) {
			return fmt.Errorf("the state schema is at version %d, newer than this rawland knows (%d): upgrade rawland on this host", have, len(migrations))
		}
		if _, err := tx.Exec(ctx, `SET LOCAL search_path TO `+schema); err != nil {
			return fmt.Errorf("set search_path: %w", err)
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("apply migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations(version) VALUES($1)`, v); err != nil {
				return fmt.Errorf("record migration %d: %w", v, err)
			}
		}
		return nil
	})
}

// Version is the schema version a store is at (the number of migrations).
func Version() int { return len(migrations) }
