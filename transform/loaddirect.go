package transform

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rawland/rawland/state"
)

// direct reports whether runs are loaded by the direct path (direct.go).
func (t *transformer) direct() bool { return !t.o.staged && t.o.mode == loadArrow }

// loadDirect transforms runs (one run, or a batch of ingest runs in run-ID
// order) by the direct path in one warehouse transaction, then marks them
// transformed in the state store. When DuckDB refuses a batch it commits
// nothing and returns an error wrapping errDirectRefused (errNotDirect
// when the table holds rows of these runs already): the caller then loads
// the runs through the staging path.
//
// The load runs under DuckDB's lower memory limit (warehouse.loadLimit,
// half of transform.memory_limit): appending needs a block per open column
// segment, and the rest of a higher limit would only keep the table's
// written blocks cached, which at 10M rows was 60 MiB of the transform's
// resident memory. Should DuckDB run out of memory under the lower limit
// (a very wide table), the load is rolled back and done again under the
// whole limit.
func (t *transformer) loadDirect(ctx context.Context, s *Schema, runs []landedRun) ([]RunReport, error) {
	limit := t.w.loadLimit
	if t.o.loadLimit > 0 {
		limit = t.o.loadLimit
	}
	if err := t.w.useMemory(ctx, limit); err != nil {
		return nil, err
	}
	rrs, err := t.loadDirectOnce(ctx, s, runs)
	if err != nil && outOfMemory(err) && t.w.memNow < t.w.memLimit && t.dirty == nil && ctx.Err() == nil {
		t.o.Logger.Info("loading again under the whole memory limit", KeyStream, s.Stream,
			"load_limit_mib", t.w.memNow>>20, "memory_limit_mib", t.w.memLimit>>20, "why", err.Error())
		if err := t.w.useMemory(ctx, t.w.memLimit); err != nil {
			return nil, err
		}
		rrs, err = t.loadDirectOnce(ctx, s, runs)
	}
	if uerr := t.w.useMemory(ctx, t.w.memLimit); err == nil {
		err = uerr
	}
	return rrs, err
}

// loadDirectOnce is loadDirect under the memory limit set now.
func (t *transformer) loadDirectOnce(ctx context.Context, s *Schema, runs []landedRun) ([]RunReport, error) {
	start := time.Now()
	rs := newRunSet(t, s, runs)
	tx, err := t.w.conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return nil, fmt.Errorf("begin warehouse transaction: %w", err)
	}
	maxKeys := int64(maxFilterKeys)
	if t.o.filterKeys > 0 {
		maxKeys = t.o.filterKeys
	}
	d := newDirectLoad(t.w.conn, tx, s, rs.batchRuns(), rs.landed(), maxKeys)
	defer d.close()
	if t.o.chunkRows > 0 {
		d.chunk = t.o.chunkRows
	}
	d.committed = t.w.appended
	d.fault = t.o.rotateFault
	if t.o.holdRows > 0 {
		d.candHold, rs.qw.hold = t.o.holdRows, t.o.holdRows
	}
	// a panic rolls back too (as in inTx); committed chunks keep their
	// marker and are removed when the warehouse is next opened
	done := false
	defer func() {
		if !done {
			d.abort() // the streamed INSERT holds the connection
			d.tx.Rollback()
		}
	}()
	reports, staged, err := t.loadDirectTx(ctx, s, rs, d)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		if err = d.tx.Commit(); err != nil {
			err = fmt.Errorf("commit warehouse transaction: %w", err)
		} else {
			t.w.appended(d.pending)
		}
	}
	done = true
	if err != nil {
		if rerr := d.tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			err = errors.Join(err, fmt.Errorf("roll back: %w", rerr))
		}
		if d.rotated > 0 {
			// chunks of the run were committed: remove them now, so that
			// what the other streams did can be published without them
			cerr := t.w.inTx(context.WithoutCancel(ctx), func(tx *sql.Tx) error { return dropLeftovers(ctx, tx, t.o.Logger) })
			if cerr != nil {
				t.dirty = fmt.Errorf("rows of an unfinished load of stream %s could not be removed (the next transform removes them): %w", s.Stream, cerr)
				err = errors.Join(err, t.dirty)
			}
		}
		return nil, err
	}
	if err := rs.finish(ctx, reports, start, staged); err != nil {
		return rs.rrs, err
	}
	return rs.rrs, nil
}

