package transform

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/rawland/rawland/internal/crashpoint"
)

// A publish hands the working database itself to readers (see publish), so
// the next write session first prepares a new working database equal to
// the published snapshot. It takes the previous snapshot (kept under a
// private name by the publish) and rewrites only the pages that differ, when
// no one can have it open: it has no other name, it was superseded more
// than snapshotGrace ago, no DuckDB session holds its lock (checked with an
// exclusive open-file-description lock, which also keeps any new session
// off it while rawland writes), and no reader of this process has it open.
// Otherwise the previous snapshot is unlinked (a reader that holds it keeps
// it, and its view, until it closes it) and the published snapshot is
// copied instead.

// snapshotGrace covers a reader that resolved DATA/warehouse.duckdb just
// before a publish renamed it and has not yet taken its lock: DuckDB takes
// it right after opening the file.
const snapshotGrace = 2 * time.Second

// seal identifies the working database handed to readers by a publish. It
// is written before the snapshot gets a name readers open, so that the
// next preparation can tell that the snapshot is still exactly what rawland
// published (an analyst's read-write session may write into it).
type seal struct {
	Ino       uint64    `json:"ino"`
	Bytes     int64     `json:"bytes"`
	ModTime   time.Time `json:"mtime"`
	Iteration uint64    `json:"iteration"`
}

func sealOf(path string) (seal, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return seal{}, err
	}
	iter, err := fileIteration(path)
	if err != nil {
		return seal{}, err
	}
	ino, _, _ := inodeOf(fi)
	return seal{Ino: ino, Bytes: fi.Size(), ModTime: fi.ModTime().UTC(), Iteration: iter}, nil
}

func (s seal) same(o seal) bool {
	return s.Ino == o.Ino && s.Bytes == o.Bytes && s.ModTime.Equal(o.ModTime) && s.Iteration == o.Iteration
}

// prepared says how a working database was made.
type prepared struct {
	Method  string  // "patch" (the previous snapshot, rewritten where it differs), "copy", "clone" or "" (it existed)
	Written int64   // bytes written
	Bytes   int64   // the working database's size
	Seconds float64 // how long it took
}

// ensureWork makes sure the working database exists: after a publish, it
// prepares it from the published snapshot; before any publish by this
// rawland (an upgrade from one that wrote DATA/warehouse.duckdb in place),
// it starts from a copy of that file and of its write-ahead log.
func ensureWork(ctx context.Context, lay layout, log *slog.Logger) (prepared, error) {
	if exists(lay.work) {
		return prepared{}, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// a log without its database must never replay into a new one
	if err := os.Remove(lay.work + ".wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return prepared{}, fmt.Errorf("remove %s.wal: %w", lay.work, err)
	}
	if !exists(lay.reader) {
		return startFromLegacy(lay, log)
	}
	start := time.Now()
	before, err := sealOf(lay.reader)
	if err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: %w", err)
	}
	var want seal
	if err := readJSON(lay.seal, &want); err == nil && !want.same(before) {
		log.Warn("the published snapshot changed after rawland published it (a read-write session wrote into the warehouse); the working database starts from it as it is now",
			KeyPath, lay.reader, "published_iteration", want.Iteration, "iteration", before.Iteration)
	}
	p, err := patchPrevious(ctx, lay, before, log)
	if err != nil {
		return prepared{}, err
	}
	if p.Method == "" {
		if p, err = copyPublished(lay, before); err != nil {
			return prepared{}, err
		}
	}
	if err := syncDir(lay.dir); err != nil {
		return prepared{}, err
	}
	p.Seconds = time.Since(start).Seconds()
	log.Info("prepared the working database", KeyPath, lay.work, "method", p.Method, "written", p.Written, "bytes", p.Bytes, "seconds", p.Seconds)
	return p, nil
}

