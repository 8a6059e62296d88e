package transform

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/rawland/rawland/state"
)

// Merge rule (one row per primary key), applied per run after its valid
// records are staged:
//
//   - Inside the run, duplicates of a key collapse to the newest version:
//     the highest cursor field, then the last landed.
//   - A key not in the table is inserted.
//   - A version whose content (hash) equals the stored row's is unchanged
//     (the stored row keeps its lineage), unless the row is marked deleted.
//   - ingest runs: the version replaces the stored row only if its cursor
//     is newer, or equal and its run is later (a version without a cursor
//     never replaces one with a cursor). Otherwise it is stale and skipped:
//     a retried, re-delivered or out-of-order older version never
//     overwrites a newer one.
//   - reconcile runs (full snapshots of the upstream's truth): the version
//     replaces the stored row when its run is later, even if its cursor is
//     older (backdated updates); replacing clears _rawland_deleted_at.
//
// Runs are merged in run-ID order, so "later run" is "landed later".
//
// A quarantine replay merges records of old runs after newer runs were
// merged. If a complete reconcile snapshot (the barrier) is newer than the
// replayed run, the snapshot is the upstream's truth for everything before
// it: a replayed version whose key the table lacks or has marked deleted is
// stale (the key was gone upstream at the snapshot; had the snapshot
// listed it, the snapshot's own version would be in the table or be
// replayed after this one).

// mergeCounts says what the merge did.
type mergeCounts struct {
	inserted, updated, unchanged, stale, duplicates int64
	undeleted                                       int64 // updates of rows marked deleted
}

const mergeTbl = "_rawland_merge"

// merge merges the staging table into the stream's table as run did.
func merge(ctx context.Context, tx *sql.Tx, s *Schema, runID string, kind state.Kind, landedAt time.Time, barrier string) (mergeCounts, error) {
	var mc mergeCounts
	pk := s.PrimaryKey()
	var pkList, join []string
	for _, k := range pk {
		q := quoteIdent(k)
		pkList = append(pkList, q)
		join = append(join, "s."+q+" = t."+q)
	}
	run := quoteString(runID)
	replace := fmt.Sprintf(`(s.%[1]s > t.%[1]s OR (t.%[1]s IS NULL AND s.%[1]s IS NOT NULL)
	        OR (s.%[1]s IS NOT DISTINCT FROM t.%[1]s AND %[2]s > t.%[3]s))`, ColCursor, run, ColRunID)
	if kind == state.KindReconcile {
		replace = fmt.Sprintf("%s > t.%s", run, ColRunID)
	}
	gone := "FALSE"
	if barrier != "" && runID < barrier {
		gone = fmt.Sprintf("(t.%s IS NULL OR t.%s IS NOT NULL)", ColRunID, ColDeletedAt)
	}
	q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %[1]s AS
SELECT s.*, CASE
    WHEN %[12]s THEN 'stale'
    WHEN t.%[2]s IS NULL THEN 'insert'
    WHEN s.%[3]s = t.%[3]s AND t.%[4]s IS NULL THEN 'unchanged'
    WHEN %[5]s THEN 'update'
    ELSE 'stale' END AS _rawland_action,
  t.%[4]s IS NOT NULL AS _rawland_was_deleted
FROM (SELECT * FROM %[6]s
      QUALIFY row_number() OVER (PARTITION BY %[7]s ORDER BY %[8]s DESC NULLS LAST, %[9]s DESC) = 1) s
LEFT JOIN %[10]s t ON %[11]s`,
		mergeTbl, ColRunID, ColHash, ColDeletedAt, replace, stageTbl, strings.Join(pkList, ", "),
		ColCursor, colSeq, tableName(s.Stream), strings.Join(join, " AND "), gone)
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return mc, fmt.Errorf("merge: classify: %w", err)
	}
	var staged int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+stageTbl).Scan(&staged); err != nil {
		return mc, fmt.Errorf("merge: count staged: %w", err)
	}
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+mergeTbl+" WHERE _rawland_action = 'update' AND _rawland_was_deleted").Scan(&mc.undeleted); err != nil {
		return mc, fmt.Errorf("merge: count undeleted: %w", err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT _rawland_action, count(*) FROM "+mergeTbl+" GROUP BY ALL")
	if err != nil {
		return mc, fmt.Errorf("merge: count: %w", err)
	}
	var kept int64
	for rows.Next() {
		var action string
		var n int64
		if err := rows.Scan(&action, &n); err != nil {
			rows.Close()
			return mc, err
		}
		kept += n
		switch action {
		case "insert":
			mc.inserted = n
		case "update":
			mc.updated = n
		case "unchanged":
			mc.unchanged = n
		case "stale":
			mc.stale = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return mc, err
	}
	mc.duplicates = staged - kept

	if mc.updated > 0 {
		var on []string
		for _, k := range pkList {
			on = append(on, "t."+k+" = m."+k)
		}
		q := fmt.Sprintf("DELETE FROM %s AS t USING %s AS m WHERE m._rawland_action = 'update' AND %s",
			tableName(s.Stream), mergeTbl, strings.Join(on, " AND "))
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return mc, fmt.Errorf("merge: remove replaced rows: %w", err)
		}
	}
	if mc.inserted+mc.updated > 0 {
		var cols []string
		for _, f := range s.root.fields {
			cols = append(cols, quoteIdent(f.name))
		}
		cols = append(cols, ColExtra, ColCursor, ColHash)
		q := fmt.Sprintf(`INSERT INTO %s (%s, %s, %s, %s)
SELECT %s, %s, TIMESTAMPTZ %s, NULL FROM %s WHERE _rawland_action IN ('insert', 'update')`,
			tableName(s.Stream), strings.Join(cols, ", "), ColRunID, ColLandedAt, ColDeletedAt,
			strings.Join(cols, ", "), run, quoteString(landedAt.UTC().Format("2006-01-02 15:04:05.999999Z07:00")), mergeTbl)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return mc, fmt.Errorf("merge: write rows: %w", err)
		}
	}
	return mc, nil
}
