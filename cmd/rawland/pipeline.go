package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/rawland/rawland/reconcile"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/transform"
)

// The orchestration shared by transform, reconcile, run and demo: the
// stages never import each other; this file chains them.

// runTransform transforms the named streams' pending runs (all streams when
// names is empty), with the reconcile hook wired in.
func (a *app) runTransform(ctx context.Context, names []string) (transform.Report, error) {
	return a.transformWith(ctx, names, false)
}

// transformWith is runTransform; rebuild drops the streams' tables and
// loads every committed run again from the raw landing.
func (a *app) transformWith(ctx context.Context, names []string, rebuild bool) (transform.Report, error) {
	schemas, err := transform.CompileSchemas(a.cfg)
	if err != nil {
		return transform.Report{}, err
	}
	store, err := a.openStore(ctx)
	if err != nil {
		return transform.Report{}, err
	}
	// one transform at a time across every host sharing the state store
	ctx, release, err := holdTransform(ctx, store, a.cfg.LeaseTTL.D())
	if err != nil {
		return transform.Report{}, err
	}
	defer release()
	shown := names
	if len(shown) == 0 {
		shown = a.cfg.StreamNames()
	}
	view := a.startProgress("transform", shown, nil)
	defer view.end()
	defer transformGC()()
	return transform.Run(ctx, transform.Options{
		Config: a.cfg, Schemas: schemas, Runs: store, Zone: a.zone(), Warehouse: a.warehousePath(),
		Streams: names, Logger: a.log, AfterRun: a.reconcileHook(), Rebuild: rebuild, Progress: view.transformed,
	})
}

// reconcileHook marks deletions for reconcile runs inside transform's
// transaction (reconcile.MarkDeleted over transform's snapshot keys).
func (a *app) reconcileHook() transform.AfterRunFunc {
	return func(ctx context.Context, tx *sql.Tx, run state.Run, table string) (json.RawMessage, error) {
		s, ok := a.cfg.Streams[run.Stream]
		if !ok {
			return nil, fmt.Errorf("reconcile run %s: stream %s is no longer configured", run.ID, run.Stream)
		}
		rep, err := reconcile.MarkDeleted(ctx, tx, run, table, transform.SnapshotKeysTable, s.PrimaryKey, time.Now())
		if err != nil {
			return nil, err
		}
		if rep.Note != "" {
			a.log.Warn("reconcile marked nothing deleted", "stream", run.Stream, "run_id", run.ID, "why", rep.Note)
		}
		return json.Marshal(rep)
	}
}

// transformExit maps a transform error to the command's outcome.
func transformExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, transform.ErrWarehouseBusy):
		return &busyError{err: err}
	}
	return err
}

// transformGCPercent is the Go collector's target while transform runs,
// unless GOGC is set. The transform's live Go heap is small (10–20 MiB:
// the batches in flight), so at the default 100 it collects every few
// batches, and the runtime hands the freed pages back and faults them in
// again. At 200, `transform --rebuild` of 1M users records took 5.7–5.8 s
// and 8.0–8.4 s of CPU instead of 6.2–6.9 s and 8.9–9.8 s (three pairs, back
// to back) for 172–184 MiB of peak RSS instead of 164–179; at 10M, 48.5 s
// and 214 MiB instead of 54.3 s and 219 MiB.
const transformGCPercent = 200

// transformGC sets the collector's target for a transform and returns the
// function that restores it (a no-op when GOGC is set: the user's choice).
func transformGC() func() {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	prev := debug.SetGCPercent(transformGCPercent)
	return func() { debug.SetGCPercent(prev) }
}
