package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/rawland/rawland/state"
)

// The seen_paths table is created by Open's schema (CREATE TABLE IF NOT
// EXISTS), so a state database written before it existed gains it on the
// next open and starts with no paths recorded.

// SeenPaths implements state.Paths.
func (s *Store) SeenPaths(ctx context.Context, stream string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT path FROM seen_paths WHERE stream=?`, stream)
	if err != nil {
		return nil, fmt.Errorf("read seen paths of %s: %w", stream, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("read seen paths of %s: %w", stream, err)
		}
		out[p] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read seen paths of %s: %w", stream, err)
	}
	return out, nil
}

// AddSeenPaths implements state.Paths.
func (s *Store) AddSeenPaths(ctx context.Context, stream string, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	now := nanos(s.Now())
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, p := range paths {
			if _, err := tx.ExecContext(ctx, `INSERT INTO seen_paths(stream, path, first_seen) VALUES(?,?,?) ON CONFLICT(stream, path) DO NOTHING`, stream, p, now); err != nil {
				return fmt.Errorf("record seen path %q of %s: %w", p, stream, err)
			}
		}
		return nil
	})
}

var _ state.Paths = (*Store)(nil)
