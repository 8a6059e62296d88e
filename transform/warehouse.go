package transform

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	sqlfiles "github.com/rawland/rawland/sql"
)

// Log keys.
const (
	KeyStream  = "stream"
	KeyRunID   = "run_id"
	KeyPath    = "path"
	KeyPID     = "pid"
	KeyHolder  = "holder"
	KeyWaited  = "waited"
	KeyRecords = "records"
)

// warehouse is the open warehouse file; every statement goes through its
// single connection, so temp tables and Arrow views are visible to the
// transaction that uses them.
type warehouse struct {
	path string
	db   *sql.DB
	conn *sql.Conn

	lay     layout    // the working database's: set by openForWrite
	lock    *workLock // held while the working database is open for write
	private string    // a reader's private copy of the snapshot, removed at close
	unhold  func()    // forgets the snapshot a reader of this process had open
	closed  bool

	// DuckDB's memory limits of a transform (limitMemory): memLimit is
	// transform.memory_limit, loadLimit the lower one a direct load
	// appends under, memNow the one set now (0: none set).
	memLimit, loadLimit, memNow int64
	// rows committed by direct loads since DuckDB's freed memory was last
	// given back (appended)
	untrimmed int64
}

// appended counts rows a direct load committed; every chunkRows of them
// the memory DuckDB freed meanwhile is given back to the system
// (releaseFreed), after a chunk's or a batch's commit, so that a long
// transform of many runs stays as small as one of a big run.
func (w *warehouse) appended(rows int64) {
	if w.untrimmed += rows; w.untrimmed >= chunkRows {
		releaseFreed()
		w.untrimmed = 0
	}
}

// lockRE reads DuckDB's lock error: `Could not set lock on file "…":
// Conflicting lock is held in /usr/bin/duckdb (PID 1234)`.
var lockRE = regexp.MustCompile(`Conflicting lock is held in (.*?) \(PID (\d+)\)`)

// lockError reports whether err is DuckDB failing to lock the file because
// another process holds it. duckdb-go flattens open errors into text
// ("could not connect to database: IO Error: Could not set lock on file
// …"), so the message is the only signal there is.
func lockError(err error) (holder string, pid int, ok bool) {
	msg := err.Error()
	if !strings.Contains(msg, "IO Error: Could not set lock on file") {
		return "", 0, false
	}
	if m := lockRE.FindStringSubmatch(msg); m != nil {
		pid, _ = strconv.Atoi(m[2])
		return m[1], pid, true
	}
	return "", 0, true
}

// openWarehouse opens the warehouse. While another process holds it, it
// retries until wait has passed, logging the holder, then returns a
// *WarehouseBusyError.
func openWarehouse(ctx context.Context, path string, readOnly bool, wait time.Duration, log *slog.Logger) (*warehouse, error) {
	dsn := path
	if readOnly {
		dsn += "?access_mode=READ_ONLY"
	}
	start := time.Now()
	backoff := 100 * time.Millisecond
	var lastLog time.Time
	for {
		c, err := duckdb.NewConnector(dsn, nil)
		if err == nil {
			db := sql.OpenDB(c)
			conn, err := db.Conn(ctx)
			if err != nil {
				db.Close()
				return nil, fmt.Errorf("connect to warehouse %s: %w", path, err)
			}
			return &warehouse{path: path, db: db, conn: conn}, nil
		}
		holder, pid, busy := lockError(err)
		if !busy {
			return nil, fmt.Errorf("open warehouse %s: %w", path, err)
		}
		waited := time.Since(start)
		if waited >= wait {
			return nil, &WarehouseBusyError{Path: path, Holder: holder, PID: pid, Waited: waited, Message: err.Error()}
		}
		if log != nil && time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			log.Warn("warehouse is held by another process; waiting", KeyPath, path, KeyHolder, holder, KeyPID, pid,
				KeyWaited, waited.Round(time.Second).String(), "lock_wait", wait.String())
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(backoff, wait-waited)):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// close closes the database (DuckDB checkpoints a database opened for
// write), releases the working database's lock and removes a reader's
// private copy. It may be called more than once.
func (w *warehouse) close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := errors.Join(w.conn.Close(), w.db.Close())
	w.lock.release()
	if w.private != "" {
		os.Remove(w.private)
	}
	if w.unhold != nil {
		w.unhold()
	}
	return err
}

