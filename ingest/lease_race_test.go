package ingest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/sqlitestore"
)

// TestLeaseTransferRacesRenewal reproduces a false "lease lost" the chaos
// suite met in a delta-queue run: session.next transfers the lease to the
// next cycle's run ID and only then tells the keeper (holder.set). A
// renewal that fires in between renews the old run ID, finds no lease and
// cancels the run (exit 1), though nobody else holds the stream. The sleep
// stands for a scheduling delay between the two steps under load.
func TestLeaseTransferRacesRenewal(t *testing.T) {
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const ttl = 300 * time.Millisecond
	first := state.NewRunID(time.Now())
	if _, err := store.Acquire(ctx, state.Lease{Stream: "s", RunID: first, PID: os.Getpid()}, ttl); err != nil {
		t.Fatal(err)
	}
	runCtx, keeper := keepLease(ctx, store, "s", first, ttl, slog.New(slog.DiscardHandler))
	defer keeper.stop()

	second := state.NewRunID(time.Now().Add(time.Millisecond))
	// what session.next does, with a delay between its two steps
	if err := store.Transfer(ctx, "s", first, second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(ttl / 2) // more than one renewal interval (ttl/3)
	keeper.set(second)

	time.Sleep(ttl / 2)
	if err := context.Cause(runCtx); err != nil {
		t.Fatalf("the run was cancelled though its process still holds the lease: %v", err)
	}
}
