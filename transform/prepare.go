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
// what was published. It is made only from files no one but rawland can
// have written since the publish, because an analyst's read-write session
// on DATA/warehouse.duckdb checkpoints into it:
//  1. the previous snapshot (kept under a private name by the publish),
//     unchanged since the publish read it, with the delta the publish
//     recorded written into it, when no one can have it open: it has no
//     other name, it was superseded more than snapshotGrace ago (a small
//     warehouse superseded less long ago is copied instead of waited for:
//     copyRateInsteadOfWaiting), no DuckDB session holds its lock (checked
//     with an exclusive open-file-description lock, which also keeps any
//     new session off it while rawland writes), and no reader of this
//     process has it open;
//  2. else the whole copy the publish kept when the run rewrote most of
//     the warehouse (useWholeCopy), renamed into place;
//  3. else a copy of the published snapshot, if it is unchanged since it
//     was sealed;
//  4. else a copy of the previous snapshot (a reader holds it, but it is
//     unchanged) with the delta written into the copy; or a delta that
//     holds the whole working database, written by an older rawland.
// When none is left (both were written), the preparation fails with
// ErrWarehouseWritten, unless the run rebuilds every stream from the raw
// landing anyway: then it starts from an empty working database.

// ErrWarehouseWritten says that no unchanged copy of the published
// warehouse is left to continue from.
var ErrWarehouseWritten = errors.New("the published warehouse was written by a read-write session")

// snapshotGrace covers a reader that resolved DATA/warehouse.duckdb just
// before a publish renamed it and has not yet taken its lock: DuckDB takes
// it right after opening the file.
const snapshotGrace = 2 * time.Second

// copyRateInsteadOfWaiting: a previous snapshot replaced less than
// snapshotGrace ago is not waited for when copying the published snapshot
// (at this many bytes a second, a cautious figure: this VM's disk copies
// and fsyncs 88 MB in 0.08 s) takes less than the rest of the wait. Two
// write sessions back to back (a transform, then the reconcile of the same
// `rawland run`, or a `quarantine replay`) waited up to 2 s for a
// warehouse of a few MB; a big warehouse is still patched after the wait
// (a few MB written instead of the whole file). Tests that need the patch
// set it to 0.
var copyRateInsteadOfWaiting int64 = 64 << 20

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
	Method  string  // "patch" (the previous snapshot, rewritten where it differs), "kept" (the whole copy the publish kept), "copy", "clone" or "" (it existed)
	Written int64   // bytes written
	Bytes   int64   // the working database's size
	Seconds float64 // how long it took
}

// ensureWork makes sure the working database exists: after a publish, it
// prepares it as above; before any publish by this rawland (an upgrade from
// one that wrote DATA/warehouse.duckdb in place), it starts from a copy of
// that file and of its write-ahead log. rebuild (every stream is rebuilt
// from the raw landing) allows an empty start when no unchanged source is
// left.
func ensureWork(ctx context.Context, lay layout, log *slog.Logger, rebuild bool) (prepared, error) {
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
	var sealed *seal
	if err := readJSON(lay.seal, &sealed); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Warn("cannot read the seal of the published snapshot", KeyPath, lay.seal, "error", err)
	}
	delta, err := readDeltaHeader(lay.delta)
	if err != nil {
		log.Warn("ignoring the delta the last publish recorded", KeyPath, lay.delta, "error", err)
	}
	if delta != nil && (sealed == nil || !delta.Target.same(*sealed)) {
		delta = nil // from an interrupted publish
	}
	var p prepared
	if delta != nil && !delta.full() {
		if p, err = patchPrevious(ctx, lay, *delta, log); err != nil {
			return prepared{}, err
		}
	}
	if p.Method == "" && sealed != nil {
		if p, err = useWholeCopy(lay, *sealed, log); err != nil {
			return prepared{}, err
		}
	}
	if p.Method == "" {
		if p, err = copyPublished(lay, sealed, log); err != nil {
			return prepared{}, err
		}
	}
	if p.Method == "" && delta != nil {
		if p, err = copyPrevious(ctx, lay, *delta, log); err != nil {
			return prepared{}, err
		}
	}
	if p.Method == "" {
		if !rebuild {
			return prepared{}, fmt.Errorf("prepare the working database: %w (%s changed after rawland published it, and no unchanged copy of the previous snapshot is left), and rawland never carries such writes into the warehouse: keep your own tables in your own DuckDB file, then rebuild the warehouse from the raw landing with `rawland transform --rebuild`",
				ErrWarehouseWritten, lay.published)
		}
		log.Warn("no unchanged copy of the published warehouse is left; rebuilding from an empty working database", KeyPath, lay.work)
		p.Method = "empty"
	}
	// what the next working database was made from is no longer needed (a
	// reader that holds the previous snapshot keeps it until it closes it)
	for _, f := range []string{lay.prev, lay.patching, lay.delta, lay.nextSeal, lay.next} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return prepared{}, fmt.Errorf("prepare the working database: %w", err)
		}
	}
	if err := syncDir(lay.dir); err != nil {
		return prepared{}, err
	}
	p.Seconds = time.Since(start).Seconds()
	log.Info("prepared the working database", KeyPath, lay.work, "method", p.Method, "written", p.Written, "bytes", p.Bytes, "seconds", p.Seconds)
	return p, nil
}

