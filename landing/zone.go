package landing

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rawland/rawland/state"
)

// Zone is the data directory's landing area:
//
//	DATA/raw/<stream>/<run_id>/      committed runs only (immutable)
//	DATA/staging/<stream>/<run_id>/  runs being written; never read as landed
type Zone struct{ Dir string }

// RawDir is where a committed run's files live.
func (z Zone) RawDir(stream, runID string) string { return filepath.Join(z.Dir, "raw", stream, runID) }

// StagingDir is where a run's files are written before it commits.
func (z Zone) StagingDir(stream, runID string) string {
	return filepath.Join(z.Dir, "staging", stream, runID)
}

// StateDir holds the state store and other process-shared files.
func (z Zone) StateDir() string { return filepath.Join(z.Dir, "state") }

// Publish moves a committed run from staging into raw/. It is idempotent:
// if the run is already in raw/ it does nothing, so any process may roll a
// committed run forward after a crash between commit and publish.
func (z Zone) Publish(stream, runID string) error {
	src, dst := z.StagingDir(stream, runID), z.RawDir(stream, runID)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("publish run %s of %s: %w", runID, stream, err)
	}
	err := os.Rename(src, dst)
	if err != nil {
		if _, serr := os.Stat(dst); serr == nil {
			return nil // already published (possibly by another process)
		}
		return fmt.Errorf("publish run %s of %s: %w", runID, stream, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("publish run %s of %s: %w", runID, stream, err)
	}
	return syncDir(filepath.Dir(src))
}

// Remove deletes every file of a run that never committed.
func (z Zone) Remove(stream, runID string) error {
	if !state.ValidRunID(runID) {
		return fmt.Errorf("remove run: bad run id %q", runID)
	}
	for _, d := range []string{z.StagingDir(stream, runID), z.RawDir(stream, runID)} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("remove run %s of %s: %w", runID, stream, err)
		}
	}
	return nil
}

// RunDir returns the directory that holds a committed run's files, rolling
// it forward from staging first if a crash left it there.
func (z Zone) RunDir(stream, runID string) (string, error) {
	dst := z.RawDir(stream, runID)
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if _, err := os.Stat(z.StagingDir(stream, runID)); err == nil {
		if err := z.Publish(stream, runID); err != nil {
			return "", err
		}
		return dst, nil
	}
	return "", fmt.Errorf("files of committed run %s of %s are missing from %s: %w", runID, stream, dst, fs.ErrNotExist)
}

// StagedRuns lists the run IDs that have a staging directory for a stream.
func (z Zone) StagedRuns(stream string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(z.Dir, "staging", stream))
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

// syncDir fsyncs a directory so that renames and creations in it survive a
// power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// WriteFileAtomic writes data to path via a temporary name, fsync and rename,
// then fsyncs the directory: readers see the old file or the whole new one.
func WriteFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}
