package transform

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rawland/rawland/state"
)

// refreshRuns replaces rawland.runs with the state store's run history, so
// that SQL users see every run (not only the transformed ones) with its
// counts.
func refreshRuns(ctx context.Context, w *warehouse, runs RunStore) error {
	all, err := runs.List(ctx, state.RunFilter{Oldest: true})
	if err != nil {
		return err
	}
	// unchanged history is not rewritten: a run that changed nothing
	// leaves nothing to publish
	h := sha256.New()
	for _, r := range all {
		fmt.Fprintf(h, "%q\n", []any{r.ID, r.Stream, r.Kind, r.Status, r.StartedAt.UnixNano(), r.FinishedAt.UnixNano(), r.Records, r.Bytes, r.Pages,
			r.CursorBefore, r.CursorAfter, r.Complete, r.Error, r.Host, r.Report})
	}
	sum := hex.EncodeToString(h.Sum(nil))
	return w.inTx(ctx, func(tx *sql.Tx) error {
		if v, err := metaValue(ctx, tx, metaRuns); err != nil || v == sum {
			return err
		}
		if err := setMeta(ctx, tx, metaRuns, sum); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM rawland.runs"); err != nil {
			return fmt.Errorf("refresh rawland.runs: %w", err)
		}
		if len(all) == 0 {
			return nil
		}
		app, err := newAppender(w.conn, "", "rawland", "runs")
		if err != nil {
			return err
		}
		rows := make([][]driver.Value, len(all))
		for i, r := range all {
			var rep RunReport
			var counts [6]any
			var report any
			if r.Report != "" && json.Valid([]byte(r.Report)) {
				report = r.Report
				if json.Unmarshal([]byte(r.Report), &rep) == nil && r.Status == state.StatusTransformed {
					counts = [6]any{rep.Inserted, rep.Updated, rep.Unchanged, rep.Stale, rep.Duplicates, rep.Quarantined}
				}
			}
			rows[i] = []driver.Value{r.ID, r.Stream, string(r.Kind), string(r.Status), timeOrNil(r.StartedAt), timeOrNil(r.FinishedAt),
				r.Records, r.Bytes, r.Pages, counts[0], counts[1], counts[2], counts[3], counts[4], counts[5],
				r.CursorBefore, r.CursorAfter, r.Complete, r.Error, r.Host, report}
		}
		if err := app.append(rows); err != nil {
			app.close()
			return fmt.Errorf("refresh rawland.runs: %w", err)
		}
		return app.close()
	})
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}
