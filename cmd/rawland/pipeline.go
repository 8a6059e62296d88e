package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
	return transform.Run(ctx, transform.Options{
		Config: a.cfg, Schemas: schemas, Runs: store, Zone: a.zone(), Warehouse: a.warehousePath(),
		Streams: names, Logger: a.log, AfterRun: a.reconcileHook(), Rebuild: rebuild,
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

// transformLines prints one line per stream of a transform report.
func transformLines(a *app, rep transform.Report) {
	for _, sr := range rep.Streams {
		if sr.Err != nil {
			fmt.Fprintf(a.stdout, "%-16s FAILED   transform: %v\n", sr.Stream, sr.Err)
			continue
		}
		t := sr.Totals()
		line := fmt.Sprintf("%-16s ok       transform %d runs: %d records → %d inserted, %d updated, %d unchanged, %d stale, %d duplicates, %d quarantined",
			sr.Stream, len(sr.Runs), t.Records, t.Inserted, t.Updated, t.Unchanged, t.Stale, t.Duplicates, t.Quarantined)
		for _, r := range sr.Runs {
			if r.Kind == state.KindReconcile && len(r.Reconcile) > 0 {
				var rr reconcile.Report
				json.Unmarshal(r.Reconcile, &rr)
				line += fmt.Sprintf("; reconcile %s: %d added, %d changed, %d unchanged, %d deleted, %d undeleted", r.RunID, r.Inserted, r.Updated-r.Undeleted, r.Unchanged, rr.Deleted, r.Undeleted)
				if rr.Note != "" {
					line += " (" + rr.Note + ")"
				}
			}
		}
		fmt.Fprintln(a.stdout, line)
		var drift []string
		for _, r := range sr.Runs {
			for _, d := range r.Drift {
				drift = append(drift, fmt.Sprintf("%s %s ×%d", d.Kind, d.Path, d.Count))
			}
		}
		if len(drift) > 0 {
			if len(drift) > 6 {
				drift = append(drift[:6], fmt.Sprintf("… %d more (rawland sql \"FROM rawland.drift\")", len(drift)-6))
			}
			fmt.Fprintf(a.stdout, "%-16s drift    %s\n", "", strings.Join(drift, "; "))
		}
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
