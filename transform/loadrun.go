package transform

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
)

// landedAt is when a run's records landed: its commit time.
func landedAt(run state.Run) time.Time {
	if !run.FinishedAt.IsZero() {
		return run.FinishedAt.UTC()
	}
	return run.StartedAt.UTC()
}

// loadRun transforms one run in one warehouse transaction, then marks it
// transformed in the state store.
func (t *transformer) loadRun(ctx context.Context, s *Schema, run state.Run, dir string) (RunReport, error) {
	rr := RunReport{RunID: run.ID, Stream: s.Stream, Kind: run.Kind}
	log := t.o.Logger.With(KeyStream, s.Stream, KeyRunID, run.ID)
	if t.direct() {
		rrs, err := t.loadDirect(ctx, s, []landedRun{{run: run, dir: dir}})
		if !errors.Is(err, errDirectRefused) {
			if len(rrs) == 1 {
				rr = rrs[0]
			}
			return rr, err
		}
		log.Info("loading the run through the staging table", "why", err.Error())
	}
	start := time.Now()
	now := t.o.Now().UTC()
	var report []byte
	// Stage the run outside its transaction (bisect.go): the valid rows go
	// to the staging table, the invalid ones to the quarantine staging
	// table. Nothing there is visible to anyone until the transaction.
	st, err := t.stagingStager(ctx, s)
	if err != nil {
		return rr, err
	}
	qw := &quarantineWriter{conn: t.w.conn, stream: s.Stream, runID: run.ID, now: now}
	defer qw.close()
	drift := driftSet{}
	var qkeys [][]any
	feed := func(emit func(rawRec) error) error {
		var seq int64
		_, err := t.o.Zone.Records(ctx, s.Stream, run.ID, func(r landing.Record) error {
			seq++
			return emit(rawRec{file: r.File, line: r.Line, seq: seq, data: r.Data})
		})
		return err
	}
	sink := func(b *batchOut) error {
		rr.Records += int64(b.n)
		if t.o.Progress != nil {
			t.o.Progress(s.Stream, b.n)
		}
		rr.Quarantined += int64(len(b.quar))
		drift.merge(b.drift)
		if run.Kind == state.KindReconcile {
			for _, q := range b.quar {
				if !hasNil(q.keys) {
					qkeys = append(qkeys, q.keys)
				}
			}
		}
		return qw.write(b.quar)
	}
	if err := st.stage(ctx, feed, sink); err != nil {
		return rr, err
	}
	log.Debug("run staged", KeyRecords, rr.Records, "took", time.Since(start).Round(time.Millisecond).String())
	err = t.w.inTx(ctx, func(tx *sql.Tx) error {
		if err := qw.publish(ctx, tx); err != nil {
			return err
		}
		mc, err := merge(ctx, tx, s, run.ID, run.Kind, landedAt(run), "")
		if err != nil {
			return err
		}
		rr.Inserted, rr.Updated, rr.Unchanged, rr.Stale, rr.Duplicates, rr.Undeleted = mc.inserted, mc.updated, mc.unchanged, mc.stale, mc.duplicates, mc.undeleted
		rr.Drift = drift.list()
		if err := writeDrift(ctx, tx, s.Stream, run.ID, landedAt(run), rr.Drift); err != nil {
			return err
		}
		if run.Kind == state.KindReconcile && t.o.AfterRun != nil {
			if err := snapshotKeys(ctx, t.w, tx, s, qkeys, stageTbl); err != nil {
				return err
			}
			out, err := t.o.AfterRun(ctx, tx, run, tableName(s.Stream))
			if err != nil {
				return fmt.Errorf("reconcile hook: %w", err)
			}
			if len(out) > 0 && json.Valid(out) {
				rr.Reconcile = out
			}
		}
		report, err = json.Marshal(rr)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO rawland.transformed (stream, run_id, kind, landed_at, transformed_at, report)
			VALUES (?, ?, ?, ?, ?, ?)`, s.Stream, run.ID, string(run.Kind), landedAt(run), now, string(report)); err != nil {
			return fmt.Errorf("mark run transformed in the warehouse: %w", err)
		}
		return dropTemp(ctx, tx, stageTbl, mergeTbl, SnapshotKeysTable, quarTbl)
	})
	if err != nil {
		return rr, err
	}
	if t.o.afterCommit != nil {
		t.o.afterCommit()
	}
	if err := t.o.Runs.Finish(ctx, run.ID, state.StatusTransformed, "", string(report)); err != nil {
		return rr, fmt.Errorf("the run is in the warehouse but marking it transformed failed (the next transform will): %w", err)
	}
	log.Info("run transformed", KeyRecords, rr.Records, "inserted", rr.Inserted, "updated", rr.Updated,
		"unchanged", rr.Unchanged, "stale", rr.Stale, "duplicates", rr.Duplicates, "quarantined", rr.Quarantined,
		"drift", len(rr.Drift), "took", time.Since(start).Round(time.Millisecond).String())
	return rr, nil
}

// stagingStager creates the (empty) staging and quarantine staging tables
// and a stager that loads into them, outside any transaction.
func (t *transformer) stagingStager(ctx context.Context, s *Schema) (*stager, error) {
	if err := createStage(ctx, t.w.conn, s); err != nil {
		return nil, err
	}
	if err := createQuarStage(ctx, t.w.conn); err != nil {
		return nil, err
	}
	st := newStager(s, t.w, t.w.conn, t.o.Workers, t.o.BatchSize, t.o.mode)
	st.nice = t.o.Config.Transform.WorkerNice
	st.mem = t.o.batchAlloc()
	st.afterBatch = t.o.afterBatch
	if t.o.batchBytes > 0 {
		st.maxBytes = t.o.batchBytes
	}
	return st, nil
}

// createStage creates the (empty) temp staging table for the stream.
func createStage(ctx context.Context, tx execer, s *Schema) error {
	cols := s.stageColumns()
	defs := make([]string, len(cols))
	for i, c := range cols {
		defs[i] = quoteIdent(c.name) + " " + c.t.DDL()
	}
	if _, err := tx.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+stageTbl+" ("+strings.Join(defs, ", ")+")"); err != nil {
		return fmt.Errorf("create staging table: %w", err)
	}
	return nil
}

func dropTemp(ctx context.Context, tx execer, tables ...string) error {
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS temp.main."+t); err != nil {
			return fmt.Errorf("drop %s: %w", t, err)
		}
	}
	return nil
}

// snapshotKeys fills _rawland_snapshot_keys with the keys of every record
// of the run: the valid ones (in from: the staging table, or the stream's
// table and a filter on the run) and the quarantined ones.
func snapshotKeys(ctx context.Context, w *warehouse, tx *sql.Tx, s *Schema, qkeys [][]any, from string) error {
	var defs, names []string
	for _, p := range s.pk {
		f := s.root.fields[p]
		defs = append(defs, quoteIdent(f.name)+" "+f.t.DDL())
		names = append(names, quoteIdent(f.name))
	}
	q := fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s (%s); INSERT INTO %s SELECT DISTINCT %s FROM %s",
		SnapshotKeysTable, strings.Join(defs, ", "), SnapshotKeysTable, strings.Join(names, ", "), from)
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("snapshot keys: %w", err)
	}
	if len(qkeys) == 0 {
		return nil
	}
	app, err := newAppender(w.conn, "temp", "main", SnapshotKeysTable)
	if err != nil {
		return err
	}
	rows := make([][]driver.Value, len(qkeys))
	for i, k := range qkeys {
		rows[i] = make([]driver.Value, len(k))
		for j, v := range k {
			rows[i][j] = v
		}
	}
	if err := app.append(rows); err != nil {
		app.close()
		return fmt.Errorf("snapshot keys of quarantined records: %w", err)
	}
	return app.close()
}

func hasNil(vs []any) bool {
	for _, v := range vs {
		if v == nil {
			return true
		}
	}
	return len(vs) == 0
}
