package landing

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rawland/rawland/state"
)

// Zone is the data directory and the landing zone's backend. With Backend
// nil the runs live in the data directory (DirBackend{Dir}):
//
//	DATA/raw/<stream>/<run_id>/      committed runs only (immutable)
//	DATA/staging/<stream>/<run_id>/  runs being written; never read as landed
//
// With an object-store backend only DATA/state (and the warehouse) stay in
// the data directory.
type Zone struct {
	Dir     string
	Backend Backend
}

// Store returns the backend the zone's runs live in.
func (z Zone) Store() Backend {
	if z.Backend != nil {
		return z.Backend
	}
	return DirBackend{Dir: z.Dir}
}

// RawDir is where a committed run's files live in a directory zone.
func (z Zone) RawDir(stream, runID string) string { return filepath.Join(z.Dir, "raw", stream, runID) }

// StagingDir is where a run's files are written before it commits in a
// directory zone.
func (z Zone) StagingDir(stream, runID string) string {
	return filepath.Join(z.Dir, "staging", stream, runID)
}

// StateDir holds the state store and other process-shared files.
func (z Zone) StateDir() string { return filepath.Join(z.Dir, "state") }

// Publish moves a committed run from staging into raw/. It is idempotent:
// if the run is already in raw/ it does nothing, so any process may roll a
// committed run forward after a crash between commit and publish.
func (z Zone) Publish(stream, runID string) error {
	return z.Store().Publish(context.Background(), stream, runID)
}

// Remove deletes every file of a run that never committed.
func (z Zone) Remove(stream, runID string) error {
	if !state.ValidRunID(runID) {
		return fmt.Errorf("remove run: bad run id %q", runID)
	}
	return z.Store().Remove(context.Background(), stream, runID)
}

// RunDir returns where a committed run's files are (a directory, or a URL
// in an object store), rolling the run forward from staging first if a
// crash left it there. The error wraps fs.ErrNotExist when the run's files
// are gone.
func (z Zone) RunDir(stream, runID string) (string, error) {
	return z.locate(context.Background(), stream, runID)
}

func (z Zone) locate(ctx context.Context, stream, runID string) (string, error) {
	b := z.Store()
	loc := b.Location(stream, runID)
	rc, err := b.Open(ctx, stream, runID, ManifestFile)
	if err == nil {
		rc.Close()
		return loc, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("locate run %s of %s: %w", runID, stream, err)
	}
	if err := b.Publish(ctx, stream, runID); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("files of committed run %s of %s are missing from %s: %w", runID, stream, loc, fs.ErrNotExist)
		}
		return "", err
	}
	return loc, nil
}

// StagedRuns lists the run IDs that have files in staging for a stream.
func (z Zone) StagedRuns(stream string) ([]string, error) {
	return z.Store().StagedRuns(context.Background(), stream)
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