// bookkeeping is rawland's own schema in the warehouse (CONTRACT.md,
// "Warehouse tables"). Changes must stay additive.
const bookkeeping = `
CREATE SCHEMA IF NOT EXISTS rawland;
CREATE TABLE IF NOT EXISTS rawland.meta(key VARCHAR PRIMARY KEY, value VARCHAR);
INSERT OR IGNORE INTO rawland.meta VALUES ('schema_version', '1');
CREATE TABLE IF NOT EXISTS rawland.transformed(
    stream VARCHAR NOT NULL, run_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    landed_at TIMESTAMPTZ, transformed_at TIMESTAMPTZ NOT NULL, report JSON,
    PRIMARY KEY (stream, run_id));
CREATE TABLE IF NOT EXISTS rawland.quarantine(
    stream VARCHAR NOT NULL, run_id VARCHAR NOT NULL, file VARCHAR NOT NULL, line BIGINT NOT NULL,
    record VARCHAR NOT NULL, errors STRUCT(path VARCHAR, reason VARCHAR)[] NOT NULL,
    quarantined_at TIMESTAMPTZ NOT NULL, replayed_at TIMESTAMPTZ);
ALTER TABLE rawland.quarantine ADD COLUMN IF NOT EXISTS record_bytes BLOB;
CREATE TABLE IF NOT EXISTS rawland.drift(
    stream VARCHAR NOT NULL, run_id VARCHAR NOT NULL, path VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    count BIGINT NOT NULL, example VARCHAR, first_seen TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS rawland.runs(
    run_id VARCHAR NOT NULL, stream VARCHAR NOT NULL, kind VARCHAR, status VARCHAR,
    started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
    records BIGINT, bytes BIGINT, pages BIGINT,
    inserted BIGINT, updated BIGINT, unchanged BIGINT, stale BIGINT, duplicates BIGINT, quarantined BIGINT,
    cursor_before VARCHAR, cursor_after VARCHAR, complete BOOLEAN, error VARCHAR, host VARCHAR, report JSON);
`

