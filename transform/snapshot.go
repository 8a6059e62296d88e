package transform

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rawland/rawland/internal/crashpoint"
)

// The warehouse readers open (DATA/warehouse.duckdb) is a published
// snapshot that rawland never writes while anyone may have it open.
// Transform, reconcile and replay work on a private working database under
// DATA/state/warehouse/ (for DATA/warehouse.duckdb). Publishing hands that
// file itself to readers: once checkpointed, closed and fsynced, and the
// pages in which it differs from the snapshot it replaces recorded in a
// delta file (while it is still private and exactly what rawland wrote;
// when it differs in most pages, a whole copy of it is kept instead), it
// gets the names readers open, by hard link and renames (no data is
// copied). A rename is atomic, so a reader opens either the previous
// snapshot or the new one, never a mix; a reader that has the previous one
// open keeps its inode, and its view, until it closes it. The previous
// snapshot keeps one private name, prev.duckdb; the next write session
// writes the delta into it to make the new working database (prepare.go),
// or renames the whole copy into place, or, when a reader may still have
// the previous snapshot open or someone wrote into it, copies a file no
// one wrote into instead.

// layout is where the warehouse's files live.
type layout struct {
	published string // DATA/warehouse.duckdb: what analysts open
	staged    string // DATA/.warehouse.duckdb.new: the next snapshot's second name, renamed over published
	dir       string // DATA/state/warehouse: rawland's private files
	work      string // the working database (never opened by readers)
	reader    string // a second name of the published snapshot, opened by rawland's own readers
	prev      string // the previous snapshot, kept to become the next working database
	delta     string // next.delta: the pages in which the published snapshot differs from prev
	next      string // next.duckdb: a whole copy of the published snapshot, made when it differs too much from prev
	nextSeal  string // next.json: the seal of the snapshot next.duckdb copies
	patching  string // prev while the delta is written into it
	seal      string // sealed.json: the identity of the snapshot handed to readers
	tmp       string // what an older rawland left while it copied a snapshot
	workTmp   string // the next working database while it is copied
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
		prev:      filepath.Join(dir, "prev.duckdb"),
		delta:     filepath.Join(dir, "next.delta"),
		next:      filepath.Join(dir, "next.duckdb"),
		nextSeal:  filepath.Join(dir, "next.json"),
		patching:  filepath.Join(dir, "patching.duckdb"),
		seal:      filepath.Join(dir, "sealed.json"),
		tmp:       filepath.Join(dir, "publish.tmp"),
		workTmp:   filepath.Join(dir, "work.tmp"),
		manifest:  filepath.Join(dir, "published.json"),
		lock:      filepath.Join(dir, "work.lock"),
	}
}

// Manifest describes the published snapshot (DATA/state/warehouse/published.json).
type Manifest struct {
	// PublishedAt is when the snapshot was published.
	PublishedAt time.Time `json:"published_at"`
	// Iteration is the working database's checkpoint iteration that was
	// published: the working database is newer when its own differs.
	Iteration uint64 `json:"iteration"`
	// Bytes is the snapshot's size.
	Bytes int64 `json:"bytes"`
	// Method is how the snapshot was made: "swap" (the working database
	// itself became the snapshot, no data copied).
	Method string `json:"method"`
	// Seconds is how long the publish took.
	Seconds float64 `json:"seconds"`
	// Streams are the per-stream counts of the snapshot (for status).
	Streams map[string]StreamCounts `json:"streams"`
}

func readManifest(path string) (*Manifest, error) {
	var m Manifest
	if err := readJSON(path, &m); err != nil {
		return nil, err
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
		// published (or being published) and not prepared again yet: the
		// seal is written before the snapshot gets its names, the manifest
		// after
		var sl seal
		if err := readJSON(lay.seal, &sl); err == nil {
			ps.Pending = m == nil || sl.Iteration != m.Iteration
		}
		return ps
	}
	iter, err := fileIteration(lay.work)
	ps.Pending = m == nil || err != nil || iter != m.Iteration || walSize(lay.work) > 0
	return ps
}

