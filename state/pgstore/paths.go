package pgstore

import (
	"context"
	"fmt"

	"github.com/rawland/rawland/state"
)

var _ state.Paths = (*Store)(nil)

// SeenPaths implements state.Paths.
func (s *Store) SeenPaths(ctx context.Context, stream string) (map[string]bool, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT path FROM seen_paths WHERE stream = $1`, stream)
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
	_, err := s.exec(ctx, `INSERT INTO seen_paths(stream, path, first_seen) SELECT $1, p, clock_timestamp() FROM unnest($2::text[]) AS p
		ON CONFLICT (stream, path) DO NOTHING`, stream, paths)
	if err != nil {
		return fmt.Errorf("record seen paths of %s: %w", stream, err)
	}
	return nil
}
