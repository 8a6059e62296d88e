package transform

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
)

// Small runs are transformed in batches: a delta-queue stream commits a run
// of a hundred records every cycle, and one transaction per run spends its
// time on the per-run statements and commits, not on the records. Pending
// ingest runs that follow each other are staged together, up to
// batchRecords records and batchRuns runs, and merged in one transaction
// (merge_batch.go): the batch commits whole or not at all, each run still
// gets its own row in rawland.transformed, its own report, quarantine rows
// and drift, exactly as if the runs had been merged one by one.
const (
	batchRecords = 100_000 // records (as landed) per batch of runs
	batchRuns    = 1_000   // runs per batch
)

// landedRun is a committed run to transform and where its files are.
type landedRun struct {
	run state.Run
	dir string
}

// batchEnd returns the end (exclusive) of the batch of runs starting at
// runs[i]: ingest runs that together hold at most maxRecords records and
// number at most maxRuns. A reconcile run, or a run bigger than the limit,
// is a batch of its own.
func batchEnd(runs []landedRun, i, maxRecords, maxRuns int) int {
	var recs int64
	j := i
	for ; j < len(runs) && j-i < maxRuns; j++ {
		r := runs[j].run
		if r.Kind != state.KindIngest || recs+r.Records > int64(maxRecords) {
			break
		}
		recs += r.Records
	}
	return max(j, i+1)
}

// loadRuns transforms several ingest runs (in run-ID order) in one
// warehouse transaction, then marks each transformed in the state store.
func (t *transformer) loadRuns(ctx context.Context, s *Schema, runs []landedRun) ([]RunReport, error) {
	start := time.Now()
	now := t.o.Now().UTC()
	rrs := make([]RunReport, len(runs))
	drifts := make([]driftSet, len(runs))
	if err := createStage(ctx, t.w.conn, s); err != nil {
		return nil, err
	}
	if err := createQuarStage(ctx, t.w.conn); err != nil {
		return nil, err
	}
	for i, p := range runs {
		rr := &rrs[i]
		*rr = RunReport{RunID: p.run.ID, Stream: s.Stream, Kind: p.run.Kind}
		drifts[i] = driftSet{}
		st := newStager(s, t.w, t.w.conn, t.o.Workers, t.o.BatchSize, t.o.mode)
		st.afterBatch = t.o.afterBatch
		qw := &quarantineWriter{conn: t.w.conn, stream: s.Stream, runID: p.run.ID, now: now}
		base := int64(i) << seqShift
		feed := func(emit func(rawRec) error) error {
			seq := base
			_, err := landing.Records(ctx, p.dir, func(r landing.Record) error {
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
			drifts[i].merge(b.drift)
			return qw.write(b.quar)
		}
		err := st.stage(ctx, feed, sink)
		if cerr := qw.close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", p.run.ID, err)
		}
	}
	reports := make([]string, len(runs))
	err := t.w.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO rawland.quarantine SELECT * FROM temp.main."+quarTbl); err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
		br := make([]batchRun, len(runs))
		for i, p := range runs {
			br[i] = batchRun{id: p.run.ID, landedAt: landedAt(p.run)}
		}
		mcs, err := mergeBatch(ctx, tx, s, br)
		if err != nil {
			return err
		}
		for i, p := range runs {
			rr, mc := &rrs[i], mcs[i]
			rr.Inserted, rr.Updated, rr.Unchanged, rr.Stale, rr.Duplicates, rr.Undeleted = mc.inserted, mc.updated, mc.unchanged, mc.stale, mc.duplicates, mc.undeleted
			rr.Drift = drifts[i].list()
			if err := writeDrift(ctx, tx, s.Stream, p.run.ID, landedAt(p.run), rr.Drift); err != nil {
				return err
			}
			report, err := json.Marshal(rr)
			if err != nil {
				return err
			}
			reports[i] = string(report)
			if _, err := tx.ExecContext(ctx, `INSERT INTO rawland.transformed (stream, run_id, kind, landed_at, transformed_at, report)
			VALUES (?, ?, ?, ?, ?, ?)`, s.Stream, p.run.ID, string(p.run.Kind), landedAt(p.run), now, reports[i]); err != nil {
				return fmt.Errorf("mark run %s transformed in the warehouse: %w", p.run.ID, err)
			}
		}
		return dropTemp(ctx, tx, stageTbl, mergeTbl, quarTbl)
	})
	if err != nil {
		return nil, err
	}
	if t.o.afterCommit != nil {
		t.o.afterCommit()
	}
	var recs int64
	for i, p := range runs {
		if err := t.o.Runs.Finish(ctx, p.run.ID, state.StatusTransformed, "", reports[i]); err != nil {
			return rrs[:i], fmt.Errorf("run %s is in the warehouse but marking it transformed failed (the next transform will): %w", p.run.ID, err)
		}
		recs += rrs[i].Records
	}
	t.o.Logger.Info("runs transformed in one batch", KeyStream, s.Stream, "runs", len(runs), "first", runs[0].run.ID,
		"last", runs[len(runs)-1].run.ID, KeyRecords, recs, "took", time.Since(start).Round(time.Millisecond).String())
	return rrs, nil
}
