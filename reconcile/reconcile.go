package reconcile

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/rawland/rawland/state"
)

// Report is what MarkDeleted did for one reconcile run.
type Report struct {
	// Complete: the snapshot was read to its end; only then are deletions marked.
	Complete bool `json:"complete"`
	// Deleted: rows newly marked deleted (absent from the snapshot).
	Deleted int64 `json:"deleted"`
	// StillDeleted: rows already marked deleted and still absent.
	StillDeleted int64 `json:"still_deleted"`
	// SnapshotKeys: distinct keys in the snapshot.
	SnapshotKeys int64 `json:"snapshot_keys"`
	// Note explains a reconcile that marked nothing on purpose.
	Note string `json:"note,omitempty"`
}

// MarkDeleted sets _rawland_deleted_at = now on every row of table whose
// primary key is not in keysTable (the snapshot's keys), using tx only.
// A snapshot that is not complete, or is empty while the table is not
// (an upstream that answered an empty listing is far likelier broken than
// emptied), marks nothing and says why.
func MarkDeleted(ctx context.Context, tx *sql.Tx, run state.Run, table, keysTable string, pk []string, now time.Time) (Report, error) {
	rep := Report{Complete: run.Complete}
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+keysTable).Scan(&rep.SnapshotKeys); err != nil {
		return rep, fmt.Errorf("reconcile %s: count snapshot keys: %w", run.Stream, err)
	}
	if !run.Complete {
		rep.Note = "snapshot incomplete (the listing stopped early): nothing marked deleted"
		return rep, nil
	}
	var live int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE _rawland_deleted_at IS NULL").Scan(&live); err != nil {
		return rep, fmt.Errorf("reconcile %s: count rows: %w", run.Stream, err)
	}
	if rep.SnapshotKeys == 0 && live > 0 {
		rep.Note = fmt.Sprintf("the upstream listed no records while the table has %d: nothing marked deleted (check the upstream; a later complete snapshot will mark deletions)", live)
		return rep, nil
	}
	var cond []string
	for _, k := range pk {
		q := `"` + strings.ReplaceAll(k, `"`, `""`) + `"`
		cond = append(cond, "k."+q+" = t."+q)
	}
	absent := "NOT EXISTS (SELECT 1 FROM " + keysTable + " k WHERE " + strings.Join(cond, " AND ") + ")"
	res, err := tx.ExecContext(ctx, "UPDATE "+table+" AS t SET _rawland_deleted_at = ? WHERE t._rawland_deleted_at IS NULL AND "+absent, now.UTC())
	if err != nil {
		return rep, fmt.Errorf("reconcile %s: mark deleted: %w", run.Stream, err)
	}
	rep.Deleted, _ = res.RowsAffected()
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" AS t WHERE t._rawland_deleted_at IS NOT NULL AND t._rawland_deleted_at <> ? AND "+absent, now.UTC()).Scan(&rep.StillDeleted); err != nil {
		return rep, fmt.Errorf("reconcile %s: count deleted: %w", run.Stream, err)
	}
	return rep, nil
}

// Runs is what Due needs of the state store.
type Runs interface {
	List(ctx context.Context, f state.RunFilter) ([]state.Run, error)
}

// Due reports whether the stream's next full resync is due, and when: every
// after the last complete reconcile, or, before the first one, every after
// the stream's first run (whose initial read was itself a full listing).
func Due(ctx context.Context, runs Runs, stream string, every time.Duration, now time.Time) (bool, time.Time, error) {
	rs, err := runs.List(ctx, state.RunFilter{Stream: stream, Kind: state.KindReconcile,
		Status: []state.Status{state.StatusCommitted, state.StatusTransformed}})
	if err != nil {
		return false, time.Time{}, err
	}
	for _, r := range rs { // newest first
		if r.Complete {
			next := r.StartedAt.Add(every)
			return !now.Before(next), next, nil
		}
	}
	first, err := runs.List(ctx, state.RunFilter{Stream: stream, Oldest: true, Limit: 1,
		Status: []state.Status{state.StatusCommitted, state.StatusTransformed}})
	if err != nil {
		return false, time.Time{}, err
	}
	if len(first) == 0 {
		return true, now, nil
	}
	next := first[0].StartedAt.Add(every)
	return !now.Before(next), next, nil
}
