package fetch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
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
// slot, releases the lock, then sleeps until the slot. Each process keeps
// the lock file open and re-reads the JSON file only when the path names
// another file than the one it last read (see cachedState): an update that
// changes nothing costs a few system calls, not an open, read and parse.

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
	// mu serialises this process's updates (flock locks belong to open
	// file descriptions, and lock is shared by them) and guards the fields
	// below.
	mu sync.Mutex
	// corrupt is called when the file could not be read and was reset.
	corrupt func(error)
	// lock is the open lock file, kept between updates (see lockHeld).
	lock *os.File
	// cache is the state as last read from the file, nil when unknown.
	cache *cachedState
}

// cachedState is the quota file as one update read it. The file is only
// ever replaced by rename, never written in place, so while the path names
// the same file (same inode, size and modification time) its contents are
// these; pinned keeps that file open so that its inode number cannot be
// reused by a later file while the cache refers to it. An update then
// costs one stat(2) instead of opening, reading and parsing the file.
type cachedState struct {
	pinned *os.File
	info   os.FileInfo
	st     quotaState
}

func (c *cachedState) fresh(info os.FileInfo) bool {
	return os.SameFile(c.info, info) && c.info.Size() == info.Size() && c.info.ModTime().Equal(info.ModTime())
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
	lf, err := f.lockHeld()
	if err != nil {
		return err
	}
	defer unlockFile(lf)

	st, raw, parsed := f.read()
	before := st
	fn(&st)
	if parsed && st == before {
		return nil // unchanged: nothing to write
	}
	out, err := json.MarshalIndent(&st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode quota state: %w", err)
	}
	out = append(out, '\n')
	if bytes.Equal(out, raw) {
		return nil
	}
	f.dropCache()
	return f.write(out)
}

// lockHeld takes the exclusive flock on the lock file, which stays open
// between updates. If the path no longer names the file locked (someone
// deleted or replaced it), the lock is taken again on the file the path
// names now: every process locks the same file.
func (f *fileStore) lockHeld() (*os.File, error) {
	for range 10 {
		if f.lock == nil {
			lf, err := os.OpenFile(f.lockPath, os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				return nil, fmt.Errorf("open quota lock: %w", err)
			}
			f.lock = lf
		}
		if err := lockFile(f.lock); err != nil {
			f.lock.Close()
			f.lock = nil
			return nil, fmt.Errorf("lock %s: %w", f.lockPath, err)
		}
		held, err := f.lock.Stat()
		if err == nil {
			var named os.FileInfo
			if named, err = os.Stat(f.lockPath); err == nil && os.SameFile(held, named) {
				return f.lock, nil
			}
		}
		f.lock.Close() // also releases the flock
		f.lock = nil
	}
	return nil, fmt.Errorf("lock %s: the lock file keeps being replaced", f.lockPath)
}

// read returns the stored state (a fresh one if there is none or it cannot
// be used), the bytes it was read from (nil when they are the cached
// state's), and whether the state is exactly the file's.
func (f *fileStore) read() (quotaState, []byte, bool) {
	fresh := quotaState{Version: stateVersion, Source: f.source}
	info, err := os.Stat(f.path)
	if err == nil && f.cache != nil && f.cache.fresh(info) {
		return f.cache.st, nil, true
	}
	f.dropCache()
	if errors.Is(err, fs.ErrNotExist) {
		return fresh, nil, false
	}
	var raw []byte
	var pinned *os.File
	if err == nil {
		if pinned, err = os.Open(f.path); err == nil {
			if info, err = pinned.Stat(); err == nil {
				raw, err = io.ReadAll(pinned)
			}
			if err != nil {
				pinned.Close()
			}
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fresh, nil, false // replaced and removed meanwhile
	}
	if err != nil {
		f.corrupt(err)
		return fresh, nil, false
	}
	var st quotaState
	if err := json.Unmarshal(raw, &st); err != nil {
		pinned.Close()
		f.corrupt(fmt.Errorf("parse %s: %w", f.path, err))
		return fresh, raw, false
	}
	if st.Version != stateVersion {
		pinned.Close()
		f.corrupt(fmt.Errorf("%s has format version %d, want %d", f.path, st.Version, stateVersion))
		return fresh, raw, false
	}
	if st.Source == "" {
		pinned.Close()
		st.Source = f.source
		return st, raw, false // rewritten with the source on the first change
	}
	f.cache = &cachedState{pinned: pinned, info: info, st: st}
	return st, raw, true
}

func (f *fileStore) dropCache() {
	if f.cache != nil {
		f.cache.pinned.Close()
		f.cache = nil
	}
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