// loadDirectTx appends the runs' valid rows, settles them and marks the
// runs transformed; the caller commits d.tx.
func (t *transformer) loadDirectTx(ctx context.Context, s *Schema, rs *runSet, d *directLoad) ([]string, time.Duration, error) {
	start := time.Now()
	runs := rs.runs
	tbl := tableName(s.Stream)
	br := rs.batchRuns()
	ids := make([]string, len(br))
	for i, r := range br {
		ids[i] = quoteString(r.id)
	}
	mine := fmt.Sprintf("%s IN (%s)", ColRunID, strings.Join(ids, ", "))
	var before int64
	if err := d.tx.QueryRowContext(ctx, "SELECT count(*) FROM "+tbl).Scan(&before); err != nil {
		return nil, 0, fmt.Errorf("count the table's rows: %w", err)
	}
	if err := createQuarStage(ctx, d.tx); err != nil {
		return nil, 0, err
	}
	if err := createKeyCand(ctx, d.tx, s); err != nil {
		return nil, 0, err
	}
	if err := createBatchRuns(ctx, t.w.conn, d.tx, br); err != nil {
		return nil, 0, err
	}
	st := newStager(s, t.w, d.tx, t.o.Workers, t.o.BatchSize, t.o.mode)
	st.nice = t.o.Config.Transform.WorkerNice
	st.mem = t.o.batchAlloc()
	st.afterBatch = t.o.afterBatch
	if t.o.batchBytes > 0 {
		st.maxBytes = t.o.batchBytes
	}
	st.direct = d
	rs.qw.busy = func() error { return d.pause(ctx) }
	err := st.stage(ctx, rs.feed(ctx), rs.sink)
	if err == nil {
		err = d.pause(ctx)
	}
	d.abort() // a no-op after pause; else it fails the streamed INSERT
	if cerr := rs.qw.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, 0, err
	}
	staged := time.Since(start)
	tx := d.tx
	// without a key filter (a load of more than maxFilterKeys records)
	// nothing is known: the settle looks for repeated keys itself
	distinct := d.cands == 0 && d.keys != nil
	if !distinct && d.keys != nil {
		// the Bloom filter's candidates: does any key really repeat?
		var on []string
		for _, k := range pkCols(s) {
			on = append(on, "n."+k+" = c."+k)
		}
		var repeats int64
		q := fmt.Sprintf(`SELECT count(*) FROM (SELECT %s FROM %s c JOIN %s n ON %s WHERE n.%s
GROUP BY ALL HAVING count(*) > 1)`, prefixed("c.", pkCols(s)), keyCandTbl, tbl, strings.Join(on, " AND "), mine)
		if err := tx.QueryRowContext(ctx, q).Scan(&repeats); err != nil {
			return nil, 0, fmt.Errorf("check repeated keys: %w", err)
		}
		distinct = repeats == 0
	}
	kind := runs[0].run.Kind
	hook := len(runs) == 1 && kind == state.KindReconcile && t.o.AfterRun != nil
	if hook {
		if err := snapshotKeys(ctx, t.w, tx, s, rs.qkeys, tbl+" WHERE "+mine); err != nil {
			return nil, 0, err
		}
	}
	mcs, err := settle(ctx, tx, s, br, kind, d.appended, before == 0, distinct)
	if err != nil {
		return nil, 0, err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO rawland.quarantine SELECT * FROM temp.main."+quarTbl); err != nil {
		return nil, 0, fmt.Errorf("quarantine: %w", err)
	}
	if hook {
		out, err := t.o.AfterRun(ctx, tx, runs[0].run, tbl)
		if err != nil {
			return nil, 0, fmt.Errorf("reconcile hook: %w", err)
		}
		if len(out) > 0 && json.Valid(out) {
			rs.rrs[0].Reconcile = out
		}
	}
	reports, err := rs.mark(ctx, tx, mcs)
	if err != nil {
		return nil, 0, err
	}
	if d.rotated > 0 {
		if _, err := tx.ExecContext(ctx, "DELETE FROM rawland.meta WHERE key = ?", loadingKey(s.Stream)); err != nil {
			return nil, 0, fmt.Errorf("remove loading marker: %w", err)
		}
	}
	return reports, staged, dropTemp(ctx, tx, quarTbl, keyCandTbl, SnapshotKeysTable, batchRunsTbl)
}

// prefixed joins names, each with prefix.
func prefixed(prefix string, names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return strings.Join(out, ", ")
}
