package transform

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/rawland/rawland/state"
)

// Settling a direct load (direct.go): the run's (or batch's) rows are in
// the stream's table next to the rows that were there before. The merge
// rule (merge.go) is applied on narrow columns, with the same outcome row
// for row and count for count as staging and merging:
//
//   - versions: the new rows, one per key and run (an in-run duplicate
//     loses to the newest cursor, then the last appended, i.e. landed:
//     rows are appended in landing order, so their row ids are too), each
//     numbered by run (_rawland_gen) as in merge_batch.go;
//   - live: the rows that were there before, for the versions' keys;
//   - pass g classifies every key's g-th version against its live row,
//     exactly as classify does, and the loser of each comparison (the
//     replaced live row, or the stale or unchanged version) is marked for
//     deletion; a kept version becomes the key's live row for pass g+1;
//   - one DELETE removes the losers and the in-run duplicates.
//
// distinct (no key appended twice) skips the windows; with an empty table
// before the run as well, every version is an insert and nothing is run.

// Temp tables of the settle.
const (
	liveTbl = "_rawland_live" // the rows that were there before, for the new keys
	dropTbl = "_rawland_drop" // row ids to delete
)

// settle applies the merge rule to the rows runs appended (appended[i]
// rows for runs[i]) and returns each run's counts. The caller has created
// the batch's run table (createBatchRuns); settle drops it.
func settle(ctx context.Context, tx *sql.Tx, s *Schema, runs []batchRun, kind state.Kind, appended []int64, preEmpty, distinct bool) ([]mergeCounts, error) {
	mcs := make([]mergeCounts, len(runs))
	if distinct && preEmpty {
		for i, n := range appended {
			mcs[i].inserted = n
		}
		return mcs, nil
	}
	tbl := tableName(s.Stream)
	pkl := pkCols(s)
	pk := strings.Join(pkl, ", ")
	var npk []string
	for _, k := range pkl {
		npk = append(npk, "n."+k)
	}
	on := func(a, b string) string {
		var c []string
		for _, k := range pkl {
			c = append(c, a+"."+k+" = "+b+"."+k)
		}
		return strings.Join(c, " AND ")
	}
	inner := fmt.Sprintf(`SELECT n.rowid AS _rawland_rid, %[1]s, n.%[2]s, n.%[3]s, n.%[4]s AS _rawland_run, r.ord AS _rawland_ord
FROM %[5]s n JOIN %[6]s r ON n.%[4]s = r.run_id`, strings.Join(npk, ", "), ColCursor, ColHash, ColRunID, tbl, batchRunsTbl)
	var q string
	if distinct {
		q = fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS SELECT *, 1 AS _rawland_gen FROM (%s)", versionsTbl, inner)
	} else {
		q = fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %[1]s AS
SELECT *, row_number() OVER (PARTITION BY %[2]s ORDER BY _rawland_ord) AS _rawland_gen FROM (%[3]s
QUALIFY row_number() OVER (PARTITION BY %[4]s, r.ord ORDER BY n.%[5]s DESC NULLS LAST, n.rowid DESC) = 1)`,
			versionsTbl, pk, inner, strings.Join(npk, ", "), ColCursor)
	}
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return nil, fmt.Errorf("settle: versions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+dropTbl+" (rid BIGINT)"); err != nil {
		return nil, fmt.Errorf("settle: %w", err)
	}
	var gens int64 = 1
	if !distinct {
		// in-run duplicates: appended rows that are not versions
		dq := fmt.Sprintf("SELECT _rawland_ord, count(*) FROM %s GROUP BY ALL", versionsTbl)
		kept := make([]int64, len(runs))
		if err := scanCounts(ctx, tx, dq, func(i int, _ string, n int64) { kept[i] = n }); err != nil {
			return nil, fmt.Errorf("settle: count duplicates: %w", err)
		}
		var dups int64
		for i := range runs {
			mcs[i].duplicates = appended[i] - kept[i]
			dups += mcs[i].duplicates
		}
		if dups > 0 {
			q := fmt.Sprintf(`INSERT INTO %[1]s SELECT n.rowid FROM %[2]s n JOIN %[3]s r ON n.%[4]s = r.run_id
WHERE n.rowid NOT IN (SELECT _rawland_rid FROM %[5]s)`, dropTbl, tbl, batchRunsTbl, ColRunID, versionsTbl)
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return nil, fmt.Errorf("settle: duplicates: %w", err)
			}
		}
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(_rawland_gen), 0) FROM "+versionsTbl).Scan(&gens); err != nil {
			return nil, fmt.Errorf("settle: count passes: %w", err)
		}
	}
	live := "FALSE"
	if !preEmpty {
		live = fmt.Sprintf("t.%s NOT IN (SELECT run_id FROM %s)", ColRunID, batchRunsTbl)
	}
	q = fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %[1]s AS
SELECT t.rowid AS _rawland_rid, %[2]s, t.%[3]s, t.%[4]s, t.%[5]s, t.%[6]s
FROM %[7]s t SEMI JOIN %[8]s v ON %[9]s WHERE %[10]s`,
		liveTbl, "t."+strings.Join(pkl, ", t."), ColCursor, ColHash, ColRunID, ColDeletedAt, tbl, versionsTbl, on("t", "v"), live)
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return nil, fmt.Errorf("settle: rows before the run: %w", err)
	}
	replace := fmt.Sprintf(`(v.%[1]s > l.%[1]s OR (l.%[1]s IS NULL AND v.%[1]s IS NOT NULL)
	        OR (v.%[1]s IS NOT DISTINCT FROM l.%[1]s AND v._rawland_run > l.%[2]s))`, ColCursor, ColRunID)
	if kind == state.KindReconcile {
		replace = fmt.Sprintf("v._rawland_run > l.%s", ColRunID)
	}
	var vpk []string
	for _, k := range pkl {
		vpk = append(vpk, "v."+k)
	}
	for g := int64(1); g <= gens; g++ {
		q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %[1]s AS
SELECT v._rawland_rid, v._rawland_ord, %[2]s, v.%[3]s, v.%[4]s, v._rawland_run, l._rawland_rid AS _rawland_lrid, CASE
    WHEN l.%[5]s IS NULL THEN 'insert'
    WHEN v.%[4]s = l.%[4]s AND l.%[6]s IS NULL THEN 'unchanged'
    WHEN %[7]s THEN 'update'
    ELSE 'stale' END AS _rawland_action,
  l.%[6]s IS NOT NULL AS _rawland_was_deleted
FROM %[8]s v LEFT JOIN %[9]s l ON %[10]s
WHERE v._rawland_gen = %[11]d`,
			mergeTbl, strings.Join(vpk, ", "), ColCursor, ColHash, ColRunID, ColDeletedAt, replace,
			versionsTbl, liveTbl, on("v", "l"), g)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("settle: classify: %w", err)
		}
		cq := fmt.Sprintf(`SELECT _rawland_ord, _rawland_action, count(*) FROM %[1]s GROUP BY ALL
UNION ALL SELECT _rawland_ord, 'undeleted', count(*) FROM %[1]s WHERE _rawland_action = 'update' AND _rawland_was_deleted GROUP BY ALL`, mergeTbl)
		var losers bool
		err := scanCounts(ctx, tx, cq, func(i int, action string, n int64) {
			if action == "undeleted" {
				mcs[i].undeleted += n
				return
			}
			mcs[i].add(action, n)
			losers = losers || action != "insert"
		})
		if err != nil {
			return nil, fmt.Errorf("settle: count: %w", err)
		}
		if losers {
			q := fmt.Sprintf(`INSERT INTO %s SELECT CASE WHEN _rawland_action = 'update' THEN _rawland_lrid ELSE _rawland_rid END
FROM %s WHERE _rawland_action <> 'insert'`, dropTbl, mergeTbl)
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return nil, fmt.Errorf("settle: losers: %w", err)
			}
		}
		if g < gens {
			// the kept versions are their keys' live rows for the next pass
			var mpk []string
			for _, k := range pkl {
				mpk = append(mpk, "m."+k)
			}
			q := fmt.Sprintf(`DELETE FROM %[1]s l USING %[2]s m WHERE m._rawland_action = 'update' AND %[3]s;
INSERT INTO %[1]s SELECT _rawland_rid, %[4]s, %[5]s, %[6]s, _rawland_run, NULL FROM %[2]s m WHERE _rawland_action IN ('insert', 'update')`,
				liveTbl, mergeTbl, on("l", "m"), strings.Join(mpk, ", "), ColCursor, ColHash)
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return nil, fmt.Errorf("settle: next pass: %w", err)
			}
		}
	}
	var drops int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+dropTbl).Scan(&drops); err != nil {
		return nil, fmt.Errorf("settle: %w", err)
	}
	if drops > 0 {
		q := fmt.Sprintf("DELETE FROM %s WHERE rowid IN (SELECT rid FROM %s)", tbl, dropTbl)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("settle: remove what lost: %w", err)
		}
	}
	return mcs, dropTemp(ctx, tx, batchRunsTbl, versionsTbl, liveTbl, mergeTbl, dropTbl)
}

// createBatchRuns creates the temp table of a batch's runs: ord (position
// in the batch), run_id, landed_at. The rows go in as one Arrow batch: a
// VALUES list of a thousand runs took DuckDB about 40 ms to parse and
// plan, and a batch needed it twice.
func createBatchRuns(ctx context.Context, conn *sql.Conn, tx execer, runs []batchRun) error {
	if _, err := tx.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+batchRunsTbl+" (ord BIGINT, run_id VARCHAR, landed_at TIMESTAMPTZ)"); err != nil {
		return fmt.Errorf("batch runs: %w", err)
	}
	ords := array.NewInt64Builder(memory.DefaultAllocator)
	ids := array.NewStringBuilder(memory.DefaultAllocator)
	ats := array.NewTimestampBuilder(memory.DefaultAllocator, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"})
	for i, r := range runs {
		ords.Append(int64(i))
		ids.Append(r.id)
		ats.Append(arrow.Timestamp(r.landedAt.UnixMicro()))
	}
	cols := []arrow.Array{ords.NewArray(), ids.NewArray(), ats.NewArray()}
	ords.Release()
	ids.Release()
	ats.Release()
	fields := make([]arrow.Field, len(cols))
	for i, name := range []string{"ord", "run_id", "landed_at"} {
		defer cols[i].Release()
		fields[i] = arrow.Field{Name: name, Type: cols[i].DataType()}
	}
	rec := array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(len(runs)))
	defer rec.Release()
	if err := execArrow(ctx, conn, tx, rec, "INSERT INTO "+batchRunsTbl+" SELECT ord, run_id, landed_at FROM "+batchVw); err != nil {
		return fmt.Errorf("batch runs: %w", err)
	}
	return nil
}
