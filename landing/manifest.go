package landing

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// File names inside a run directory.
const (
	ManifestFile    = "manifest.json"
	PagesFile       = "pages.ndjson"
	ManifestVersion = 1
)

// Manifest describes one run's landed files. It is written last, atomically,
// before the run commits.
type Manifest struct {
	Version         int        `json:"version"`
	RunID           string     `json:"run_id"`
	Stream          string     `json:"stream"`
	Kind            string     `json:"kind"`
	Source          string     `json:"source"`
	Records         int64      `json:"records"`
	Bytes           int64      `json:"bytes"`
	Pages           int64      `json:"pages"`
	Files           []FileInfo `json:"files"`
	CursorBefore    string     `json:"cursor_before"`
	CursorAfter     string     `json:"cursor_after"`
	Complete        bool       `json:"complete"`
	FirstTrackingID string     `json:"first_tracking_id,omitempty"`
	LastTrackingID  string     `json:"last_tracking_id,omitempty"`
	StartedAt       time.Time  `json:"started_at"`
	FinishedAt      time.Time  `json:"finished_at"`
	Host            string     `json:"host"`
	PID             int        `json:"pid"`
}

// FileInfo is one part file of a run.
type FileInfo struct {
	Name     string `json:"name"`
	Records  int64  `json:"records"`
	RawBytes int64  `json:"raw_bytes"` // uncompressed record bytes
	Bytes    int64  `json:"bytes"`     // bytes on disk
	SHA256   string `json:"sha256"`    // of the bytes on disk
	// XXH64 is the xxHash64 of the bytes on disk (16 hex digits), written
	// since 2026-12-02: readers check it instead of SHA-256 when it is
	// there (SHA-256 of the landed files was 3% of a transform's CPU, and
	// a checksum against corruption needs no cryptographic hash); parts
	// landed before have none and are checked against their SHA-256.
	XXH64 string `json:"xxh64,omitempty"`
}

// Page is one entry of a run's page log: which request produced which records.
type Page struct {
	N          int64  `json:"n"`
	URL        string `json:"url"` // secrets redacted
	Status     int    `json:"status"`
	Records    int    `json:"records"`
	Bytes      int    `json:"bytes"`
	TrackingID string `json:"tracking_id,omitempty"`
	Attempts   int    `json:"attempts"`
	LatencyMS  int64  `json:"latency_ms"`
	ID         string `json:"id,omitempty"` // delta queue: the record ID fetched
}

// ReadManifest reads the manifest of the run in dir.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, fmt.Errorf("read manifest: %w", err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("manifest %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return m, nil
}

// ErrCorrupt means a landed file does not match its manifest.
var ErrCorrupt = errors.New("landed file does not match its manifest")

// Record is one landed record and where it is.
type Record struct {
	File string // part file name
	Line int    // 1-based line in the part
	Data []byte // the record, exactly as landed; valid until the next call
}

// Records calls fn for every record of the run in dir, in landing order,
// verifying each part's checksum and record count against the manifest. It
// reads one line at a time; memory does not grow with the run.
func Records(ctx context.Context, dir string, fn func(Record) error) (Manifest, error) {
	return records(ctx, DirBackend{}.opener(dir), dir, fn)
}

// Records calls fn for every record of a committed run, in landing order,
// verifying each part against the manifest, wherever the zone keeps it (a
// run a crash left in staging is published first). It streams: memory does
// not grow with the run. The error wraps fs.ErrNotExist when the run's
// files are gone.
func (z Zone) Records(ctx context.Context, stream, runID string, fn func(Record) error) (Manifest, error) {
	b := z.Store()
	open := func(name string) (io.ReadCloser, error) { return b.Open(ctx, stream, runID, name) }
	// The manifest is opened once: where it is, the run is published.
	// Only where it is not is the run rolled forward from staging (locate)
	// and the manifest opened again; locating first cost an open and a
	// close per run, which a transform of many small runs pays a thousand
	// times.
	rc, err := open(ManifestFile)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := z.locate(ctx, stream, runID); err != nil {
			return Manifest{}, err
		}
		rc, err = open(ManifestFile)
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("locate run %s of %s: %w", runID, stream, err)
	}
	return recordsFrom(ctx, open, b.Location(stream, runID), rc, fn)
}

