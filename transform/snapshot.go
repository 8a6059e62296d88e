package transform

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rawland/rawland/internal/crashpoint"
)

// The warehouse readers open (DATA/warehouse.duckdb) is a published
// snapshot that rawland never writes in place. Transform, reconcile and
// replay work on a private working database under DATA/state/warehouse/ (for
// DATA/warehouse.duckdb);
// publishing copies it (a reflink clone where the filesystem has them) to a
// new file and renames that over DATA/warehouse.duckdb. A rename is atomic,
// so a reader opens either the previous snapshot or the new one, never a
// mix; a reader that has the previous one open keeps its inode, and its
// view, until it closes it (then the kernel frees it: old snapshots never
// accumulate under a name).

// layout is where the warehouse's files live.
type layout struct {
	published string // DATA/warehouse.duckdb: what analysts open
	staged    string // DATA/.warehouse.duckdb.new: the next snapshot's second name, renamed over published
	dir       string // DATA/state/warehouse: rawland's private files
	work      string // the working database (never opened by readers)
	reader    string // a second name of the published snapshot, opened by rawland's own readers
	tmp       string // the next snapshot while it is written
	manifest  string // published.json: what was published, when
	lock      string // held by the one rawland process that works on the working database
}

func layoutOf(warehouse string) layout {
	data := filepath.Dir(warehouse)
	base := filepath.Base(warehouse)
	dir := filepath.Join(data, "state", strings.TrimSuffix(base, filepath.Ext(base)))
	return layout{
		published: warehouse,
		staged:    filepath.Join(data, "."+filepath.Base(warehouse)+".new"),
		dir:       dir,
		work:      filepath.Join(dir, "work.duckdb"),
		reader:    filepath.Join(dir, "published.duckdb"),
		tmp:       filepath.Join(dir, "publish.tmp"),
		manifest:  filepath.Join(dir, "published.json"),
		lock:      filepath.Join(dir, "work.lock"),
	}
}

// Manifest describes the published snapshot (DATA/state/warehouse/published.json).
type Manifest struct {
	// PublishedAt is when the snapshot was published.
	PublishedAt time.Time `json:"published_at"`
	// Iteration is the working database's checkpoint iteration that was
	// copied: the working database is newer when its own differs.
	Iteration uint64 `json:"iteration"`
	// Bytes is the snapshot's size.
	Bytes int64 `json:"bytes"`
	// Method is how the file was made: "clone" (reflink, no data copied)
	// or "copy".
	Method string `json:"method"`
	// Seconds is how long the publish took.
	Seconds float64 `json:"seconds"`
	// Streams are the per-stream counts of the snapshot (for status).
	Streams map[string]StreamCounts `json:"streams"`
}

func readManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &m, nil
}

// fileIteration reads a DuckDB file's checkpoint iteration from its two
// database headers (the active one has the higher iteration). It changes
// exactly when a checkpoint wrote something, so equal iterations of the
// working database mean nothing changed.
func fileIteration(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var b [3 * 4096]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return 0, fmt.Errorf("read the header of %s: %w", path, err)
	}
	if string(b[8:12]) != "DUCK" {
		return 0, fmt.Errorf("%s is not a DuckDB database file", path)
	}
	return max(binary.LittleEndian.Uint64(b[4096+8:]), binary.LittleEndian.Uint64(b[8192+8:])), nil
}

// walSize is the size of a database's write-ahead log (0 when there is none).
func walSize(db string) int64 {
	st, err := os.Stat(db + ".wal")
	if err != nil {
		return 0
	}
	return st.Size()
}

// PublishState says how old the published snapshot is and whether the
// working database holds changes that are not published yet.
type PublishState struct {
	// PublishedAt is the last publish (nil before the first).
	PublishedAt *time.Time `json:"published_at"`
	// Pending is true when the working database is newer than the snapshot
	// (a run is under way, or its publish failed: the next run publishes).
	Pending bool `json:"publish_pending"`
}

// Published reports the state of the snapshot published at warehousePath,
// without opening any database (it never waits or blocks anyone).
func Published(warehousePath string) PublishState {
	lay := layoutOf(warehousePath)
	var ps PublishState
	m, _ := readManifest(lay.manifest)
	if m != nil {
		t := m.PublishedAt
		ps.PublishedAt = &t
	}
	if !exists(lay.work) {
		return ps
	}
	iter, err := fileIteration(lay.work)
	ps.Pending = m == nil || err != nil || iter != m.Iteration || walSize(lay.work) > 0
	return ps
}

