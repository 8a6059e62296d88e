package fetch

import (
	"os"
	"testing"
)

// TestFileStoreSeesOtherWriters checks that a fileStore, which keeps the
// state it last read, always acts on what the file holds now: a change by
// another store on the same directory (another process), a deleted file, a
// file rewritten in place, and a deleted lock file.
func TestFileStoreSeesOtherWriters(t *testing.T) {
	bump := func(s *quotaState) { s.Strikes++ }
	cases := []struct {
		name    string
		between func(t *testing.T, a, b *fileStore) // after a's first update
		want    int                                 // a's strikes seen by its next update
	}{
		{"other store writes", func(t *testing.T, a, b *fileStore) {
			mustUpdate(t, b, bump)
			mustUpdate(t, b, bump)
		}, 3},
		{"file deleted", func(t *testing.T, a, b *fileStore) {
			if err := os.Remove(a.path); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"file rewritten in place", func(t *testing.T, a, b *fileStore) {
			if err := os.WriteFile(a.path, []byte(`{"version":1,"source":"api","remaining":0,"strikes":7}`+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, 7},
		{"lock file deleted", func(t *testing.T, a, b *fileStore) {
			if err := os.Remove(a.lockPath); err != nil {
				t.Fatal(err)
			}
			mustUpdate(t, b, bump)
		}, 2},
		{"unchanged", func(t *testing.T, a, b *fileStore) {}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a := mustFileStore(t, dir)
			b := mustFileStore(t, dir)
			mustUpdate(t, a, bump)
			mustUpdate(t, a, func(*quotaState) {}) // read and cache
			tc.between(t, a, b)
			var got int
			mustUpdate(t, a, func(s *quotaState) { got = s.Strikes })
			if got != tc.want {
				t.Errorf("strikes = %d, want %d", got, tc.want)
			}
			if tc.name == "lock file deleted" {
				// both stores must now lock the file the path names
				for _, s := range []*fileStore{a, b} {
					held, err := s.lock.Stat()
					if err != nil {
						t.Fatal(err)
					}
					named, err := os.Stat(s.lockPath)
					if err != nil || !os.SameFile(held, named) {
						t.Errorf("a store holds a lock on a file the lock path no longer names (%v)", err)
					}
				}
			}
		})
	}
}

func mustFileStore(t *testing.T, dir string) *fileStore {
	t.Helper()
	s, err := newFileStore(dir, "api", func(err error) { t.Errorf("corrupt: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.dropCache()
		if s.lock != nil {
			s.lock.Close()
		}
	})
	return s
}

func mustUpdate(t *testing.T, s *fileStore, fn func(*quotaState)) {
	t.Helper()
	if err := s.update(fn); err != nil {
		t.Fatal(err)
	}
}
