package transform

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/rawland/rawland/state"
)

// A batch of small ingest runs (loadbatch.go) is staged into one staging
// table and merged in one transaction with the same outcome, row for row
// and count for count, as merging the runs one after another:
//
//   - a staged record's _rawland_seq is its run's position in the batch
//     times 2^32 plus its position in the run, so ordering by it orders by
//     run, then by landing order;
//   - duplicates of a key inside one run collapse as in merge (newest
//     cursor, then last landed);
//   - each key's remaining versions (one per run) are numbered in run
//     order (_rawland_gen), and pass g merges every key's g-th version
//     against the table as merge does. Keys that change in one run of the
//     batch, the common case, take one pass over the table for the whole
//     batch; a key changed in k runs needs k passes.

// Temp tables of a batch merge.
const (
	batchRunsTbl = "_rawland_batch_runs" // ord, run_id, landed_at
	versionsTbl  = "_rawland_versions"   // the staged versions, one per key and run
)

// seqShift places a run's position in the batch above its records'
// positions in _rawland_seq.
const seqShift = 32

// batchRun is one run of a batch: its ID and landing time.
type batchRun struct {
	id       string
	landedAt time.Time
}

// mergeBatch merges the staging table, which holds the versions of runs
// (in run-ID order), into the stream's table; it returns each run's counts.
func mergeBatch(ctx context.Context, conn *sql.Conn, tx *sql.Tx, s *Schema, runs []batchRun) ([]mergeCounts, error) {
	mcs := make([]mergeCounts, len(runs))
	if err := createBatchRuns(ctx, conn, tx, runs); err != nil {
		return nil, err
	}
	pk := strings.Join(pkCols(s), ", ")
	ord := fmt.Sprintf("(%s >> %d)", colSeq, seqShift)
	q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %[2]s AS
SELECT v.*, r.run_id AS _rawland_run, r.landed_at AS _rawland_landed, w._rawland_gen
FROM %[5]s v
JOIN (SELECT %[4]s AS _rawland_wseq, row_number() OVER (PARTITION BY %[3]s ORDER BY %[4]s) AS _rawland_gen
      FROM (SELECT %[3]s, %[4]s FROM %[5]s
            QUALIFY row_number() OVER (PARTITION BY %[3]s, %[6]s ORDER BY %[7]s DESC NULLS LAST, %[4]s DESC) = 1)) w
  ON v.%[4]s = w._rawland_wseq
JOIN %[1]s r ON r.ord = (v.%[4]s >> %[8]d)`,
		batchRunsTbl, versionsTbl, pk, colSeq, stageTbl, ord, ColCursor, seqShift)
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return nil, fmt.Errorf("merge: versions: %w", err)
	}
	// duplicates: staged minus kept versions, per run
	dq := fmt.Sprintf(`SELECT ord, count(*) FROM (SELECT %[1]s AS ord FROM %[2]s) GROUP BY ord
UNION ALL SELECT %[1]s, -count(*) FROM %[3]s GROUP BY ALL`, ord, stageTbl, versionsTbl)
	if err := scanCounts(ctx, tx, dq, func(i int, _ string, n int64) { mcs[i].duplicates += n }); err != nil {
		return nil, fmt.Errorf("merge: count duplicates: %w", err)
	}
	var gens int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(_rawland_gen), 0) FROM "+versionsTbl).Scan(&gens); err != nil {
		return nil, fmt.Errorf("merge: count passes: %w", err)
	}
	src := mergeSrc{run: "s._rawland_run", runCol: "_rawland_run", landed: "_rawland_landed"}
	for g := int64(1); g <= gens; g++ {
		src.from = fmt.Sprintf("(SELECT * FROM %s WHERE _rawland_gen = %d)", versionsTbl, g)
		if err := classify(ctx, tx, s, src, state.KindIngest, "", ""); err != nil {
			return nil, err
		}
		var updates, writes bool
		cq := fmt.Sprintf(`SELECT %s AS ord, _rawland_action, count(*) FROM %s GROUP BY ALL
UNION ALL SELECT %s, 'undeleted', count(*) FROM %s WHERE _rawland_action = 'update' AND _rawland_was_deleted GROUP BY ALL`,
			ord, mergeTbl, ord, mergeTbl)
		err := scanCounts(ctx, tx, cq, func(i int, action string, n int64) {
			if action == "undeleted" {
				mcs[i].undeleted += n
				return
			}
			mcs[i].add(action, n)
			updates = updates || action == "update"
			writes = writes || action == "update" || action == "insert"
		})
		if err != nil {
			return nil, fmt.Errorf("merge: count: %w", err)
		}
		if err := apply(ctx, tx, s, src, updates, writes); err != nil {
			return nil, err
		}
	}
	return mcs, dropTemp(ctx, tx, batchRunsTbl, versionsTbl)
}

// scanCounts runs q, whose rows are (run position, label, count) or (run
// position, count), and hands each row to fn.
func scanCounts(ctx context.Context, tx *sql.Tx, q string, fn func(i int, label string, n int64)) error {
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	for rows.Next() {
		var i, n int64
		var label string
		if len(cols) == 3 {
			err = rows.Scan(&i, &label, &n)
		} else {
			err = rows.Scan(&i, &n)
		}
		if err != nil {
			return err
		}
		fn(int(i), label, n)
	}
	return rows.Err()
}