// publish makes the working database (closed, checkpointed) the published
// snapshot, unless the snapshot already is a copy of it. Every step leaves
// a readable warehouse: the new file is complete and fsynced before it is
// renamed into place; a crash anywhere leaves the previous snapshot (or the
// new one) and a working database whose iteration differs from the
// manifest's, which the next run publishes.
func publish(ctx context.Context, lay layout, counts map[string]StreamCounts, now time.Time, log *slog.Logger) error {
	start := time.Now()
	if n := walSize(lay.work); n > 0 {
		return fmt.Errorf("publish: the working database %s still has a %d-byte write-ahead log after its checkpoint; nothing was published", lay.work, n)
	}
	iter, err := fileIteration(lay.work)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if m, _ := readManifest(lay.manifest); m != nil && m.Iteration == iter && exists(lay.reader) {
		if pi, err := fileIteration(lay.published); err == nil && pi == iter {
			return nil // nothing changed since the last publish
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cleanStale(lay, log)
	method, err := cloneFile(lay.work, lay.tmp)
	if err != nil {
		os.Remove(lay.tmp)
		return fmt.Errorf("publish: %w", err)
	}
	crashpoint.Hit("publish_copied")
	// the snapshot gets two names: the one analysts open, and a private one
	// for rawland's own readers (whose write-ahead-log path no analyst's
	// read-write session can ever use)
	if err := os.Link(lay.tmp, lay.staged); err != nil {
		if _, err := cloneFile(lay.tmp, lay.staged); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	if err := os.Rename(lay.tmp, lay.reader); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := syncDir(lay.dir); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	crashpoint.Hit("publish_reader")
	// A write-ahead log beside the published file belongs to an analyst's
	// read-write session on the snapshot being replaced (or to a crashed
	// one): DuckDB would replay it into the new snapshot, so it goes.
	if walSize(lay.published) > 0 || exists(lay.published+".wal") {
		log.Warn("removing a write-ahead log left beside the published warehouse by a read-write session; writes into the published warehouse are discarded at every publish (keep your own tables in your own DuckDB file)",
			KeyPath, lay.published+".wal")
		if err := os.Remove(lay.published + ".wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("publish: %w", err)
		}
	}
	if err := os.Rename(lay.staged, lay.published); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := syncDir(filepath.Dir(lay.published)); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	crashpoint.Hit("publish_renamed")
	st, err := os.Stat(lay.published)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	m := Manifest{PublishedAt: now.UTC(), Iteration: iter, Bytes: st.Size(), Method: method, Seconds: time.Since(start).Seconds(), Streams: counts}
	if err := writeFileAtomic(lay.manifest, m); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	log.Info("published the warehouse", KeyPath, lay.published, "bytes", m.Bytes, "method", method, "seconds", m.Seconds)
	return nil
}

// cleanStale removes what an interrupted publish or reader left behind.
func cleanStale(lay layout, log *slog.Logger) {
	for _, p := range []string{lay.tmp, lay.staged} {
		if err := os.Remove(p); err == nil {
			log.Info("removed a snapshot left by an interrupted publish", KeyPath, p)
		}
	}
	old, _ := filepath.Glob(filepath.Join(lay.dir, readCopyPrefix+"*"))
	for _, p := range old {
		if st, err := os.Stat(p); err == nil && time.Since(st.ModTime()) > time.Hour {
			os.Remove(p)
			os.Remove(p + ".wal")
		}
	}
}

// cloneFile makes dst a copy of src: a reflink clone where the filesystem
// supports them (XFS, btrfs, bcachefs, ZFS 2.2+: no data is copied), else a
// kernel-side copy; then fsyncs it. dst must not exist.
func cloneFile(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	method := "clone"
	if err := reflink(out, in); err != nil {
		method = "copy"
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			os.Remove(dst)
			return "", fmt.Errorf("copy %s to %s: %w", src, dst, err)
		}
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(dst)
		return "", fmt.Errorf("sync %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		os.Remove(dst)
		return "", err
	}
	return method, nil
}

// writeFileAtomic writes v as JSON to path: temp file, fsync, rename.
func writeFileAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