// patchPrevious turns the previous snapshot into the working database by
// writing the delta into it, when no one can have it open and it is
// unchanged since the publish read it (see above); a zero result means: do
// something else. A previous snapshot a crashed preparation was writing
// the delta into (patching.duckdb) is private: the delta is written again.
func patchPrevious(ctx context.Context, lay layout, d deltaHeader, log *slog.Logger) (prepared, error) {
	if exists(lay.patching) {
		f, err := os.OpenFile(lay.patching, os.O_RDWR, 0)
		if err != nil {
			return prepared{}, fmt.Errorf("prepare the working database: %w", err)
		}
		defer f.Close()
		return applyAndRename(ctx, lay, f, lay.patching, d, "patch")
	}
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
		wait := snapshotGrace - time.Since(changed)
		if wait > 0 && fi.Size() < int64(wait.Seconds()*float64(copyRateInsteadOfWaiting)) {
			busy = fmt.Sprintf("it was replaced %s ago, and copying %d bytes is quicker than waiting %s for readers that may be opening it",
				time.Since(changed).Round(time.Millisecond), fi.Size(), wait.Round(time.Millisecond))
			break
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return prepared{}, err
		}
		if ok, err := lockExclusive(f); err != nil || !ok {
			busy = "a DuckDB session has it open"
		}
	}
	if busy != "" {
		log.Info("the previous snapshot is in use; copying instead", KeyPath, lay.prev, "why", busy)
		return prepared{}, nil
	}
	// locked: no session can write it from here on
	if now, err := sealOf(lay.prev); err != nil || !now.same(d.Base) {
		log.Warn("the previous snapshot was written after rawland read it (a read-write session on the warehouse); it is not used", KeyPath, lay.prev)
		return prepared{}, nil
	}
	if err := os.Rename(lay.prev, lay.patching); err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: %w", err)
	}
	if err := syncDir(lay.dir); err != nil {
		return prepared{}, err
	}
	return applyAndRename(ctx, lay, f, lay.patching, d, "patch")
}

// applyAndRename writes the delta into f (named name), fsyncs it and
// renames it to the working database.
func applyAndRename(ctx context.Context, lay layout, f *os.File, name string, d deltaHeader, method string) (prepared, error) {
	written, err := applyDelta(ctx, lay.delta, f)
	if err != nil {
		return prepared{}, fmt.Errorf("prepare the working database from %s: %w", name, err)
	}
	crashpoint.Hit("prepare_written")
	if err := f.Sync(); err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: sync %s: %w", name, err)
	}
	if err := os.Rename(name, lay.work); err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: %w", err)
	}
	return prepared{Method: method, Written: written, Bytes: d.Target.Bytes}, nil
}

