package landing

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/sourcegraph/conc/pool"

	"github.com/rawland/rawland/internal/crashpoint"
)

// Options say how a run's files are written.
type Options struct {
	RollBytes   int64  // start a new part after this many uncompressed bytes (default 64 MiB)
	Compression string // none | gzip | zstd
}

// Writer streams one run's records into rolled JSON-lines part files in the
// run's staging area of the zone's backend. Memory stays at the open part's
// two 256 KiB buffers (one of them being written to the backend in the
// background: see chunkWriter), the page log's buffer and the backend's
// upload buffers, whatever the stream's size. Not safe for concurrent use.
type Writer struct {
	ctx           context.Context
	store         Backend
	stream, runID string
	opts          Options
	man           Manifest
	pages         File
	pagesBuf      *bufio.Writer // the page log, flushed by Finish
	pagesEnc      *json.Encoder

	// the open part
	f      File
	buf    *chunkWriter
	comp   io.WriteCloser
	sum    hash.Hash
	xsum   hash.Hash // the part's xxHash64 (FileInfo.XXH64)
	cw     *countWriter
	part   FileInfo
	closed bool
	// syncs commits closed parts (fsync + rename, or the upload's end), one
	// at a time, while the next part is written; Finish waits for them
	// before the manifest.
	syncs *pool.ErrorPool
}

// NewWriter creates the run's staging area and returns its writer.
func NewWriter(z Zone, stream, runID string, m Manifest, opts Options) (*Writer, error) {
	return NewWriterContext(context.Background(), z, stream, runID, m, opts)
}

// NewWriterContext is NewWriter whose backend I/O (uploads) ends with ctx.
func NewWriterContext(ctx context.Context, z Zone, stream, runID string, m Manifest, opts Options) (*Writer, error) {
	if opts.RollBytes <= 0 {
		opts.RollBytes = 64 << 20
	}
	store := z.Store()
	pages, err := store.Create(ctx, stream, runID, PagesFile)
	if err != nil {
		return nil, fmt.Errorf("create page log of run %s: %w", runID, err)
	}
	m.Version, m.Stream, m.RunID = ManifestVersion, stream, runID
	if m.StartedAt.IsZero() {
		m.StartedAt = time.Now().UTC()
	}
	pb := bufio.NewWriterSize(pages, 32<<10)
	return &Writer{ctx: ctx, store: store, stream: stream, runID: runID, opts: opts, man: m, pages: pages, pagesBuf: pb, pagesEnc: json.NewEncoder(pb)}, nil
}

// Write appends one record. rec must be one JSON value; insignificant
// whitespace is removed so that it fits on one line, and nothing else is
// changed: numbers, key order, string escapes stay as the upstream sent them.
func (w *Writer) Write(rec []byte) error {
	if w.f == nil {
		if err := w.openPart(); err != nil {
			return err
		}
	}
	line := rec
	if hasWhitespaceOutsideStrings(rec) {
		var b bytes.Buffer
		if err := json.Compact(&b, rec); err != nil {
			return fmt.Errorf("land record %d of run %s: not one JSON value: %w", w.man.Records+1, w.runID, err)
		}
		line = b.Bytes()
	}
	if bytes.IndexByte(line, '\n') >= 0 {
		// only a raw line break inside a string (invalid JSON) is left:
		// landed as is it would split the record in two lines
		return fmt.Errorf("land record %d of run %s: not one JSON value: a raw line break inside a string", w.man.Records+1, w.runID)
	}
	var err error
	if w.comp != nil {
		_, err = w.comp.Write(line)
		if err == nil {
			_, err = w.comp.Write([]byte{'\n'})
		}
	} else {
		_, err = w.buf.Write(line)
		if err == nil {
			err = w.buf.WriteByte('\n')
		}
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", w.part.Name, err)
	}
	n := int64(len(line) + 1)
	w.part.Records++
	w.part.RawBytes += n
	w.man.Records++
	w.man.Bytes += n
	if w.part.RawBytes >= w.opts.RollBytes {
		return w.closePart()
	}
	return nil
}

// Page records one fetched page in the run's page log (pages.ndjson) and
// counts it in the manifest.
func (w *Writer) Page(p Page) error {
	w.man.Pages++
	if p.TrackingID != "" {
		if w.man.FirstTrackingID == "" {
			w.man.FirstTrackingID = p.TrackingID
		}
		w.man.LastTrackingID = p.TrackingID
	}
	if err := w.pagesEnc.Encode(p); err != nil {
		return fmt.Errorf("write page log of run %s: %w", w.runID, err)
	}
	return nil
}

// Records is the number of records written so far.
func (w *Writer) Records() int64 { return w.man.Records }

// Bytes is the number of record bytes written so far (uncompressed).
func (w *Writer) Bytes() int64 { return w.man.Bytes }

