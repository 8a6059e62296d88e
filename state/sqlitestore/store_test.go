package sqlitestore_test

import (
	"context"
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
