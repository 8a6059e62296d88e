package transform

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// readCopyPrefix names a reader's private copy of the snapshot (see
// openSnapshot).
const readCopyPrefix = "read-"

// ensureWork makes sure the working database exists. The first run after
// an upgrade from a rawland that wrote DATA/warehouse.duckdb in place
// starts from a copy of that file (with its write-ahead log, if any).
func ensureWork(lay layout, log *slog.Logger) error {
	if exists(lay.work) {
		return nil
	}
	// a log without its database must never replay into a new one
	if err := os.Remove(lay.work + ".wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s.wal: %w", lay.work, err)
	}
	if !exists(lay.published) {
		return nil // DuckDB creates an empty one
	}
	tmp := lay.work + ".tmp"
	os.Remove(tmp)
	if _, err := cloneFile(lay.published, tmp); err != nil {
		return fmt.Errorf("start the working database from %s: %w", lay.published, err)
	}
	legacy := !exists(lay.manifest) // written in place by an older rawland
	if legacy && exists(lay.published+".wal") {
		if _, err := cloneFile(lay.published+".wal", lay.work+".wal"); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("start the working database from %s: %w", lay.published, err)
		}
	}
	if err := os.Rename(tmp, lay.work); err != nil {
		return fmt.Errorf("start the working database: %w", err)
	}
	if log != nil {
		log.Info("started the private working database from the published warehouse", KeyPath, lay.work, "from", lay.published)
	}
	return syncDir(lay.dir)
}

// publishAndClose ends a write session: it reads the per-stream counts,
// checkpoints and closes the working database, publishes it if it changed
// and releases the working database's lock. A cancelled ctx skips the
// publish (the next run does it).
func (w *warehouse) publishAndClose(ctx context.Context, o Options) error {
	defer w.close()
	if err := ctx.Err(); err != nil {
		return err
	}
	counts, err := countsOn(ctx, w.conn)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if _, err := w.conn.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("publish: checkpoint the working database: %w", err)
	}
	if err := errors.Join(w.conn.Close(), w.db.Close()); err != nil {
		w.closed = true
		w.lock.release()
		return fmt.Errorf("publish: close the working database: %w", err)
	}
	w.closed = true
	defer w.lock.release()
	return publish(ctx, w.lay, counts, o.Now(), o.Logger)
}

// openSnapshot opens the published snapshot read-only for rawland's own
// readers (sql, quarantine list, status before the first manifest). It
// never waits: when another process holds the snapshot read-write (DuckDB
// then refuses every other session), it reads a private copy instead.
func openSnapshot(ctx context.Context, warehousePath string) (*warehouse, error) {
	lay := layoutOf(warehousePath)
	path := lay.reader
	if !exists(path) {
		path = warehousePath // nothing published yet by this rawland
	}
	if !exists(path) {
		return nil, fmt.Errorf("%s: %w", warehousePath, ErrNoWarehouse)
	}
	w, err := openWarehouse(ctx, path, true, 0, nil)
	if err == nil || !errors.Is(err, ErrWarehouseBusy) {
		return w, err
	}
	if err := os.MkdirAll(lay.dir, 0o755); err != nil {
		return nil, err
	}
	tmp := filepath.Join(lay.dir, fmt.Sprintf("%s%d-%d.duckdb", readCopyPrefix, os.Getpid(), time.Now().UnixNano()))
	if _, cerr := cloneFile(path, tmp); cerr != nil {
		return nil, errors.Join(err, cerr)
	}
	w, err = openWarehouse(ctx, tmp, true, 0, nil)
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	w.private = tmp
	return w, nil
}
