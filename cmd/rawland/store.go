package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/ingest/fetch"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/pgstore"
	"github.com/rawland/rawland/state/sqlitestore"
)

// openStore opens the configured state store once per command: the
// embedded SQLite database under DATA/state (default) or PostgreSQL
// (state: {backend: postgres}).
func (a *app) openStore(ctx context.Context) (state.Store, error) {
	// the commands that write also read or write landed runs
	if err := a.openLanding(ctx); err != nil {
		return nil, err
	}
	return a.openStoreFor(ctx, true)
}

// readStore opens the state store for commands that only read it: before
// the first ingest there is no SQLite database, and reading must not create
// one (an empty in-memory store answers instead). A PostgreSQL store is
// opened as it is (its schema is created on first use).
func (a *app) readStore(ctx context.Context) (state.Store, error) {
	return a.openStoreFor(ctx, false)
}

func (a *app) openStoreFor(ctx context.Context, create bool) (state.Store, error) {
	if a.store != nil {
		return a.store, nil
	}
	if a.cfg != nil && a.cfg.State.Backend == config.StatePostgres {
		dsn, err := a.cfg.StateDSN()
		if err != nil {
			return nil, err
		}
		s, err := pgstore.Open(ctx, pgstore.Options{DSN: dsn, Schema: a.cfg.State.Schema})
		if err != nil {
			return nil, err
		}
		a.store = s
		return s, nil
	}
	path := filepath.Join(a.zone().StateDir(), "rawland.db")
	if _, err := os.Stat(path); err != nil && !create {
		path = ":memory:"
	}
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	a.store = s
	return s, nil
}

// quotaBackend is where sources share their quota across processes: the
// state store when it reaches every host (PostgreSQL), else nil (the
// flock'ed files under DATA/state, shared by the processes of one machine).
func (a *app) quotaBackend() fetch.QuotaBackend {
	if qb, ok := a.store.(fetch.QuotaBackend); ok {
		return qb
	}
	return nil
}
