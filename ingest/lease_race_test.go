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

// TestLeaseTransferRacesRenewal: the chaos suite met a false "lease lost"
// in a delta-queue run: the lease was transferred to the next cycle's run
// ID and a renewal that fired before the keeper learned the new ID renewed
// the old one, found no lease and cancelled the run. The transfer here is
// slowed down (a scheduling delay under load) by more than a renewal
// interval; the run must survive it and keep its lease renewed.
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
	err = keeper.transfer(second, func(from string) error {
		if err := store.Transfer(ctx, "s", from, second); err != nil {
			return err
		}
		time.Sleep(ttl / 2) // more than one renewal interval (ttl/3)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(ttl) // several renewals of the new run ID, past the old expiry
	if err := context.Cause(runCtx); err != nil {
		t.Fatalf("the run was cancelled though its process still holds the lease: %v", err)
	}
	if h, ok, _ := store.Holder(ctx, "s"); !ok || h.RunID != second {
		t.Fatalf("holder = %+v, %v; want %s, renewed", h, ok, second)
	}
}
