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

// errNotDirect says the table already holds rows of the runs to load, so
// the direct path could not tell the new rows from the old ones.
var errNotDirect = errors.New("the table already holds rows of these runs")

// direct reports whether runs are loaded by the direct path (direct.go).
func (t *transformer) direct() bool { return !t.o.staged && t.o.mode == loadArrow }

// loadDirect transforms runs (one run, or a batch of ingest runs in run-ID
// order) by the direct path in one warehouse transaction, then marks them
// transformed in the state store. When DuckDB refuses a batch it commits
// nothing and returns an error wrapping errDirectRefused (errNotDirect
// when the table holds rows of these runs already): the caller then loads
// the runs through the staging path.
func (t *transformer) loadDirect(ctx context.Context, s *Schema, runs []landedRun) ([]RunReport, error) {
	start := time.Now()
	rs := newRunSet(t, s, runs)
	tbl := tableName(s.Stream)
	br := rs.batchRuns()
	ids := make([]string, len(br))
	for i, r := range br {
		ids[i] = quoteString(r.id)
	}
	mine := fmt.Sprintf("%s IN (%s)", ColRunID, strings.Join(ids, ", "))
	var reports []string
	var staged time.Duration
	err := t.w.inTx(ctx, func(tx *sql.Tx) error {
		var before, theirs int64
		if err := tx.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*), count(*) FILTER (WHERE %s) FROM %s", mine, tbl)).Scan(&before, &theirs); err != nil {
			return fmt.Errorf("count the table's rows: %w", err)
		}
		if theirs > 0 {
			return errNotDirect
		}
		if err := createQuarStage(ctx, tx); err != nil {
			return err
		}
		if err := createKeyCand(ctx, tx, s); err != nil {
			return err
		}
		st := newStager(s, t.w, tx, t.o.Workers, t.o.BatchSize, t.o.mode)
		st.afterBatch = t.o.afterBatch
		st.direct = newDirectLoad(tx, s, br, rs.landed())
		err := st.stage(ctx, rs.feed(ctx), rs.sink)
		if cerr := rs.qw.close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		staged = time.Since(start)
		distinct := st.direct.cands == 0
		if !distinct {
			// the Bloom filter's candidates: does any key really repeat?
			var on []string
			for _, k := range pkCols(s) {
				on = append(on, "n."+k+" = c."+k)
			}
			var repeats int64
			q := fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM %s n SEMI JOIN %s c ON %s WHERE n.%s
GROUP BY ALL HAVING count(*) > 1)`, tbl, keyCandTbl, strings.Join(on, " AND "), mine)
			q = strings.Replace(q, "SELECT 1 FROM", "SELECT "+prefixed("n.", pkCols(s))+" FROM", 1)
			if err := tx.QueryRowContext(ctx, q).Scan(&repeats); err != nil {
				return fmt.Errorf("check repeated keys: %w", err)
			}
			distinct = repeats == 0
		}
		kind := runs[0].run.Kind
		hook := len(runs) == 1 && kind == state.KindReconcile && t.o.AfterRun != nil
		if hook {
			if err := snapshotKeys(ctx, t.w, tx, s, rs.qkeys, tbl+" WHERE "+mine); err != nil {
				return err
			}
		}
		mcs, err := settle(ctx, tx, s, br, kind, st.direct.appended, before == 0, distinct)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO rawland.quarantine SELECT * FROM temp.main."+quarTbl); err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
		if hook {
			out, err := t.o.AfterRun(ctx, tx, runs[0].run, tbl)
			if err != nil {
				return fmt.Errorf("reconcile hook: %w", err)
			}
			if len(out) > 0 && json.Valid(out) {
				rs.rrs[0].Reconcile = out
			}
		}
		if reports, err = rs.mark(ctx, tx, mcs); err != nil {
			return err
		}
		return dropTemp(ctx, tx, quarTbl, keyCandTbl, SnapshotKeysTable)
	})
	if err != nil {
		return nil, err
	}
	if err := rs.finish(ctx, reports, start, staged); err != nil {
		return rs.rrs, err
	}
	return rs.rrs, nil
}

// prefixed joins names, each with prefix.
func prefixed(prefix string, names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return strings.Join(out, ", ")
}
