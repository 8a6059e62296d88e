package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"

	"github.com/rawland/rawland/ingest/fetch"
	"github.com/rawland/rawland/internal/crashpoint"
	"github.com/rawland/rawland/state"
)

// Download limits.
const (
	// maxResumes bounds how often one file's transfer is resumed after
	// breaking off.
	maxResumes = 8
	// maxRefreshes bounds how often one file's URL is refreshed (polled
	// again) after the download host refused it as expired.
	maxRefreshes = 3
)

// landFiles downloads the done job's files one after the other and lands
// their records through sink.
func (x *exporter) landFiles(ctx context.Context, j *state.Job, sink func(batch) error) error {
	files, err := x.files(x.done)
	if err != nil {
		return fmt.Errorf("export job %s: %w", j.ID, err)
	}
	cut := &cutter{sink: sink, format: x.e.Download.Format, maxRecord: int64(x.src.MaxResponseBytes)}
	for i := range files {
		if err := x.landFile(ctx, j, files, i, cut); err != nil {
			return fmt.Errorf("export job %s, file %d of %d: %w", j.ID, i+1, len(files), err)
		}
		crashpoint.Hit("export_after_file")
	}
	x.log.Info("export files landed", KeyJobID, j.ID, "files", len(files), KeyRecords, cut.records)
	return nil
}

// landFile streams file i: raw bytes → checksum → decompression → records.
func (x *exporter) landFile(ctx context.Context, j *state.Job, files []exportFile, i int, cut *cutter) error {
	dl := x.e.Download
	maxFile := int64(dl.MaxFileBytes)
	if maxFile <= 0 {
		maxFile = int64(x.src.MaxResponseBytes)
	}
	r := &resumable{ctx: ctx, x: x, job: j, files: files, i: i}
	defer r.close()
	if files[i].checksum != "" {
		r.sum = sha256.New()
	}
	raw := &fetch.CapReader{R: r, Max: maxFile + maxFile/64 + 64<<10}
	dec, closeDec, err := decompress(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", r.shown(), err)
	}
	defer closeDec()
	capped := &fetch.CapReader{R: dec, Max: maxFile}
	cut.file, cut.line = r.shown(), 0
	if err := cut.cut(capped); err != nil {
		if raw.Over() || capped.Over() {
			return fmt.Errorf("%s: the file is over the %d byte limit (export.download.max_file_bytes, or the source's max_response_bytes)", r.shown(), maxFile)
		}
		return err
	}
	// drain what the decoder left (trailing bytes) so the checksum and the
	// size check see the whole file
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return fmt.Errorf("%s: %w", r.shown(), err)
	}
	if r.sum != nil {
		got := hex.EncodeToString(r.sum.Sum(nil))
		want := strings.ToLower(strings.TrimPrefix(files[i].checksum, "sha256:"))
		if got != want {
			return fmt.Errorf("%s: SHA-256 of the downloaded file is %s, the export says %s: the file is corrupt or incomplete; nothing of the run is kept", r.shown(), got, want)
		}
	}
	return nil
}

// resumable is one file's byte stream across broken transfers: a transfer
// that ends early is resumed with Range from the bytes already read (or, on
// a server without ranges, re-read from the start with those bytes
// skipped), and a URL the download host refuses (403, 404, 410: a
// pre-signed URL past its expiry) is replaced by polling the job again.
type resumable struct {
	ctx   context.Context
	x     *exporter
	job   *state.Job
	files []exportFile
	i     int

	body      *fetch.Body
	off       int64 // bytes of the file read so far
	size      int64 // the file's size when known (-1 otherwise)
	etag      string
	resumes   int
	refreshes int
	opened    bool
	sum       hash.Hash
}

// shown is the file's URL as logs and errors show it.
func (r *resumable) shown() string { return fetch.DownloadURL(r.files[r.i].url, nil) }

func (r *resumable) close() {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
}

func (r *resumable) Read(p []byte) (int, error) {
	for {
		if r.body == nil {
			if err := r.open(); err != nil {
				return 0, err
			}
		}
		n, err := r.body.Read(p)
		if n > 0 && r.sum != nil {
			r.sum.Write(p[:n])
		}
		r.off += int64(n)
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF && (r.size < 0 || r.off >= r.size):
			if r.size >= 0 && r.off > r.size {
				return n, fmt.Errorf("%s: read %d bytes of a %d byte file", r.shown(), r.off, r.size)
			}
			return n, io.EOF
		case r.ctx.Err() != nil:
			return n, context.Cause(r.ctx)
		}
		// broken off (reset, truncated, stalled): resume
		r.close()
		r.resumes++
		if r.resumes > maxResumes {
			return n, fmt.Errorf("%s: the transfer broke off %d times (last at byte %d: %v)", r.shown(), r.resumes, r.off, err)
		}
		r.x.log.Warn("export download broke off; resuming", "file", r.shown(), "offset", r.off, "err", err)
		if n > 0 {
			return n, nil
		}
	}
}

// open (re)opens the transfer at r.off.
func (r *resumable) open() error {
	x := r.x
	for {
		crashpoint.Hit("export_before_download")
		b, err := x.op.Open(r.ctx, fetch.Download{URL: r.files[r.i].url, Anonymous: !x.e.Download.Credentials,
			Offset: r.off, IfRange: r.etag, Stream: x.sess.s.Name, RunID: x.runID})
		var he *fetch.HTTPError
		if errors.As(err, &he) && (he.Status == http.StatusForbidden || he.Status == http.StatusNotFound || he.Status == http.StatusGone) {
			if r.refreshes >= maxRefreshes {
				return fmt.Errorf("the download host still refuses the file after %d fresh URLs: %w", r.refreshes, err)
			}
			r.refreshes++
			x.log.Warn("the download host refused the file (expired URL?); polling the job for fresh URLs", "file", r.shown(), "status", he.Status)
			if err := r.refresh(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if !r.opened {
			r.opened, r.size, r.etag = true, b.Size, b.ETag
		} else if b.Offset == 0 && r.off > 0 {
			// no ranges: the whole file again; skip what was read
			if r.size >= 0 && b.Size >= 0 && b.Size != r.size {
				b.Close()
				return fmt.Errorf("%s: the file changed size during the download (%d, now %d bytes)", r.shown(), r.size, b.Size)
			}
			if _, err := io.CopyN(io.Discard, b, r.off); err != nil {
				b.Close()
				return fmt.Errorf("%s: re-read the first %d bytes: %w", r.shown(), r.off, err)
			}
		}
		r.body = b
		return nil
	}
}

// refresh polls the job again and takes file i's new URL.
func (r *resumable) refresh() error {
	x := r.x
	a, err := x.pollOnce(r.ctx, r.job.ID)
	if err != nil {
		return fmt.Errorf("refresh the download URLs: %w", err)
	}
	if !a.done {
		return fmt.Errorf("refresh the download URLs: export job %s is %q again, not done", r.job.ID, a.status)
	}
	files, err := x.files(a.body)
	if err != nil {
		return fmt.Errorf("refresh the download URLs: %w", err)
	}
	if len(files) != len(r.files) {
		return fmt.Errorf("refresh the download URLs: export job %s now names %d files, it named %d", r.job.ID, len(files), len(r.files))
	}
	for k := range r.files {
		r.files[k].url = files[k].url
	}
	x.done = a.body
	return nil
}
