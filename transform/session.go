package transform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// readCopyPrefix names a reader's private copy of the snapshot (see
// openSnapshot).
const readCopyPrefix = "read-"

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
	// this process's own sessions on a snapshot are not seen by the lock
	// test that lets the next working database be prepared in it
	unhold := holdSnapshot(path)
	w, err := openWarehouse(ctx, path, true, 0, nil)
	if err == nil {
		w.unhold = joinFuncs(unhold, holdSnapshot(path)) // and what the name points at now
		return w, nil
	}
	unhold()
	if !errors.Is(err, ErrWarehouseBusy) {
		return nil, err
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

func joinFuncs(fs ...func()) func() {
	return func() {
		for _, f := range fs {
			f()
		}
	}
}
