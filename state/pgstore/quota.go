package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// UpdateQuota implements fetch.QuotaBackend: one row per source holds its
// quota state; fn runs between SELECT … FOR UPDATE and the write, so
// updates of one source are serialised across every worker and host.
func (s *Store) UpdateQuota(ctx context.Context, source string, fn func(old []byte) ([]byte, error)) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var old []byte
		err := tx.QueryRow(ctx, `SELECT state FROM quota WHERE source = $1 FOR UPDATE`, source).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			// first use: create the row, then lock it (another worker may
			// have created it in between; ON CONFLICT waits for it)
			if _, err := tx.Exec(ctx, `INSERT INTO quota(source, state, updated_at) VALUES($1, '', clock_timestamp()) ON CONFLICT (source) DO NOTHING`, source); err != nil {
				return fmt.Errorf("create quota row of %s: %w", source, err)
			}
			err = tx.QueryRow(ctx, `SELECT state FROM quota WHERE source = $1 FOR UPDATE`, source).Scan(&old)
		}
		if err != nil {
			return fmt.Errorf("read quota of %s: %w", source, err)
		}
		out, err := fn(old)
		if err != nil {
			return err
		}
		if bytes.Equal(out, old) {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE quota SET state = $2, updated_at = clock_timestamp() WHERE source = $1`, source, out); err != nil {
			return fmt.Errorf("write quota of %s: %w", source, err)
		}
		return nil
	})
}

// QuotaLocation implements fetch.QuotaBackend.
func (s *Store) QuotaLocation(source string) string {
	return fmt.Sprintf("the row source = '%s' of PostgreSQL table %s.quota", source, s.schema)
}
