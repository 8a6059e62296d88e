package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/pgstore"
	"github.com/rawland/rawland/state/sqlitestore"
)

func init() {
	register(&command{
		name:    "state",
		usage:   "migrate --to postgres",
		summary: "copy the SQLite state (DATA/state/rawland.db) into PostgreSQL: runs, cursors, DLQ, seen paths",
		help: "The DSN comes from the environment variable named by state.dsn_env (default RAWLAND_STATE_DSN), the schema\n" +
			"from state.schema (default rawland). Stop every worker first: migrate refuses while a stream's lease is held,\n" +
			"and writes into an empty schema only, in one transaction. Then set state: {backend: postgres} in rawland.yaml.",
		needsConfig: true,
		run:         runState,
	})
}

func runState(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 || args[0] != "migrate" {
		return usagef("state needs migrate")
	}
	fs := flag.NewFlagSet("state migrate", flag.ContinueOnError)
	to := fs.String("to", "", "target backend: postgres")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if *to != config.StatePostgres || len(pos) > 0 {
		return usagef("state migrate copies the SQLite state into PostgreSQL: use --to postgres")
	}
	src := filepath.Join(a.zone().StateDir(), "rawland.db")
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("state migrate: no SQLite state at %s (nothing to migrate; with --data, point at the data directory that holds it)", src)
	}
	lite, err := sqlitestore.Open(ctx, src)
	if err != nil {
		return err
	}
	defer lite.Close()
	snap, err := snapshot(ctx, lite, a.cfg)
	if err != nil {
		return err
	}
	st := a.cfg.State
	if st.DSNEnv == "" { // the config still says sqlite: the defaults
		st.DSNEnv, st.Schema = config.DefaultStateDSNEnv, config.DefaultStateSchema
	}
	cfg := *a.cfg
	cfg.State = st
	dsn, err := cfg.StateDSN()
	if err != nil {
		return err
	}
	pg, err := pgstore.Open(ctx, pgstore.Options{DSN: dsn, Schema: st.Schema})
	if err != nil {
		return err
	}
	defer pg.Close()
	n, err := pg.Import(ctx, snap)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "migrated %d runs, %d cursors, %d dead letters and %d seen paths from %s into PostgreSQL schema %s\n",
		n.Runs, n.Cursors, n.DLQ, n.SeenPaths, src, st.Schema)
	if a.cfg.State.Backend != config.StatePostgres {
		fmt.Fprintf(a.stdout, "next: set `state: {backend: postgres, dsn_env: %s, schema: %s}` in %s; the SQLite file is left as it was\n", st.DSNEnv, st.Schema, a.cfg.Path)
	}
	return nil
}

// snapshot reads the whole SQLite state, refusing while a lease is held.
func snapshot(ctx context.Context, s state.Store, cfg *config.Config) (pgstore.Snapshot, error) {
	runs, err := s.List(ctx, state.RunFilter{Oldest: true})
	if err != nil {
		return pgstore.Snapshot{}, err
	}
	streams := cfg.StreamNames()
	for _, r := range runs {
		if !slices.Contains(streams, r.Stream) {
			streams = append(streams, r.Stream)
		}
	}
	snap := pgstore.Snapshot{Runs: runs, Cursors: map[string]string{}, SeenPaths: map[string][]string{}}
	for _, name := range append(slices.Clone(streams), transformLease) {
		if l, held, err := s.Holder(ctx, name); err != nil {
			return snap, err
		} else if held {
			return snap, &busyError{err: fmt.Errorf("state migrate: %s is held by run %s on host %s (pid %d) until %s: stop every worker, then migrate",
				name, l.RunID, l.Host, l.PID, l.ExpiresAt.Format("2006-01-02T15:04:05Z07:00"))}
		}
	}
	for _, name := range streams {
		c, err := s.Cursor(ctx, name)
		if err != nil {
			return snap, err
		}
		if c != "" {
			snap.Cursors[name] = c
		}
		paths, err := s.SeenPaths(ctx, name)
		if err != nil {
			return snap, err
		}
		for p := range paths {
			snap.SeenPaths[name] = append(snap.SeenPaths[name], p)
		}
	}
	if snap.DLQ, err = s.ListDLQ(ctx, ""); err != nil {
		return snap, err
	}
	if len(snap.Runs) == 0 && len(snap.Cursors) == 0 && len(snap.DLQ) == 0 {
		return snap, errors.New("state migrate: the SQLite state holds no runs, cursors or dead letters: nothing to migrate")
	}
	return snap, nil
}
