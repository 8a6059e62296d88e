package transform

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
)

// Small runs are transformed in batches: a delta-queue stream commits a run
// of a hundred records every cycle, and one transaction per run spends its
// time on the per-run statements and commits, not on the records. Pending
// ingest runs that follow each other are loaded together, up to
// batchRecords records and batchRuns runs, in one transaction (direct.go,
// or staged and merged by merge_batch.go): the batch commits whole or not
// at all, each run still gets its own row in rawland.transformed, its own
// report, quarantine rows and drift, exactly as if the runs had been
// merged one by one.
//
// A batch holds as many records as one run appended in one transaction
// (chunkRows, direct.go): its memory is that of one such run. Each batch
// costs statements and a commit of its own, and from the second batch on
// the settle (or merge) of its keys against the table, so smaller batches
// cost time: 5,000 runs of 100 records took 7.4 s in five batches of 1,000
// runs, 5.8 s in one (one run of the 500,000 records: 5.1 s).
const (
	batchRecords = chunkRows // records (as landed) per batch of runs
	batchRuns    = 5_000     // runs per batch
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

// runSet is what the load of a batch of runs (one or more) collects for
// each run: its report, drift, quarantined records and their keys.
type runSet struct {
	t      *transformer
	s      *Schema
	runs   []landedRun
	now    time.Time
	rrs    []RunReport
	drifts []driftSet
	qw     *quarantineWriter
	qkeys  [][]any // keys of quarantined records (a single reconcile run)
}

func newRunSet(t *transformer, s *Schema, runs []landedRun) *runSet {
	rs := &runSet{t: t, s: s, runs: runs, now: t.o.Now().UTC(),
		rrs: make([]RunReport, len(runs)), drifts: make([]driftSet, len(runs))}
	rs.qw = &quarantineWriter{conn: t.w.conn, stream: s.Stream, now: rs.now}
	for i, p := range runs {
		rs.rrs[i] = RunReport{RunID: p.run.ID, Stream: s.Stream, Kind: p.run.Kind}
		rs.drifts[i] = driftSet{}
	}
	return rs
}

// batchRuns are the runs' IDs and landing times.
func (rs *runSet) batchRuns() []batchRun {
	br := make([]batchRun, len(rs.runs))
	for i, p := range rs.runs {
		br[i] = batchRun{id: p.run.ID, landedAt: landedAt(p.run)}
	}
	return br
}

// landed is how many records the runs landed.
func (rs *runSet) landed() int64 {
	var n int64
	for _, p := range rs.runs {
		n += p.run.Records
	}
	return n
}

// feed emits every record of every run, in order; a record's run is its
// _rawland_seq >> seqShift, so that small runs share Arrow batches.
func (rs *runSet) feed(ctx context.Context) func(emit func(rawRec) error) error {
	return func(emit func(rawRec) error) error {
		for i, p := range rs.runs {
			seq := int64(i) << seqShift
			_, err := rs.t.o.Zone.Records(ctx, rs.s.Stream, p.run.ID, func(r landing.Record) error {
				seq++
				return emit(rawRec{file: r.File, line: r.Line, seq: seq, data: r.Data})
			})
			if err != nil {
				return fmt.Errorf("run %s: %w", p.run.ID, err)
			}
		}
		return nil
	}
}

// sink takes a checked batch: counts, drift and quarantine, per run.
func (rs *runSet) sink(b *batchOut) error {
	s := rs.s
	if rs.t.o.Progress != nil {
		rs.t.o.Progress(s.Stream, b.n)
	}
	first, last := int64(math.MaxInt64), int64(-1)
	count := func(seq int64) {
		i := seq >> seqShift
		first, last = min(first, i), max(last, i)
		rs.rrs[i].Records++
	}
	for _, r := range b.valid {
		count(r.seq)
	}
	for _, q := range b.quar {
		count(q.seq)
	}
	if len(b.drift) > 0 {
		if first == last {
			rs.drifts[first].merge(b.drift)
		} else {
			// the batch spans runs: see again which record showed what
			recs := make([]rawRec, 0, b.n)
			recs = append(recs, b.valid...)
			for _, q := range b.quar {
				recs = append(recs, q.rawRec)
			}
			slices.SortFunc(recs, func(a, b rawRec) int { return cmp.Compare(a.seq, b.seq) })
			var c converter
			for _, r := range recs {
				rs.drifts[r.seq>>seqShift].add(s.check(r.data, &c).drift)
			}
		}
	}
	for j := 0; j < len(b.quar); {
		i := b.quar[j].seq >> seqShift
		k := j + 1
		for k < len(b.quar) && b.quar[k].seq>>seqShift == i {
			k++
		}
		rs.rrs[i].Quarantined += int64(k - j)
		if rs.runs[i].run.Kind == state.KindReconcile {
			for _, q := range b.quar[j:k] {
				if !hasNil(q.keys) {
					rs.qkeys = append(rs.qkeys, q.keys)
				}
			}
		}
		rs.qw.runID = rs.runs[i].run.ID
		if err := rs.qw.write(b.quar[j:k]); err != nil {
			return err
		}
		j = k
	}
	return nil
}

// mark records the merge counts and drift of every run and marks the runs
// transformed in the warehouse, in the batch's transaction; it returns the
// runs' reports as JSON.
func (rs *runSet) mark(ctx context.Context, tx *sql.Tx, mcs []mergeCounts) ([]string, error) {
	reports := make([]string, len(rs.runs))
	// one Arrow batch (one statement, no SQL text per run) marks every run
	// of the batch transformed
	str := func() *array.StringBuilder { return array.NewStringBuilder(memory.DefaultAllocator) }
	ts := func() *array.TimestampBuilder {
		return array.NewTimestampBuilder(memory.DefaultAllocator, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"})
	}
	streams, ids, kinds, landed, at, reps := str(), str(), str(), ts(), ts(), str()
	builders := []array.Builder{streams, ids, kinds, landed, at, reps}
	defer func() {
		for _, b := range builders {
			b.Release()
		}
	}()
	for i, p := range rs.runs {
		rr, mc := &rs.rrs[i], mcs[i]
		rr.Inserted, rr.Updated, rr.Unchanged, rr.Stale, rr.Duplicates, rr.Undeleted = mc.inserted, mc.updated, mc.unchanged, mc.stale, mc.duplicates, mc.undeleted
		rr.Drift = rs.drifts[i].list()
		if err := writeDrift(ctx, tx, rs.s.Stream, p.run.ID, landedAt(p.run), rr.Drift); err != nil {
			return nil, err
		}
		report, err := json.Marshal(rr)
		if err != nil {
			return nil, err
		}
		reports[i] = string(report)
		streams.Append(rs.s.Stream)
		ids.Append(p.run.ID)
		kinds.Append(string(p.run.Kind))
		landed.Append(arrow.Timestamp(landedAt(p.run).UnixMicro()))
		at.Append(arrow.Timestamp(rs.now.UnixMicro()))
		reps.Append(reports[i])
	}
	cols := make([]arrow.Array, len(builders))
	fields := make([]arrow.Field, len(builders))
	for i, name := range []string{"stream", "run_id", "kind", "landed_at", "transformed_at", "report"} {
		cols[i] = builders[i].NewArray()
		defer cols[i].Release()
		fields[i] = arrow.Field{Name: name, Type: cols[i].DataType(), Nullable: true}
	}
	rec := array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(len(rs.runs)))
	defer rec.Release()
	if err := execArrow(ctx, rs.t.w.conn, tx, rec, `INSERT INTO rawland.transformed (stream, run_id, kind, landed_at, transformed_at, report)
		SELECT stream, run_id, kind, landed_at, transformed_at, report::JSON FROM `+batchVw); err != nil {
		return nil, fmt.Errorf("mark runs transformed in the warehouse: %w", err)
	}
	return reports, nil
}

// finish marks the committed runs transformed in the state store and logs
// the batch.
func (rs *runSet) finish(ctx context.Context, reports []string, start time.Time, staged time.Duration) error {
	t, runs := rs.t, rs.runs
	if t.o.afterCommit != nil {
		t.o.afterCommit()
	}
	committed := time.Since(start)
	var recs int64
	for i := range runs {
		recs += rs.rrs[i].Records
	}
	if fm, ok := t.o.Runs.(state.FinishManyer); ok && len(runs) > 1 {
		// one state-store transaction for the whole batch, not one per run
		fins := make([]state.Finish, len(runs))
		for i, p := range runs {
			fins[i] = state.Finish{RunID: p.run.ID, Status: state.StatusTransformed, Report: reports[i]}
		}
		if err := fm.FinishMany(ctx, fins); err != nil {
			return fmt.Errorf("runs %s…%s are in the warehouse but marking them transformed failed (the next transform will): %w", runs[0].run.ID, runs[len(runs)-1].run.ID, err)
		}
	} else {
		for i, p := range runs {
			if err := t.o.Runs.Finish(ctx, p.run.ID, state.StatusTransformed, "", reports[i]); err != nil {
				rs.rrs = rs.rrs[:i]
				return fmt.Errorf("run %s is in the warehouse but marking it transformed failed (the next transform will): %w", p.run.ID, err)
			}
		}
	}
	if len(runs) == 1 {
		rr := rs.rrs[0]
		t.o.Logger.Info("run transformed", KeyStream, rs.s.Stream, KeyRunID, rr.RunID, KeyRecords, rr.Records, "inserted", rr.Inserted, "updated", rr.Updated,
			"unchanged", rr.Unchanged, "stale", rr.Stale, "duplicates", rr.Duplicates, "quarantined", rr.Quarantined,
			"drift", len(rr.Drift), "staged", staged.Round(time.Millisecond).String(), "took", time.Since(start).Round(time.Millisecond).String())
		return nil
	}
	t.o.Logger.Info("runs transformed in one batch", KeyStream, rs.s.Stream, "runs", len(runs), "first", runs[0].run.ID,
		"last", runs[len(runs)-1].run.ID, KeyRecords, recs, "staged", staged.Round(time.Millisecond).String(),
		"committed", committed.Round(time.Millisecond).String(), "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// loadRuns stages several ingest runs (in run-ID order) and merges them in
// one warehouse transaction (merge_batch.go), then marks each transformed
// in the state store.
func (t *transformer) loadRuns(ctx context.Context, s *Schema, runs []landedRun) ([]RunReport, error) {
	if t.direct() {
		rrs, err := t.loadDirect(ctx, s, runs)
		if !errors.Is(err, errDirectRefused) {
			return rrs, err
		}
		t.o.Logger.Info("loading the runs through the staging table", KeyStream, s.Stream, "why", err.Error())
	}
	start := time.Now()
	rs := newRunSet(t, s, runs)
	st, err := t.stagingStager(ctx, s)
	if err != nil {
		return nil, err
	}
	err = st.stage(ctx, rs.feed(ctx), rs.sink)
	if cerr := rs.qw.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	staged := time.Since(start)
	var reports []string
	err = t.w.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO rawland.quarantine SELECT * FROM temp.main."+quarTbl); err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
		mcs, err := mergeBatch(ctx, t.w.conn, tx, s, rs.batchRuns())
		if err != nil {
			return err
		}
		if reports, err = rs.mark(ctx, tx, mcs); err != nil {
			return err
		}
		return dropTemp(ctx, tx, stageTbl, mergeTbl, quarTbl)
	})
	if err != nil {
		return nil, err
	}
	if err := rs.finish(ctx, reports, start, staged); err != nil {
		return rs.rrs, err
	}
	return rs.rrs, nil
}