// openForWrite opens the private working database for Run and
// ReplayQuarantine (never the published warehouse, which readers hold): it
// waits up to LockWait for another rawland process to finish with it, caps
// DuckDB's memory and creates rawland's tables and views. publishAndClose
// ends the session.
func openForWrite(ctx context.Context, o Options) (*warehouse, error) {
	lay := layoutOf(o.Warehouse)
	lk, err := lockWork(ctx, lay, o.LockWait, o.Logger)
	if err != nil {
		return nil, err
	}
	if _, err := ensureWork(ctx, lay, o.Logger, o.Rebuild && len(o.Streams) == 0); err != nil {
		lk.release()
		return nil, err
	}
	w, err := openWarehouse(ctx, lay.work, false, o.LockWait, o.Logger)
	if err != nil {
		lk.release()
		return nil, err
	}
	w.lay, w.lock = lay, lk
	if err := w.limitMemory(ctx, int64(o.Config.Transform.MemoryLimit), filepath.Join(lay.dir, "tmp")); err != nil {
		w.close()
		return nil, err
	}
	if err := w.init(ctx); err != nil {
		w.close()
		return nil, err
	}
	if err := w.inTx(ctx, func(tx *sql.Tx) error { return dropLeftovers(ctx, tx, o.Logger) }); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// limitMemory caps DuckDB's memory for this connection's database; above
// it DuckDB spills to tmpDir (DATA/state/warehouse/tmp: rawland's private
// directory, never beside the published warehouse), so transforming a run
// of any size stays within the limit. The staging table, the merge's
// window and join, and the rows written all live in DuckDB's buffer pool;
// the merge works on a bounded number of rows per pass (mergeChunk).
func (w *warehouse) limitMemory(ctx context.Context, bytes int64, tmpDir string) error {
	if _, err := w.conn.ExecContext(ctx, "SET temp_directory = "+quoteString(tmpDir)); err != nil {
		return fmt.Errorf("set the warehouse's temp directory: %w", err)
	}
	// One DuckDB thread: every thread of a statement that writes a table
	// holds a block per column segment, which for a wide (nested) schema
	// takes more than a small memory limit; transform's CPU time is in
	// validation on the Go side, which uses every core.
	if _, err := w.conn.ExecContext(ctx, "SET threads = 1"); err != nil {
		return fmt.Errorf("set the warehouse's threads: %w", err)
	}
	if bytes <= 0 {
		return nil
	}
	w.memLimit = max(bytes, minMemoryLimit)
	w.loadLimit = max(w.memLimit/2, minMemoryLimit)
	return w.useMemory(ctx, w.memLimit)
}

// minMemoryLimit is the least memory limit rawland gives DuckDB (the
// config's minimum too).
const minMemoryLimit = 64 << 20

// useMemory sets DuckDB's memory limit to bytes (a no-op when it is set
// already, or when no limit is configured).
func (w *warehouse) useMemory(ctx context.Context, bytes int64) error {
	if w.memLimit == 0 || bytes == w.memNow {
		return nil
	}
	if _, err := w.conn.ExecContext(ctx, fmt.Sprintf("SET memory_limit = '%dMiB'", bytes>>20)); err != nil {
		return fmt.Errorf("set the warehouse's memory limit: %w", err)
	}
	w.memNow = bytes
	return nil
}

// outOfMemory reports whether err is DuckDB running out of its memory limit.
func outOfMemory(err error) bool {
	var de *duckdb.Error
	return errors.As(err, &de) && de.Type == duckdb.ErrorTypeOutOfMemory
}

// init creates rawland's tables and (re)creates the shipped views, in one
// transaction. The views are recreated only when sql/ changed, so that a
// run that changes nothing leaves the working database unchanged (and
// nothing to publish).
func (w *warehouse) init(ctx context.Context) error {
	h := sha256.New()
	for _, v := range sqlfiles.Views() {
		h.Write([]byte(v.Name + "\x00" + v.SQL + "\x00"))
	}
	sum := hex.EncodeToString(h.Sum(nil))
	return w.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, bookkeeping); err != nil {
			return fmt.Errorf("create rawland tables: %w", err)
		}
		if v, err := metaValue(ctx, tx, metaViews); err != nil || v == sum {
			return err
		}
		for _, v := range sqlfiles.Views() {
			if _, err := tx.ExecContext(ctx, v.SQL); err != nil {
				return fmt.Errorf("create view from sql/%s.sql: %w", v.Name, err)
			}
		}
		return setMeta(ctx, tx, metaViews, sum)
	})
}

// rawland.meta keys.
const (
	metaViews = "views_sha256" // the sql/ views last created
	metaRuns  = "runs_sha256"  // the run history last copied into rawland.runs
)

func metaValue(ctx context.Context, tx *sql.Tx, key string) (string, error) {
	var v string
	err := tx.QueryRowContext(ctx, "SELECT value FROM rawland.meta WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read rawland.meta: %w", err)
	}
	return v, nil
}

func setMeta(ctx context.Context, tx *sql.Tx, key, value string) error {
	if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO rawland.meta VALUES (?, ?)", key, value); err != nil {
		return fmt.Errorf("write rawland.meta: %w", err)
	}
	return nil
}

// inTx runs fn in a transaction on the warehouse connection: committed if
// fn returns nil, rolled back otherwise (also when ctx is cancelled).
func (w *warehouse) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	// The transaction itself is not bound to ctx: cancellation interrupts
	// the running statement and the rollback below undoes everything.
	tx, err := w.conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return fmt.Errorf("begin warehouse transaction: %w", err)
	}
	// a panic in fn rolls back too: an open transaction would block the
	// deferred close of the connection, and the process would hang
	// holding the warehouse instead of ending with the panic
	done := false
	defer func() {
		if !done {
			tx.Rollback()
		}
	}()
	err = fn(tx)
	done = true
	if err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("roll back: %w", rerr))
		}
		return err
	}
	if err := ctx.Err(); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit warehouse transaction: %w", err)
	}
	return nil
}

// exists reports whether a file exists at path.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
