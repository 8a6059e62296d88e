package pgstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/rawland/rawland/state"
)

// Snapshot is a whole state to import (`rawland state migrate`): every run
// with its status, the cursors, the dead letters and the seen paths.
type Snapshot struct {
	Runs []state.Run
	// Cursors maps a stream to its committed cursor.
	Cursors map[string]string
	DLQ     []state.DLQEntry
	// SeenPaths maps a stream to its recorded response paths.
	SeenPaths map[string][]string
}

// ImportCounts says what Import wrote.
type ImportCounts struct {
	Runs, Cursors, DLQ, SeenPaths int
}

// Import writes snap into an empty store in one transaction: all of it or
// nothing. It refuses a store that already holds runs, cursors or dead
// letters (import once, before any worker uses the store). Run statuses,
// times and DLQ sequence numbers are kept as they are.
func (s *Store) Import(ctx context.Context, snap Snapshot) (ImportCounts, error) {
	var n ImportCounts
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var have int
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM runs) + (SELECT count(*) FROM cursors) + (SELECT count(*) FROM dlq)`).Scan(&have); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if have > 0 {
			return fmt.Errorf("import: schema %s already holds %d runs, cursors or dead letters: migrate into an empty schema (drop it, or name another with state.schema)", s.schema, have)
		}
		lastRun := map[string]string{} // stream → newest committed run (for cursors.run_id)
		for _, r := range snap.Runs {
			_, err := tx.Exec(ctx, `INSERT INTO runs(`+runCols+`) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
				r.ID, r.Stream, string(r.Kind), string(r.Status), r.StartedAt, ts(r.FinishedAt), r.Records, r.Bytes, r.Pages,
				r.CursorBefore, r.CursorAfter, r.Error, r.Host, r.PID, r.Complete, r.Report)
			if err != nil {
				return fmt.Errorf("import run %s: %w", r.ID, err)
			}
			if (r.Status == state.StatusCommitted || r.Status == state.StatusTransformed) && r.ID > lastRun[r.Stream] {
				lastRun[r.Stream] = r.ID
			}
			n.Runs++
		}
		for _, stream := range slices.Sorted(mapKeys(snap.Cursors)) {
			if _, err := tx.Exec(ctx, `INSERT INTO cursors(stream, value, run_id, updated_at) VALUES($1, $2, $3, $4)`,
				stream, snap.Cursors[stream], lastRun[stream], s.Now()); err != nil {
				return fmt.Errorf("import cursor of %s: %w", stream, err)
			}
			n.Cursors++
		}
		var maxSeq int64
		for _, e := range snap.DLQ {
			_, err := tx.Exec(ctx, `INSERT INTO dlq(seq, stream, run_id, record_id, url, error, status, attempts, tracking_id, created_at)
				OVERRIDING SYSTEM VALUE VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				e.Seq, e.Stream, e.RunID, e.ID, e.URL, e.Error, e.Status, e.Attempts, e.TrackingID, e.CreatedAt)
			if err != nil {
				return fmt.Errorf("import dead letter %d: %w", e.Seq, err)
			}
			maxSeq = max(maxSeq, e.Seq)
			n.DLQ++
		}
		if maxSeq > 0 {
			if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('dlq', 'seq'), $1)`, maxSeq); err != nil {
				return fmt.Errorf("import: advance the dead-letter sequence: %w", err)
			}
		}
		for _, stream := range slices.Sorted(mapKeys(snap.SeenPaths)) {
			for _, p := range snap.SeenPaths[stream] {
				if _, err := tx.Exec(ctx, `INSERT INTO seen_paths(stream, path, first_seen) VALUES($1, $2, clock_timestamp()) ON CONFLICT DO NOTHING`, stream, p); err != nil {
					return fmt.Errorf("import seen paths of %s: %w", stream, err)
				}
				n.SeenPaths++
			}
		}
		return nil
	})
	return n, err
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
