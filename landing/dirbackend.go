package landing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// DirBackend keeps runs in a directory tree:
//
//	DIR/staging/<stream>/<run_id>/   runs being written; never read as landed
//	DIR/raw/<stream>/<run_id>/       committed runs only (immutable)
//
// The directory may be on a filesystem shared by many hosts (NFS, EFS) as
// long as it gives rename(2) within one filesystem its POSIX meaning (atomic,
// durable once the parent directory is fsynced): every file is written under
// a temporary name, fsynced and renamed, and the directory fsynced; the
// manifest is renamed into place last; the run is committed in the state
// store after that; Publish renames the run directory into raw/ (one atomic
// rename, so a glob over raw/ never sees a partial run).
type DirBackend struct{ Dir string }

var _ Backend = DirBackend{}

func (d DirBackend) rawDir(stream, runID string) string {
	return filepath.Join(d.Dir, "raw", stream, runID)
}

func (d DirBackend) stagingDir(stream, runID string) string {
	return filepath.Join(d.Dir, "staging", stream, runID)
}

// Create opens name.tmp in the run's staging directory (creating it, and
// fsyncing its parent, on first use).
func (d DirBackend) Create(_ context.Context, stream, runID, name string) (File, error) {
	dir := d.stagingDir(stream, runID)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create staging for run %s of %s: %w", runID, stream, err)
		}
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path+".tmp", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s of run %s: %w", name, runID, err)
	}
	return &dirFile{f: f, path: path}, nil
}

// dirFile is a file being written under its temporary name.
type dirFile struct {
	f    *os.File
	path string
}

func (f *dirFile) Write(p []byte) (int, error) { return f.f.Write(p) }

// Commit fsyncs the file, renames it to its name and fsyncs the directory.
func (f *dirFile) Commit() error {
	name := filepath.Base(f.path)
	if err := f.f.Sync(); err != nil {
		f.f.Close()
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := f.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	if err := os.Rename(f.path+".tmp", f.path); err != nil {
		return fmt.Errorf("rename %s: %w", name, err)
	}
	return syncDir(filepath.Dir(f.path))
}

// Abort closes and removes the temporary file.
func (f *dirFile) Abort() {
	f.f.Close()
	os.Remove(f.path + ".tmp")
}

// Open opens a file of a published run.
func (d DirBackend) Open(_ context.Context, stream, runID, name string) (io.ReadCloser, error) {
	f, err := openRead(filepath.Join(d.rawDir(stream, runID), name))
	if err != nil {
		return nil, fmt.Errorf("open landed file: %w", err)
	}
	return f, nil
}

// Publish renames the run's staging directory into raw/ and fsyncs both
// parents. Two processes publishing at once are safe: one rename wins, the
// other finds the run in raw/.
func (d DirBackend) Publish(_ context.Context, stream, runID string) error {
	src, dst := d.stagingDir(stream, runID), d.rawDir(stream, runID)
	if _, err := os.Stat(dst); err == nil {
		return nil // already published (possibly by another process)
	}
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("publish run %s of %s: neither %s nor %s exists: %w", runID, stream, src, dst, fs.ErrNotExist)
	}
	// only a run whose manifest is durable may be published (a committed
	// run always has one; this keeps a half-written run out of raw/)
	if _, err := os.Stat(filepath.Join(src, ManifestFile)); err != nil {
		if _, serr := os.Stat(dst); serr == nil {
			return nil // another process published it meanwhile
		}
		return fmt.Errorf("publish run %s of %s: no manifest in %s: %w", runID, stream, src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("publish run %s of %s: %w", runID, stream, err)
	}
	if err := os.Rename(src, dst); err != nil {
		if _, serr := os.Stat(dst); serr == nil {
			return nil // another process published it meanwhile
		}
		return fmt.Errorf("publish run %s of %s: %w", runID, stream, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("publish run %s of %s: %w", runID, stream, err)
	}
	return syncDir(filepath.Dir(src))
}

// Remove deletes the run's staging and raw directories.
func (d DirBackend) Remove(_ context.Context, stream, runID string) error {
	for _, dir := range []string{d.stagingDir(stream, runID), d.rawDir(stream, runID)} {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove run %s of %s: %w", runID, stream, err)
		}
	}
	return nil
}

// StagedRuns lists the run directories under staging/<stream>.
func (d DirBackend) StagedRuns(_ context.Context, stream string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(d.Dir, "staging", stream))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list staging of %s: %w", stream, err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Location is the run's directory in raw/.
func (d DirBackend) Location(stream, runID string) string { return d.rawDir(stream, runID) }
