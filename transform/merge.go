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

// mergeSrc is what one merge pass classifies: a relation with at most one
// version per key (the staging columns), and where each version's run and
// landing time come from (a literal for one run, columns for a batch of
// runs, merge_batch.go).
type mergeSrc struct {
	from   string // the versions, one per key
	run    string // SQL over alias s: the version's run ID
	runCol string // SQL over mergeTbl's rows: the version's run ID
	landed string // SQL over mergeTbl's rows: the version's landed_at
}

// merge merges the staging table into the stream's table as run did.
func merge(ctx context.Context, tx *sql.Tx, s *Schema, runID string, kind state.Kind, landedAt time.Time, barrier string) (mergeCounts, error) {
	var mc mergeCounts
	var staged int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+stageTbl).Scan(&staged); err != nil {
		return mc, fmt.Errorf("merge: count staged: %w", err)
	}
	run := quoteString(runID)
	pk := strings.Join(pkCols(s), ", ")
	// the newest version of each key: the window sees only the key, cursor
	// and position, and the rows are joined back (a window over the whole
	// rows, nested columns and all, needs far more of DuckDB's memory)
	src := mergeSrc{
		from: fmt.Sprintf(`(SELECT v.* FROM %[1]s v SEMI JOIN (SELECT %[4]s FROM %[1]s
      QUALIFY row_number() OVER (PARTITION BY %[2]s ORDER BY %[3]s DESC NULLS LAST, %[4]s DESC) = 1) w ON v.%[4]s = w.%[4]s)`,
			stageTbl, pk, ColCursor, colSeq),
		run:    run,
		runCol: run,
		landed: "TIMESTAMPTZ " + quoteString(landedAt.UTC().Format("2006-01-02 15:04:05.999999Z07:00")),
	}
	if err := classify(ctx, tx, s, src, kind, runID, barrier); err != nil {
		return mc, err
	}
	q := "SELECT _rawland_action, count(*) FROM " + mergeTbl + " GROUP BY ALL UNION ALL SELECT 'undeleted', count(*) FROM " +
		mergeTbl + " WHERE _rawland_action = 'update' AND _rawland_was_deleted"
	rows, err := tx.QueryContext(ctx, q)
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
		if action == "undeleted" {
			mc.undeleted += n
			continue
		}
		kept += n
		mc.add(action, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return mc, err
	}
	mc.duplicates = staged - kept
	return mc, apply(ctx, tx, s, src, mc.updated > 0, mc.inserted+mc.updated > 0)
}

// add counts n versions that got action.
func (mc *mergeCounts) add(action string, n int64) {
	switch action {
	case "insert":
		mc.inserted += n
	case "update":
		mc.updated += n
	case "unchanged":
		mc.unchanged += n
	case "stale":
		mc.stale += n
	}
}

// pkCols are the stream's primary key columns, quoted.
func pkCols(s *Schema) []string {
	var out []string
	for _, k := range s.PrimaryKey() {
		out = append(out, quoteIdent(k))
	}
	return out
}

// classify fills mergeTbl with src's versions, each with the action the
// merge rule gives it against the stream's table. runID is the run whose
// versions these are, for the barrier ("" when src spans runs, which then
// needs no barrier).
func classify(ctx context.Context, tx *sql.Tx, s *Schema, src mergeSrc, kind state.Kind, runID, barrier string) error {
	var join []string
	for _, q := range pkCols(s) {
		join = append(join, "s."+q+" = t."+q)
	}
	replace := fmt.Sprintf(`(s.%[1]s > t.%[1]s OR (t.%[1]s IS NULL AND s.%[1]s IS NOT NULL)
	        OR (s.%[1]s IS NOT DISTINCT FROM t.%[1]s AND %[2]s > t.%[3]s))`, ColCursor, src.run, ColRunID)
	if kind == state.KindReconcile {
		replace = fmt.Sprintf("%s > t.%s", src.run, ColRunID)
	}
	gone := "FALSE"
	if barrier != "" && runID < barrier {
		gone = fmt.Sprintf("(t.%s IS NULL OR t.%s IS NOT NULL)", ColRunID, ColDeletedAt)
	}
	q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %[1]s AS
SELECT s.*, CASE
    WHEN %[9]s THEN 'stale'
    WHEN t.%[2]s IS NULL THEN 'insert'
    WHEN s.%[3]s = t.%[3]s AND t.%[4]s IS NULL THEN 'unchanged'
    WHEN %[5]s THEN 'update'
    ELSE 'stale' END AS _rawland_action,
  t.%[4]s IS NOT NULL AS _rawland_was_deleted
FROM %[6]s s
LEFT JOIN %[7]s t ON %[8]s`,
		mergeTbl, ColRunID, ColHash, ColDeletedAt, replace, src.from, tableName(s.Stream), strings.Join(join, " AND "), gone)
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("merge: classify: %w", err)
	}
	return nil
}

// apply writes mergeTbl's classified versions into the stream's table:
// updated rows are removed first, then inserts and updates are written.
func apply(ctx context.Context, tx *sql.Tx, s *Schema, src mergeSrc, updates, writes bool) error {
	pkList := pkCols(s)
	if updates {
		var on []string
		for _, k := range pkList {
			on = append(on, "t."+k+" = m."+k)
		}
		q := fmt.Sprintf("DELETE FROM %s AS t USING %s AS m WHERE m._rawland_action = 'update' AND %s",
			tableName(s.Stream), mergeTbl, strings.Join(on, " AND "))
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("merge: remove replaced rows: %w", err)
		}
	}
	if writes {
		var cols []string
		for _, f := range s.root.fields {
			cols = append(cols, quoteIdent(f.name))
		}
		cols = append(cols, ColExtra, ColCursor, ColHash)
		q := fmt.Sprintf(`INSERT INTO %s (%s, %s, %s, %s)
SELECT %s, %s, %s, NULL FROM %s WHERE _rawland_action IN ('insert', 'update')`,
			tableName(s.Stream), strings.Join(cols, ", "), ColRunID, ColLandedAt, ColDeletedAt,
			strings.Join(cols, ", "), src.runCol, src.landed, mergeTbl)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("merge: write rows: %w", err)
		}
	}
	return nil
}
