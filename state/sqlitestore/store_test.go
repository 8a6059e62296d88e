package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/sqlitestore"
	"github.com/rawland/rawland/state/statetest"
)

func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Store {
		s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "state", "rawland.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestDeadLocalHolderIsTakenOver(t *testing.T) {
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "rawland.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// pid 0x7ffffff0 does not exist; same host => the lease is stale at once.
	if _, err := s.Acquire(ctx, state.Lease{Stream: "x", RunID: "20260101T000000.000000Z-0000000001", Host: s.Host, PID: 0x7ffffff0}, 1<<40); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Acquire(ctx, state.Lease{Stream: "x", RunID: "20260101T000001.000000Z-0000000002"}, 1<<40); err != nil {
		t.Fatalf("lease of a dead local process must be taken over: %v", err)
	}
}

// TestOpenAddsSeenPathsToAnOldDatabase: a state database written before the
// seen_paths table existed gains it on open and keeps its runs and cursors.
func TestOpenAddsSeenPathsToAnOldDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rawland.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	// the cursors table as the first release created it, with one cursor
	if _, err := old.Exec(`CREATE TABLE cursors(stream TEXT PRIMARY KEY, value TEXT NOT NULL, run_id TEXT NOT NULL, updated_at INTEGER NOT NULL);
		INSERT INTO cursors VALUES('x', '42', '20260101T000000.000000Z-0000000001', 1)`); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatalf("open an old state database: %v", err)
	}
	defer s.Close()
	if c, err := s.Cursor(ctx, "x"); err != nil || c != "42" {
		t.Fatalf("cursor after open = %q, %v; want 42", c, err)
	}
	if err := s.AddSeenPaths(ctx, "x", []string{"/items next"}); err != nil {
		t.Fatalf("record a seen path in an old database: %v", err)
	}
	if got, err := s.SeenPaths(ctx, "x"); err != nil || !got["/items next"] {
		t.Fatalf("seen paths = %v, %v", got, err)
	}
}
