package transform

import (
	"context"
	"database/sql"
	"database/sql/driver"
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
	return w.inTx(ctx, func(tx *sql.Tx) error {
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
