package transform

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/rawland/rawland/state"
)

const replayTbl = "_rawland_replay"

// ReplayQuarantine re-validates the quarantined, not yet replayed records of
// the given streams (all when empty) against the current schemas, and
// merges those that now pass with the usual merge rule, each under its
// original run (so an old record never overwrites a newer version). Those
// records get replayed_at; the ones that still fail keep replayed_at NULL
// and get the current errors. Each run is staged outside a transaction
// (a record DuckDB refuses stays quarantined with DuckDB's message: see
// bisect.go), then merged and marked in one transaction per run; the
// table is evolved to the schema first. The raw landing is never touched. The
// report has one RunReport per original run: Records re-validated,
// Quarantined still failing.
func ReplayQuarantine(ctx context.Context, o Options, streams []string) (Report, error) {
	var rep Report
	o, err := o.withDefaults()
	if err != nil {
		return rep, err
	}
	sel, err := o.Config.Select(streams)
	if err != nil {
		return rep, err
	}
	w, err := openForWrite(ctx, o)
	if err != nil {
		return rep, err
	}
	defer w.close()
	for _, st := range sel {
		s := o.Schemas[st.Name]
		if !st.HasSchema() {
			err := noSchemaError(o.Config, st)
			rep.Streams = append(rep.Streams, StreamReport{Stream: st.Name, Err: err, Error: err.Error()})
			continue
		}
		if s == nil {
			return rep, errors.Join(errNoOption, fmt.Errorf("no compiled schema for stream %s", st.Name))
		}
		sr := StreamReport{Stream: st.Name}
		if err := replayStream(ctx, o, w, s, &sr); err != nil {
			sr.Err = fmt.Errorf("replay quarantine of %s: %w", st.Name, err)
			sr.Error = sr.Err.Error()
		}
		rep.Streams = append(rep.Streams, sr)
	}
	if err := w.publishAndClose(ctx, o); err != nil {
		return rep, errors.Join(rep.Err(), err)
	}
	return rep, rep.Err()
}

type pendingRun struct {
	id       string
	kind     state.Kind
	landedAt time.Time
}

