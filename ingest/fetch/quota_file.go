package fetch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Cross-process quota sharing.
//
// No library we know of implements a token bucket shared by processes, so
// this is hand-written: each source has a small JSON file
// <QuotaDir>/<source>.quota.json holding its quotaState (the budget's next
// slot as a GCRA timestamp, the upstream's remaining requests and reset, a
// requested pause, the breaker). Every change is a read-modify-write under an
// exclusive flock(2) on the sibling <source>.quota.lock file; the JSON file is
// replaced by rename, so a crash mid-write leaves the previous state, never a
// torn one. Several processes using the same directory (overlapping cron
// runs, parallel streams) therefore draw from one budget, wait for one
// "quota exhausted until T", and see one open breaker. The lock is held only
// for the read-modify-write, never while sleeping: a request reserves its
// slot, releases the lock, then sleeps until the slot.

// stateVersion is the quota file format version; a file of another version
// is ignored and replaced.
const stateVersion = 1

// QuotaFile returns the path of the shared quota state file of source under
// dir. Deleting it resets the source's shared budget, pause and breaker.
func QuotaFile(dir, source string) string {
	return filepath.Join(dir, quotaFileBase(source)+".quota.json")
}

func quotaFileBase(source string) string {
	var b strings.Builder
	for _, r := range source {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.TrimLeft(b.String(), ".")
	if name != source || name == "" {
		h := fnv.New32a()
		h.Write([]byte(source))
		name = fmt.Sprintf("%s-%08x", name, h.Sum32())
	}
	return name
}

// fileStore is the stateStore shared across processes through QuotaDir.
type fileStore struct {
	dir, path, lockPath string
	source              string
	// mu serialises this process's updates: flock locks belong to open
	// file descriptions, and this keeps one per update anyway.
	mu sync.Mutex
	// corrupt is called when the file could not be read and was reset.
	corrupt func(error)
}

var _ stateStore = (*fileStore)(nil)

func newFileStore(dir, source string, corrupt func(error)) (*fileStore, error) {
	if err := lockSupported(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create quota dir: %w", err)
	}
	base := quotaFileBase(source)
	return &fileStore{
		dir:      dir,
		path:     filepath.Join(dir, base+".quota.json"),
		lockPath: filepath.Join(dir, base+".quota.lock"),
		source:   source,
		corrupt:  corrupt,
	}, nil
}

func (f *fileStore) file() string { return f.path }

func (f *fileStore) update(fn func(s *quotaState)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	lf, err := os.OpenFile(f.lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open quota lock: %w", err)
	}
	defer lf.Close() // closing also releases the flock
	if err := lockFile(lf); err != nil {
		return fmt.Errorf("lock %s: %w", f.lockPath, err)
	}
	defer unlockFile(lf)

	st, raw := f.read()
	fn(&st)
	out, err := json.MarshalIndent(&st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode quota state: %w", err)
	}
	out = append(out, '\n')
	if bytes.Equal(out, raw) {
		return nil
	}
	return f.write(out)
}

// read returns the stored state (a fresh one if there is none or it cannot
// be used) and the bytes it was read from.
func (f *fileStore) read() (quotaState, []byte) {
	fresh := quotaState{Version: stateVersion, Source: f.source}
	raw, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return fresh, nil
	}
	if err != nil {
		f.corrupt(err)
		return fresh, nil
	}
	var st quotaState
	if err := json.Unmarshal(raw, &st); err != nil {
		f.corrupt(fmt.Errorf("parse %s: %w", f.path, err))
		return fresh, raw
	}
	if st.Version != stateVersion {
		f.corrupt(fmt.Errorf("%s has format version %d, want %d", f.path, st.Version, stateVersion))
		return fresh, raw
	}
	if st.Source == "" {
		st.Source = f.source
	}
	return st, raw
}

func (f *fileStore) write(data []byte) error {
	tmp, err := os.CreateTemp(f.dir, filepath.Base(f.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write quota state: %w", err)
	}
	name := tmp.Name()
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(name)
		return fmt.Errorf("write quota state: %w", err)
	}
	if err := os.Rename(name, f.path); err != nil {
		os.Remove(name)
		return fmt.Errorf("replace quota state: %w", err)
	}
	return nil
}
