package transform

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
)

// StreamCounts are one stream's figures for `rawland status`.
type StreamCounts struct {
	Rows        int64 `json:"rows"`        // rows in the stream's table
	Quarantined int64 `json:"quarantined"` // quarantined records waiting for a replay
	Drift       int64 `json:"drift"`       // distinct drift entries (field and kind)
}

// Counts reads per-stream row, quarantine and drift counts of the
// published snapshot: from its manifest, written at publish time, so it
// never opens a database, waits or blocks anyone. A missing warehouse gives
// an empty map; a warehouse written by an older rawland (no manifest yet) is
// opened read-only.
func Counts(ctx context.Context, warehousePath string) (map[string]StreamCounts, error) {
	out := map[string]StreamCounts{}
	if m, err := readManifest(layoutOf(warehousePath).manifest); err == nil {
		for k, v := range m.Streams {
			out[k] = v
		}
		return out, nil
	}
	if !exists(warehousePath) {
		return out, nil
	}
	wh, err := openSnapshot(ctx, warehousePath)
	if err != nil {
		return nil, err
	}
	defer wh.close()
	return countsOn(ctx, wh.conn)
}

// countsOn reads the per-stream counts of an open database.
func countsOn(ctx context.Context, conn *sql.Conn) (map[string]StreamCounts, error) {
	out := map[string]StreamCounts{}
	var tables []string
	err := scanRows(ctx, conn, `SELECT table_name FROM duckdb_columns() WHERE database_name = current_database()
		AND schema_name = 'main' AND column_name = '`+ColRunID+`'`, func(r *sql.Rows) error {
		var t string
		err := r.Scan(&t)
		tables = append(tables, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(tables)
	for _, t := range tables {
		var n int64
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+tableName(t)).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		c := out[t]
		c.Rows = n
		out[t] = c
	}
	var hasRawland bool
	if err := conn.QueryRowContext(ctx, `SELECT count(*) > 0 FROM duckdb_tables() WHERE schema_name = 'rawland' AND table_name = 'drift'`).Scan(&hasRawland); err != nil || !hasRawland {
		return out, err
	}
	for _, q := range []struct {
		sql string
		set func(*StreamCounts, int64)
	}{
		{`SELECT stream, count(*) FROM rawland.quarantine WHERE replayed_at IS NULL GROUP BY stream`, func(c *StreamCounts, n int64) { c.Quarantined = n }},
		{`SELECT stream, count(DISTINCT (path, kind)) FROM rawland.drift GROUP BY stream`, func(c *StreamCounts, n int64) { c.Drift = n }},
	} {
		err := scanRows(ctx, conn, q.sql, func(r *sql.Rows) error {
			var s string
			var n int64
			if err := r.Scan(&s, &n); err != nil {
				return err
			}
			c := out[s]
			q.set(&c, n)
			out[s] = c
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func scanRows(ctx context.Context, conn *sql.Conn, q string, fn func(*sql.Rows) error) error {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