// patchPrevious turns the previous snapshot into the working database when
// no one can have it open (see above); a zero result means: copy instead.
func patchPrevious(ctx context.Context, lay layout, src seal, log *slog.Logger) (prepared, error) {
	f, err := os.OpenFile(lay.prev, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return prepared{}, nil
	}
	if err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: %w", err)
	}
	ino, nlink, changed := inodeOf(fi)
	busy := ""
	switch {
	case nlink == 0:
		busy = "this system cannot tell whether a reader has it open"
	case nlink != 1:
		busy = "it still has another name"
	case snapshotOpenHere(ino):
		busy = "a reader of this process has it open"
	default:
		if err := sleepCtx(ctx, snapshotGrace-time.Since(changed)); err != nil {
			return prepared{}, err
		}
		if ok, err := lockExclusive(f); err != nil || !ok {
			busy = "a DuckDB session has it open"
		}
	}
	if busy != "" {
		// the kernel keeps it for whoever holds it
		if err := os.Remove(lay.prev); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return prepared{}, fmt.Errorf("prepare the working database: %w", err)
		}
		log.Info("the previous snapshot is in use; copying the published one instead", KeyPath, lay.prev, "why", busy)
		return prepared{}, nil
	}
	in, err := os.Open(lay.reader)
	if err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: %w", err)
	}
	written, err := patchFile(ctx, f, in)
	in.Close()
	if err != nil {
		return prepared{}, fmt.Errorf("prepare the working database from %s: %w", lay.prev, err)
	}
	crashpoint.Hit("prepare_written")
	if err := f.Sync(); err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: sync %s: %w", lay.prev, err)
	}
	if after, err := sealOf(lay.reader); err != nil || !after.same(src) {
		// written while read: what was patched is no copy of anything
		os.Remove(lay.prev)
		log.Warn("the published snapshot changed while it was read; copying it instead", KeyPath, lay.reader)
		return prepared{}, nil
	}
	if err := os.Rename(lay.prev, lay.work); err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: %w", err)
	}
	return prepared{Method: "patch", Written: written, Bytes: src.Bytes}, nil
}

// copyPublished makes the working database a copy of the published
// snapshot (a reflink clone where the filesystem has them).
func copyPublished(lay layout, src seal) (prepared, error) {
	method := ""
	for attempt := 1; ; attempt++ {
		os.Remove(lay.workTmp)
		var err error
		method, err = cloneFile(lay.reader, lay.workTmp)
		if err != nil {
			return prepared{}, fmt.Errorf("prepare the working database: %w", err)
		}
		crashpoint.Hit("prepare_written")
		after, err := sealOf(lay.reader)
		if err == nil && after.same(src) {
			break
		}
		os.Remove(lay.workTmp)
		if attempt == 3 {
			return prepared{}, fmt.Errorf("prepare the working database: %s changed each time it was copied (a read-write session is writing into the published warehouse); close it and run again", lay.reader)
		}
		src = after
	}
	if err := os.Rename(lay.workTmp, lay.work); err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: %w", err)
	}
	written := src.Bytes
	if method == "clone" {
		written = 0
	}
	return prepared{Method: method, Written: written, Bytes: src.Bytes}, nil
}

// startFromLegacy starts the working database from a DATA/warehouse.duckdb
// that an older rawland wrote in place (with its write-ahead log, if any);
// with nothing published yet, DuckDB creates an empty one.
func startFromLegacy(lay layout, log *slog.Logger) (prepared, error) {
	if !exists(lay.published) {
		return prepared{}, nil
	}
	os.Remove(lay.workTmp)
	method, err := cloneFile(lay.published, lay.workTmp)
	if err != nil {
		return prepared{}, fmt.Errorf("start the working database from %s: %w", lay.published, err)
	}
	legacy := !exists(lay.manifest) // written in place by an older rawland
	if legacy && exists(lay.published+".wal") {
		if _, err := cloneFile(lay.published+".wal", lay.work+".wal"); err != nil {
			os.Remove(lay.workTmp)
			return prepared{}, fmt.Errorf("start the working database from %s: %w", lay.published, err)
		}
	}
	if err := os.Rename(lay.workTmp, lay.work); err != nil {
		return prepared{}, fmt.Errorf("start the working database: %w", err)
	}
	log.Info("started the private working database from the published warehouse", KeyPath, lay.work, "from", lay.published)
	st, _ := os.Stat(lay.work)
	var size int64
	if st != nil {
		size = st.Size()
	}
	return prepared{Method: method, Written: size, Bytes: size}, syncDir(lay.dir)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
