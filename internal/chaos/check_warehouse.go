package chaos

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	_ "github.com/duckdb/duckdb-go/v2" // the warehouse is read with DuckDB itself

	"github.com/rawland/rawland/state"
)

// row is what the checks read of a warehouse row.
type row struct {
	Version   int64
	Deleted   bool
	UpdatedAt string // RFC 3339 UTC, "" for streams without updated_at
}

// table is one stream's rows and quarantined record versions.
type table struct {
	rows        map[int64]row
	quarantined map[version]bool
	transformed map[string]bool // run IDs in rawland.transformed
}

// CheckWarehouse checks the warehouse against the landed runs and the
// upstream's truth. Transform works on a private working database and
// publishes DATA/warehouse.duckdb as a snapshot, so both are read
// (read-only). The working database must hold every transformed run at
// every moment. The published snapshot may lag it (a publish pending after
// a kill or a full disk), so before settling it must only be consistent in
// itself: every record version of a run it lists as transformed is there;
// after settling it must hold everything.
//
// Checked at every moment: no primary key has two rows, no live upstream
// record is marked deleted, every record version of a transformed run is in
// its table at that version or a newer one, or quarantined at that version.
// After settling (settled) also: every live upstream record is in its table
// at its current version (or quarantined at it), rows gone upstream are
// marked deleted, and the warehouse and the state store agree on which runs
// are transformed.
func (c *Checker) CheckWarehouse(ctx context.Context, landed Landed, truth Truth, settled bool) error {
	published := filepath.Join(c.DataDir, "warehouse.duckdb")
	work := filepath.Join(c.DataDir, "state", "warehouse", "work.duckdb")
	haveWork := exists(work)
	if haveWork {
		if err := c.checkDB(ctx, work, "working database", landed, truth, settled, false); err != nil {
			return err
		}
	}
	if !exists(published) {
		if settled {
			c.Fig.violate(&c.Fig.Lost, "no warehouse after settling")
		}
		return nil
	}
	return c.checkDB(ctx, published, "published warehouse", landed, truth, settled, haveWork && !settled)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// checkDB checks one DuckDB file; snapshot: it may lag the state store
// (only the runs it lists as transformed are checked).
func (c *Checker) checkDB(ctx context.Context, path, what string, landed Landed, truth Truth, settled, snapshot bool) error {
	db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY")
	if err != nil {
		return fmt.Errorf("open %s: %w", what, err)
	}
	defer db.Close()
	for _, s := range c.Streams {
		tb, err := readTable(ctx, db, s, c.Fig)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		l := landed
		if snapshot && tb != nil {
			l = Landed{Transformed: map[string][]landedRec{}, TransformedRuns: map[string]map[string]bool{s: tb.transformed}}
			for _, v := range landed.Transformed[s] {
				if tb.transformed[v.RunID] {
					l.Transformed[s] = append(l.Transformed[s], v)
				}
			}
		}
		if tb == nil {
			if !snapshot && (settled || len(l.Transformed[s]) > 0) {
				c.Fig.violate(&c.Fig.Lost, "%s: %s has no table, though %d record versions were transformed", s, what, len(l.Transformed[s]))
			}
			continue
		}
		c.checkTable(s, tb, l, truth[s], settled)
	}
	return nil
}

func (c *Checker) checkTable(s string, tb *table, landed Landed, live map[int64]int64, settled bool) {
	f := c.Fig
	for id, r := range tb.rows {
		if _, ok := live[id]; ok && r.Deleted {
			f.violate(&f.WronglyDeleted, "%s: id %d is live upstream but marked deleted", s, id)
		}
	}
	for _, v := range landed.Transformed[s] {
		f.RecordsChecked++
		r, ok := tb.rows[v.ID]
		if (ok && r.Version >= v.Version) || tb.quarantined[v.version] {
			continue
		}
		// The contract's merge: the latest version by the cursor field wins.
		// A backdated version (newer, with an older updated_at) that was not
		// part of a complete snapshot is stale by design until a complete
		// reconcile repairs it; settled rounds check that repair.
		if !settled && ok && v.UpdatedAt != "" && v.UpdatedAt < r.UpdatedAt {
			continue
		}
		f.violate(&f.Unaccounted, "%s: id %d version %d (updated_at %s) was landed and transformed but is neither in the table (row: %+v) nor quarantined", s, v.ID, v.Version, v.UpdatedAt, r)
	}
	if !settled {
		return
	}
	for id, ver := range live {
		f.RecordsChecked++
		r, ok := tb.rows[id]
		switch {
		case ok && r.Version == ver && !r.Deleted:
		case tb.quarantined[version{id, ver}] && (!ok || r.Version < ver):
		case !ok:
			f.violate(&f.Lost, "%s: id %d (version %d upstream) is not in the table", s, id, ver)
		default:
			f.violate(&f.Lost, "%s: id %d is at version %d (deleted %v) in the table, %d upstream", s, id, r.Version, r.Deleted, ver)
		}
	}
	for id, r := range tb.rows {
		if _, ok := live[id]; !ok && !r.Deleted {
			f.violate(&f.Ghosts, "%s: id %d is gone upstream but not marked deleted after a complete reconcile", s, id)
		}
	}
	for id := range landed.TransformedRuns[s] {
		if !tb.transformed[id] {
			f.violate(&f.Untransformed, "%s: the state store says run %s is transformed, the warehouse does not know it", s, id)
		}
	}
	for id := range tb.transformed {
		if !landed.TransformedRuns[s][id] {
			f.violate(&f.Untransformed, "%s: the warehouse holds run %s, the state store does not say it is transformed", s, id)
		}
	}
}

// readTable reads main.<stream>, its quarantine and its transformed runs;
// nil when the table does not exist yet.
func readTable(ctx context.Context, db *sql.DB, stream string, f *Figures) (*table, error) {
	var n, hasVersion int
	err := db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE column_name = 'version')
		FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ?`, stream).Scan(&n, &hasVersion)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", stream, err)
	}
	if n == 0 {
		return nil, nil
	}
	ver, upd := "0", "''"
	if hasVersion > 0 { // every mock stream with a version has updated_at
		ver, upd = "version", `strftime(updated_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')`
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT id, %s, _rawland_deleted_at IS NOT NULL, %s FROM main.%q`, ver, upd, stream))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	tb := &table{rows: map[int64]row{}, quarantined: map[version]bool{}, transformed: map[string]bool{}}
	for rows.Next() {
		var id int64
		var r row
		if err := rows.Scan(&id, &r.Version, &r.Deleted, &r.UpdatedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		if _, dup := tb.rows[id]; dup {
			f.violate(&f.Duplicated, "%s: id %d has more than one row", stream, id)
		}
		tb.rows[id] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	if err := readStrings(ctx, db, `SELECT record FROM rawland.quarantine WHERE stream = ?`, stream, func(rec string) error {
		v, err := parseVersion([]byte(rec))
		if err != nil {
			return fmt.Errorf("quarantined record of %s: %w", stream, err)
		}
		tb.quarantined[v] = true
		return nil
	}); err != nil {
		return nil, err
	}
	err = readStrings(ctx, db, `SELECT run_id FROM rawland.transformed WHERE stream = ?`, stream, func(id string) error {
		if !state.ValidRunID(id) {
			return fmt.Errorf("rawland.transformed holds %q for %s", id, stream)
		}
		tb.transformed[id] = true
		return nil
	})
	return tb, err
}

func readStrings(ctx context.Context, db *sql.DB, q, arg string, fn func(string) error) error {
	rows, err := db.QueryContext(ctx, q, arg)
	if err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	return rows.Err()
}