// useWholeCopy makes the working database the whole copy the last
// publish kept (keepWholeCopy), by a rename, if it is a copy of the
// snapshot rawland sealed; a zero result means there is none. It is what
// rawland published whether or not anyone wrote into the published
// snapshot since.
func useWholeCopy(lay layout, sealed seal, log *slog.Logger) (prepared, error) {
	var kept seal
	if err := readJSON(lay.nextSeal, &kept); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("ignoring the copy the last publish kept", KeyPath, lay.nextSeal, "error", err)
		}
		return prepared{}, nil
	}
	if !kept.same(sealed) {
		return prepared{}, nil // from an interrupted publish
	}
	st, err := os.Stat(lay.next)
	if err != nil {
		return prepared{}, nil
	}
	if iter, err := fileIteration(lay.next); err != nil || st.Size() != kept.Bytes || iter != kept.Iteration {
		log.Warn("ignoring the copy the last publish kept: it is not the file it recorded", KeyPath, lay.next,
			"bytes", st.Size(), "want_bytes", kept.Bytes)
		return prepared{}, nil
	}
	if err := os.Rename(lay.next, lay.work); err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: %w", err)
	}
	return prepared{Method: "kept", Bytes: st.Size()}, nil
}

// copyPublished makes the working database a copy of the published
// snapshot (a reflink clone where the filesystem has them), if it is what
// rawland sealed (or there is no seal: a snapshot published by an older
// rawland); a zero result means it was written since.
func copyPublished(lay layout, sealed *seal, log *slog.Logger) (prepared, error) {
	before, err := sealOf(lay.reader)
	if err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: %w", err)
	}
	if sealed != nil && !before.same(*sealed) {
		log.Warn("the published snapshot was written after rawland published it (a read-write session on the warehouse); it is not used", KeyPath, lay.published,
			"published_iteration", sealed.Iteration, "iteration", before.Iteration)
		return prepared{}, nil
	}
	os.Remove(lay.workTmp)
	method, err := cloneFile(lay.reader, lay.workTmp)
	if err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: %w", err)
	}
	crashpoint.Hit("prepare_written")
	if after, err := sealOf(lay.reader); err != nil || !after.same(before) {
		os.Remove(lay.workTmp)
		log.Warn("the published snapshot was written while it was copied (a read-write session on the warehouse); it is not used", KeyPath, lay.published)
		return prepared{}, nil
	}
	if err := os.Rename(lay.workTmp, lay.work); err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: %w", err)
	}
	written := before.Bytes
	if method == "clone" {
		written = 0
	}
	return prepared{Method: method, Written: written, Bytes: before.Bytes}, nil
}

// copyPrevious makes the working database a copy of the previous snapshot
// (which a reader holds, so it is only read) with the delta written into
// the copy, if the previous snapshot is unchanged since the publish read
// it; a delta that holds the whole working database is written into an
// empty file.
func copyPrevious(ctx context.Context, lay layout, d deltaHeader, log *slog.Logger) (prepared, error) {
	os.Remove(lay.workTmp)
	if d.full() {
		f, err := os.OpenFile(lay.workTmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return prepared{}, fmt.Errorf("prepare the working database: %w", err)
		}
		defer f.Close()
		return applyAndRename(ctx, lay, f, lay.workTmp, d, "delta")
	}
	before, err := sealOf(lay.prev)
	if errors.Is(err, fs.ErrNotExist) {
		return prepared{}, nil
	}
	if err != nil || !before.same(d.Base) {
		log.Warn("the previous snapshot was written after rawland read it (a read-write session on the warehouse); it is not used", KeyPath, lay.prev)
		return prepared{}, nil
	}
	method, err := cloneFile(lay.prev, lay.workTmp)
	if err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: %w", err)
	}
	if after, err := sealOf(lay.prev); err != nil || !after.same(before) {
		os.Remove(lay.workTmp)
		log.Warn("the previous snapshot was written while it was copied (a read-write session on the warehouse); it is not used", KeyPath, lay.prev)
		return prepared{}, nil
	}
	f, err := os.OpenFile(lay.workTmp, os.O_RDWR, 0)
	if err != nil {
		return prepared{}, fmt.Errorf("prepare the working database: %w", err)
	}
	defer f.Close()
	p, err := applyAndRename(ctx, lay, f, lay.workTmp, d, method+"+delta")
	if method == "copy" {
		p.Written += before.Bytes
	}
	return p, err
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