// publish makes the working database (closed, checkpointed) the published
// snapshot, unless the snapshot already is it. Every step leaves a
// readable warehouse and loses nothing: the file is fsynced before any new
// name points at it, and each rename is atomic; a crash anywhere leaves the
// previous snapshot (or the new one) published and either the working
// database or a published snapshot whose iteration differs from the
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
	if err := syncFile(lay.work); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	sl, err := sealOf(lay.work)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	keepPrev, err := writeDeltaFor(ctx, lay, sl, log)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	crashpoint.Hit("publish_delta")
	if err := writeFileAtomic(lay.seal, sl); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	// the snapshot being replaced keeps a private name: the next working
	// database is made from it
	if err := os.Remove(lay.prev); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("publish: %w", err)
	}
	if keepPrev {
		if err := os.Link(lay.reader, lay.prev); err != nil {
			log.Info("cannot keep the previous snapshot; the next run copies the warehouse", KeyPath, lay.prev, "error", err)
		}
	}
	// the snapshot gets two names: the one analysts open, and a private one
	// for rawland's own readers (whose write-ahead-log path no analyst's
	// read-write session can ever use)
	if err := os.Link(lay.work, lay.staged); err != nil {
		if _, err := cloneFile(lay.work, lay.staged); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	crashpoint.Hit("publish_copied")
	if err := os.Rename(lay.work, lay.reader); err != nil {
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
	m := Manifest{PublishedAt: now.UTC(), Iteration: iter, Bytes: sl.Bytes, Method: "swap", Seconds: time.Since(start).Seconds(), Streams: counts}
	if err := writeFileAtomic(lay.manifest, m); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	log.Info("published the warehouse", KeyPath, lay.published, "bytes", m.Bytes, "method", m.Method, "seconds", m.Seconds)
	return nil
}

// deltaLimit is the largest delta against the previous snapshot a publish
// keeps, as a fraction of the working database: beyond it (a run that
// rewrote most of the warehouse) the delta holds the whole working
// database instead and the previous snapshot is not kept, so that disk use
// stays at about twice the warehouse.
const deltaLimit = 4

// writeDeltaFor records, before the working database (sealed as sl) is
// handed to readers, the pages in which it differs from the snapshot it
// replaces and the identity of that snapshot as read, or (with no
// snapshot to diff against, or too many differences) a whole copy of the
// working database (keepWholeCopy). It reports whether the previous
// snapshot is needed. A delta or copy that cannot be written is not an
// error (the next working database is then copied from the published
// snapshot, if it is unchanged); a cancelled ctx is.
func writeDeltaFor(ctx context.Context, lay layout, sl seal, log *slog.Logger) (keepPrev bool, err error) {
	// a delta or copy of the snapshot being replaced is superseded (the
	// copy's seal first: a copy without it is never used)
	for _, f := range []string{lay.delta, lay.nextSeal, lay.next} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	why := "no previous snapshot"
	if exists(lay.reader) {
		want, err := os.Open(lay.work)
		if err != nil {
			return false, err
		}
		err = diffPublished(ctx, lay, want, sl)
		want.Close()
		if err == nil {
			return true, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return false, cerr
		}
		why = err.Error()
	}
	start := time.Now()
	if err := keepWholeCopy(ctx, lay, sl); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return false, cerr
		}
		log.Warn("cannot keep a copy of the published warehouse for the next run; if a read-write session writes into the warehouse, the next run fails", KeyPath, lay.next, "error", err)
		return false, nil
	}
	log.Info("kept a whole copy of the published warehouse for the next run", KeyPath, lay.next, "bytes", sl.Bytes, "why", why, "seconds", time.Since(start).Seconds())
	return false, nil
}

// keepWholeCopy copies the working database (sealed as sl) to next.duckdb
// and then records sl in next.json. The next preparation renames the copy
// into place as the working database (useWholeCopy): the one copy of the
// file a run that rewrote most of the warehouse needs, made while the
// file is still private and exactly what rawland wrote. Until then it is
// the fallback should a read-write session write into the published
// snapshot. It used to be a delta holding every page (next.delta), and
// the next preparation copied the published snapshot anyway: two copies
// of the file, 0.11 s and 0.13 s of a 3.8 s `transform --rebuild` of 1M
// users (an 88 MB warehouse).
func keepWholeCopy(ctx context.Context, lay layout, sl seal) error {
	tmp := lay.next + ".tmp"
	os.Remove(tmp)
	if _, err := cloneFileCtx(ctx, lay.work, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, lay.next); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := writeFileAtomic(lay.nextSeal, sl); err != nil {
		os.Remove(lay.next)
		return err
	}
	return syncDir(lay.dir)
}

// diffPublished writes the delta from the published snapshot to want.
func diffPublished(ctx context.Context, lay layout, want *os.File, sl seal) error {
	base, err := sealOf(lay.reader)
	if err != nil {
		return err
	}
	have, err := os.Open(lay.reader)
	if err != nil {
		return err
	}
	defer have.Close()
	if frac, err := sampleDiffering(want, have, sl.Bytes); err == nil && frac > 0.4 {
		return fmt.Errorf("%w (%.0f%% of %d sampled pages differ)", errDeltaTooBig, 100*frac, diffSamples)
	}
	if _, err := writeDelta(ctx, lay.delta, want, have, deltaHeader{Base: base, Target: sl}, sl.Bytes/deltaLimit); err != nil {
		return err
	}
	if after, err := sealOf(lay.reader); err != nil || !after.same(base) {
		os.Remove(lay.delta)
		return fmt.Errorf("%s changed while it was read (a read-write session wrote into it)", lay.reader)
	}
	return nil
}

// diffSamples is how many pages sampleDiffering compares.
const diffSamples = 256

// sampleDiffering estimates the fraction of want's pages that differ
// from have by comparing diffSamples pages spread evenly over want
// (wantBytes long). A run that rewrote most of the warehouse (a
// --rebuild, a first load of a big stream) would otherwise read a quarter
// of both files and write it into a delta before giving up (0.4–0.5 s of
// a 10M-row rebuild's 1.3 s publish); a small run differs in a few pages,
// so the threshold of 40% against the delta's 25% leaves it 15 points for
// the sample's error (about 3 points for 256 pages). DuckDB rewrites a
// changed block whole, so a page that differs marks a rewritten block.
func sampleDiffering(want, have *os.File, wantBytes int64) (float64, error) {
	pages := wantBytes / patchPage
	if pages < diffSamples*4 {
		return 0, nil // small files: the full diff is cheap
	}
	bw, bh := make([]byte, patchPage), make([]byte, patchPage)
	differ := 0
	for i := range int64(diffSamples) {
		off := (i*pages/diffSamples + pages/(2*diffSamples)) * patchPage
		if _, err := want.ReadAt(bw, off); err != nil {
			return 0, err
		}
		nh, err := have.ReadAt(bh, off)
		if err != nil && err != io.EOF {
			return 0, err
		}
		if nh < len(bh) || !bytes.Equal(bw, bh) {
			differ++
		}
	}
	return float64(differ) / diffSamples, nil
}

// cleanStale removes what an interrupted publish or reader left behind.
func cleanStale(lay layout, log *slog.Logger) {
	for _, p := range []string{lay.tmp, lay.staged, lay.workTmp, lay.delta + ".tmp", lay.next + ".tmp"} {
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