// opener opens files of the run directory dir.
func (DirBackend) opener(dir string) func(string) (io.ReadCloser, error) {
	return func(name string) (io.ReadCloser, error) {
		f, err := openRead(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("open landed file: %w", err)
		}
		return f, nil
	}
}

func records(ctx context.Context, open func(string) (io.ReadCloser, error), loc string, fn func(Record) error) (Manifest, error) {
	rc, err := open(ManifestFile)
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest: %w", err)
	}
	return recordsFrom(ctx, open, loc, rc, fn)
}

// recordsFrom is records with the manifest already open (rc, closed here).
func recordsFrom(ctx context.Context, open func(string) (io.ReadCloser, error), loc string, rc io.ReadCloser, fn func(Record) error) (Manifest, error) {
	var m Manifest
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	rc.Close()
	if err != nil {
		return m, fmt.Errorf("read manifest %s/%s: %w", loc, ManifestFile, err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("manifest %s/%s: %w", loc, ManifestFile, err)
	}
	for _, fi := range m.Files {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		f, err := open(fi.Name)
		if err != nil {
			return m, err
		}
		err = readPart(ctx, f, loc+"/"+fi.Name, fi, fn)
		f.Close()
		if err != nil {
			return m, err
		}
	}
	return m, nil
}

func readPart(ctx context.Context, f io.Reader, path string, fi FileInfo, fn func(Record) error) error {
	kind, want := "xxh64", fi.XXH64
	var sum hash.Hash = xxhash.New()
	if want == "" {
		kind, want, sum = "sha256", fi.SHA256, sha256.New()
	}
	var r io.Reader = io.TeeReader(f, sum)
	switch {
	case strings.HasSuffix(fi.Name, ".gz"):
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	case strings.HasSuffix(fi.Name, ".zst"):
		zr, err := zstd.NewReader(r)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	br := bufio.NewReaderSize(r, readBufSize(fi))
	line := 0
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// a record longer than the buffer: collect it whole
			full := append([]byte(nil), b...)
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = br.ReadSlice('\n')
				full = append(full, b...)
			}
			b = full
		}
		if len(b) > 0 {
			line++
			if line%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := fn(Record{File: fi.Name, Line: line, Data: trimNL(b)}); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s line %d: %w", path, line+1, err)
		}
	}
	io.Copy(io.Discard, f) // hash any trailing bytes the decompressor did not need
	if got := hex.EncodeToString(sum.Sum(nil)); got != want {
		return fmt.Errorf("%s: %s %s, manifest says %s: %w", path, kind, got, want, ErrCorrupt)
	}
	if int64(line) != fi.Records {
		return fmt.Errorf("%s: %d records, manifest says %d: %w", path, line, fi.Records, ErrCorrupt)
	}
	return nil
}

// readBufSize is the line buffer for reading part fi: 256 KiB, or less
// for a part that is smaller (by its manifest). A run of a hundred records
// is a part of tens of kilobytes, and a transform of a thousand such runs
// spent more time zeroing a fresh 256 KiB buffer per part (and collecting
// it) than reading the records. A record longer than the buffer is still
// read whole (readPart), only with a copy, so a manifest that understates
// the size costs time, never correctness.
func readBufSize(fi FileInfo) int {
	const most, least = 256 << 10, 4 << 10
	// RawBytes counts the uncompressed bytes, newlines included: no line
	// of an honest part is longer
	if fi.RawBytes <= 0 || fi.RawBytes > most {
		return most
	}
	return max(int(fi.RawBytes), least)
}

func trimNL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}