func (w *Writer) openPart() error {
	name := fmt.Sprintf("part-%05d.jsonl", len(w.man.Files)+1)
	switch w.opts.Compression {
	case "gzip":
		name += ".gz"
	case "zstd":
		name += ".zst"
	}
	f, err := w.store.Create(w.ctx, w.stream, w.runID, name)
	if err != nil {
		return fmt.Errorf("create part of run %s: %w", w.runID, err)
	}
	w.f, w.sum, w.xsum = f, sha256.New(), xxhash.New()
	w.cw = &countWriter{w: io.MultiWriter(f, w.sum, w.xsum)}
	w.buf = newChunkWriter(w.cw, 256<<10)
	w.part = FileInfo{Name: name}
	w.comp = nil
	switch w.opts.Compression {
	case "gzip":
		w.comp = gzip.NewWriter(w.buf)
	case "zstd":
		zw, err := zstd.NewWriter(w.buf)
		if err != nil {
			return fmt.Errorf("zstd writer: %w", err)
		}
		w.comp = zw
	}
	return nil
}

// closePart flushes the open part and hands it to the background syncer,
// which commits it (fsync and rename to its final name, or the end of its
// upload; at most one part is being committed while the next is written:
// the disk's write-back or the upload overlaps the download instead of
// stalling it).
func (w *Writer) closePart() error {
	if w.f == nil {
		return nil
	}
	name := w.part.Name
	if w.comp != nil {
		if err := w.comp.Close(); err != nil {
			return fmt.Errorf("finish %s: %w", name, err)
		}
	}
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("flush %s: %w", name, err)
	}
	f := w.f
	w.part.Bytes = w.cw.n
	w.part.SHA256 = hex.EncodeToString(w.sum.Sum(nil))
	w.part.XXH64 = hex.EncodeToString(w.xsum.Sum(nil))
	w.man.Files = append(w.man.Files, w.part)
	w.f = nil
	if w.syncs == nil {
		w.syncs = pool.New().WithErrors().WithMaxGoroutines(1)
	}
	w.syncs.Go(func() error {
		if err := f.Commit(); err != nil {
			return fmt.Errorf("commit %s of run %s: %w", name, w.runID, err)
		}
		crashpoint.Hit("after_part")
		return nil
	})
	return nil
}

// waitSyncs waits for the parts being synced; the first error, if any.
func (w *Writer) waitSyncs() error {
	if w.syncs == nil {
		return nil
	}
	p := w.syncs
	w.syncs = nil
	return p.Wait()
}

// Finish makes the run durable in staging: the last part is closed and
// committed, then the page log, then the manifest (with m's cursor,
// complete and timing fields), each atomically. After Finish the run can be
// committed in the state store.
func (w *Writer) Finish(cursorAfter string, complete bool) (Manifest, error) {
	if w.closed {
		return w.man, fmt.Errorf("finish run %s: already finished", w.runID)
	}
	if err := w.closePart(); err != nil {
		return w.man, err
	}
	if err := w.waitSyncs(); err != nil {
		return w.man, err
	}
	w.closed = true
	if err := w.pagesBuf.Flush(); err != nil {
		w.pages.Abort()
		return w.man, fmt.Errorf("write page log of run %s: %w", w.runID, err)
	}
	if err := w.pages.Commit(); err != nil {
		return w.man, fmt.Errorf("commit page log of run %s: %w", w.runID, err)
	}
	w.man.CursorAfter = cursorAfter
	w.man.Complete = complete
	w.man.FinishedAt = time.Now().UTC()
	data, err := json.MarshalIndent(w.man, "", "  ")
	if err != nil {
		return w.man, fmt.Errorf("encode manifest of run %s: %w", w.runID, err)
	}
	mf, err := w.store.Create(w.ctx, w.stream, w.runID, ManifestFile)
	if err != nil {
		return w.man, fmt.Errorf("create manifest of run %s: %w", w.runID, err)
	}
	if _, err := mf.Write(data); err != nil {
		mf.Abort()
		return w.man, fmt.Errorf("write manifest of run %s: %w", w.runID, err)
	}
	if err := mf.Commit(); err != nil {
		return w.man, fmt.Errorf("commit manifest of run %s: %w", w.runID, err)
	}
	return w.man, nil
}

// Abort closes whatever is open and removes the run's staging directory.
func (w *Writer) Abort() error {
	w.waitSyncs()
	if w.f != nil {
		w.buf.wait() // no write may be in flight to the file removed
		w.f.Abort()
		w.f = nil
	}
	if !w.closed {
		w.pages.Abort()
		w.closed = true
	}
	return w.store.Remove(context.WithoutCancel(w.ctx), w.stream, w.runID)
}

// hasWhitespaceOutsideStrings reports whether a JSON text has insignificant
// whitespace (between tokens) that must go for it to fit on one line.
// Hand-written because json.Compact runs the full JSON state machine on
// every record, while most upstreams send records without such whitespace
// (spaces inside strings are common and must stay). Outside strings it
// looks at each byte; a string is skipped to its closing quote with
// bytes.IndexByte: the first quote not escaped by an odd run of
// backslashes (as a byte-by-byte walk that skips the byte after each
// backslash would find it). An unterminated string runs to the end.
func hasWhitespaceOutsideStrings(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			return true
		case '"':
			j := i + 1
			for {
				k := bytes.IndexByte(b[j:], '"')
				if k < 0 {
					return false
				}
				j += k
				n := 0
				for p := j - 1; p > i && b[p] == '\\'; p-- {
					n++
				}
				if n%2 == 0 {
					break
				}
				j++
			}
			i = j
		}
	}
	return false
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