func replayStream(ctx context.Context, o Options, w *warehouse, s *Schema, sr *StreamReport) error {
	if err := w.inTx(ctx, func(tx *sql.Tx) error { return ensureTable(ctx, tx, s, w.path, o.Logger) }); err != nil {
		return err
	}
	rows, err := w.conn.QueryContext(ctx, `SELECT q.run_id, coalesce(t.kind, 'ingest'), coalesce(t.landed_at, now())
		FROM (SELECT DISTINCT run_id FROM rawland.quarantine WHERE stream = ? AND replayed_at IS NULL) q
		LEFT JOIN rawland.transformed t ON t.stream = ? AND t.run_id = q.run_id ORDER BY q.run_id`, s.Stream, s.Stream)
	if err != nil {
		return fmt.Errorf("list quarantined runs: %w", err)
	}
	var runs []pendingRun
	for rows.Next() {
		var r pendingRun
		var kind string
		if err := rows.Scan(&r.id, &kind, &r.landedAt); err != nil {
			rows.Close()
			return err
		}
		r.kind = state.Kind(kind)
		runs = append(runs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(runs) == 0 {
		return nil
	}
	// the newest complete reconcile snapshot: replayed records of older runs
	// must not bring back keys it found gone (merge.go)
	var barrier string
	if err := w.conn.QueryRowContext(ctx, `SELECT coalesce(max(r.run_id), '') FROM rawland.runs r
		JOIN rawland.transformed t ON t.stream = r.stream AND t.run_id = r.run_id
		WHERE r.stream = ? AND r.kind = 'reconcile' AND r.complete`, s.Stream).Scan(&barrier); err != nil {
		return fmt.Errorf("find the last complete reconcile of %s: %w", s.Stream, err)
	}
	for _, run := range runs {
		rr, err := replayRun(ctx, o, w, s, run, barrier)
		if err != nil {
			return err
		}
		sr.Runs = append(sr.Runs, rr)
		o.Logger.Info("replayed quarantine", KeyStream, s.Stream, KeyRunID, run.id, KeyRecords, rr.Records,
			"loaded", rr.Records-rr.Quarantined, "still_quarantined", rr.Quarantined)
	}
	return dropTemp(ctx, w.conn, stageTbl, mergeTbl, replayTbl)
}

// replayRun re-validates one run's quarantined records: staged outside a
// transaction, then merged and marked in one.
func replayRun(ctx context.Context, o Options, w *warehouse, s *Schema, run pendingRun, barrier string) (RunReport, error) {
	rr := RunReport{RunID: run.id, Stream: s.Stream, Kind: run.kind}
	if err := createStage(ctx, w.conn, s); err != nil {
		return rr, err
	}
	if _, err := w.conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+replayTbl+
		" (run_id VARCHAR, file VARCHAR, line BIGINT, passed BOOLEAN, errors STRUCT(path VARCHAR, reason VARCHAR)[])"); err != nil {
		return rr, fmt.Errorf("replay: %w", err)
	}
	marks, err := newAppender(w.conn, "temp", "main", replayTbl)
	if err != nil {
		return rr, err
	}
	defer marks.close()
	st := newStager(s, w, w.conn, o.Workers, o.BatchSize, o.mode)
	st.nice = o.Config.Transform.WorkerNice
	st.mem = o.batchAlloc()
	feed := func(emit func(rawRec) error) error {
		return quarantinedRecords(ctx, w.conn, s.Stream, run.id, o.BatchSize, emit)
	}
	sink := func(b *batchOut) error {
		rr.Records += int64(b.n)
		rr.Quarantined += int64(len(b.quar))
		var out [][]driver.Value
		for _, v := range b.valid {
			out = append(out, []driver.Value{run.id, v.file, int64(v.line), true, nil})
		}
		for _, q := range b.quar {
			out = append(out, []driver.Value{run.id, q.file, int64(q.line), false, errorList(q.errs)})
		}
		return marks.append(out)
	}
	if err := st.stage(ctx, feed, sink); err != nil {
		return rr, err
	}
	if err := marks.close(); err != nil {
		return rr, err
	}
	err = w.inTx(ctx, func(tx *sql.Tx) error {
		mc, err := merge(ctx, tx, s, run.id, run.kind, run.landedAt, barrier)
		if err != nil {
			return err
		}
		rr.Inserted, rr.Updated, rr.Unchanged, rr.Stale, rr.Duplicates, rr.Undeleted = mc.inserted, mc.updated, mc.unchanged, mc.stale, mc.duplicates, mc.undeleted
		_, err = tx.ExecContext(ctx, `UPDATE rawland.quarantine AS q
			SET replayed_at = CASE WHEN r.passed THEN ?::TIMESTAMPTZ END,
			    errors = CASE WHEN r.passed THEN q.errors ELSE r.errors END
			FROM `+replayTbl+` AS r
			WHERE q.stream = ? AND q.run_id = ? AND q.replayed_at IS NULL AND q.run_id = r.run_id AND q.file = r.file AND q.line = r.line`,
			o.Now().UTC(), s.Stream, run.id)
		if err != nil {
			return fmt.Errorf("mark replayed records: %w", err)
		}
		return nil
	})
	return rr, err
}

// quarantinedRecords emits a run's pending quarantined records in landing
// order, a page at a time (each page is read whole before it is emitted, so
// the connection is free for the loader).
func quarantinedRecords(ctx context.Context, conn *sql.Conn, stream, runID string, page int, emit func(rawRec) error) error {
	lastFile, lastLine := "", int64(-1)
	var seq int64
	for {
		rows, err := conn.QueryContext(ctx, `SELECT file, line, record, record_bytes FROM rawland.quarantine
			WHERE stream = ? AND run_id = ? AND replayed_at IS NULL AND (file > ? OR (file = ? AND line > ?))
			ORDER BY file, line LIMIT ?`, stream, runID, lastFile, lastFile, lastLine, page)
		if err != nil {
			return fmt.Errorf("read quarantined records: %w", err)
		}
		var recs []rawRec
		for rows.Next() {
			var r rawRec
			var line int64
			var data string
			var raw []byte // the exact bytes of a record that is not UTF-8
			if err := rows.Scan(&r.file, &line, &data, &raw); err != nil {
				rows.Close()
				return err
			}
			r.line, r.data = int(line), []byte(data)
			if raw != nil {
				r.data = raw
			}
			recs = append(recs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range recs {
			seq++
			r.seq = seq
			if err := emit(r); err != nil {
				return err
			}
		}
		if len(recs) < page {
			return nil
		}
		lastFile, lastLine = recs[len(recs)-1].file, int64(recs[len(recs)-1].line)
	}
}
