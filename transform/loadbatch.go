package transform

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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
		rrs[i] = RunReport{RunID: p.run.ID, Stream: s.Stream, Kind: p.run.Kind}
		drifts[i] = driftSet{}
	}
	// One feed for every run of the batch, so that small runs share Arrow
	// batches; a record's run is its _rawland_seq >> seqShift.
	st := newStager(s, t.w, t.w.conn, t.o.Workers, t.o.BatchSize, t.o.mode)
	st.afterBatch = t.o.afterBatch
	qw := &quarantineWriter{conn: t.w.conn, stream: s.Stream, now: now}
	feed := func(emit func(rawRec) error) error {
		for i, p := range runs {
			seq := int64(i) << seqShift
			_, err := t.o.Zone.Records(ctx, s.Stream, p.run.ID, func(r landing.Record) error {
				seq++
				return emit(rawRec{file: r.File, line: r.Line, seq: seq, data: r.Data})
			})
			if err != nil {
				return fmt.Errorf("run %s: %w", p.run.ID, err)
			}
		}
		return nil
	}
	sink := func(b *batchOut) error {
		if t.o.Progress != nil {
			t.o.Progress(s.Stream, b.n)
		}
		recs := make([]rawRec, 0, b.n)
		recs = append(recs, b.valid...)
		for _, q := range b.quar {
			recs = append(recs, q.rawRec)
		}
		first, last := recs[0].seq>>seqShift, recs[0].seq>>seqShift
		for _, r := range recs {
			i := r.seq >> seqShift
			first, last = min(first, i), max(last, i)
			rrs[i].Records++
		}
		if len(b.drift) > 0 {
			if first == last {
				drifts[first].merge(b.drift)
			} else {
				// the batch spans runs: see again which record showed what
				slices.SortFunc(recs, func(a, b rawRec) int { return cmp.Compare(a.seq, b.seq) })
				var c converter
				for _, r := range recs {
					drifts[r.seq>>seqShift].add(s.check(r.data, &c).drift)
				}
			}
		}
		for j := 0; j < len(b.quar); {
			i := b.quar[j].seq >> seqShift
			k := j + 1
			for k < len(b.quar) && b.quar[k].seq>>seqShift == i {
				k++
			}
			rrs[i].Quarantined += int64(k - j)
			qw.runID = runs[i].run.ID
			if err := qw.write(b.quar[j:k]); err != nil {
				return err
			}
			j = k
		}
		return nil
	}
	err := st.stage(ctx, feed, sink)
	if cerr := qw.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	staged := time.Since(start)
	reports := make([]string, len(runs))
	err = t.w.inTx(ctx, func(tx *sql.Tx) error {
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
		// one statement marks every run of the batch transformed
		marks := make([]string, len(runs))
		args := make([]any, 0, 6*len(runs))
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
			marks[i] = "(?, ?, ?, ?, ?, ?)"
			args = append(args, s.Stream, p.run.ID, string(p.run.Kind), landedAt(p.run), now, reports[i])
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO rawland.transformed (stream, run_id, kind, landed_at, transformed_at, report)
			VALUES `+strings.Join(marks, ", "), args...); err != nil {
			return fmt.Errorf("mark runs transformed in the warehouse: %w", err)
		}
		return dropTemp(ctx, tx, stageTbl, mergeTbl, quarTbl)
	})
	if err != nil {
		return nil, err
	}
	if t.o.afterCommit != nil {
		t.o.afterCommit()
	}
	committed := time.Since(start)
	var recs int64
	for i := range runs {
		recs += rrs[i].Records
	}
	if fm, ok := t.o.Runs.(state.FinishManyer); ok {
		// one state-store transaction for the whole batch, not one per run
		fins := make([]state.Finish, len(runs))
		for i, p := range runs {
			fins[i] = state.Finish{RunID: p.run.ID, Status: state.StatusTransformed, Report: reports[i]}
		}
		if err := fm.FinishMany(ctx, fins); err != nil {
			return nil, fmt.Errorf("runs %s…%s are in the warehouse but marking them transformed failed (the next transform will): %w", runs[0].run.ID, runs[len(runs)-1].run.ID, err)
		}
	} else {
		for i, p := range runs {
			if err := t.o.Runs.Finish(ctx, p.run.ID, state.StatusTransformed, "", reports[i]); err != nil {
				return rrs[:i], fmt.Errorf("run %s is in the warehouse but marking it transformed failed (the next transform will): %w", p.run.ID, err)
			}
		}
	}
	t.o.Logger.Info("runs transformed in one batch", KeyStream, s.Stream, "runs", len(runs), "first", runs[0].run.ID,
		"last", runs[len(runs)-1].run.ID, KeyRecords, recs, "staged", staged.Round(time.Millisecond).String(),
		"committed", committed.Round(time.Millisecond).String(), "took", time.Since(start).Round(time.Millisecond).String())
	return rrs, nil
}
