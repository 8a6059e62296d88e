package statetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rawland/rawland/state"
)

// RunJobs is the conformance suite of state.Jobs (export jobs). Stores made
// by open must implement it.
func RunJobs(t *testing.T, open Factory) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a, b := state.NewRunID(t0), state.NewRunID(t0.Add(time.Second))
	jobs := func(t *testing.T) (state.Store, state.Jobs) {
		s := open(t)
		js, ok := s.(state.Jobs)
		if !ok {
			t.Fatalf("%T does not implement state.Jobs", s)
		}
		return s, js
	}

	t.Run("job slot round trip per stream and kind", func(t *testing.T) {
		s, js := jobs(t)
		if _, ok, err := js.GetJob(ctx, "x", state.KindIngest); ok || err != nil {
			t.Fatalf("empty slot: ok=%v err=%v", ok, err)
		}
		mustLease(t, s, a)
		j := state.Job{Stream: "x", Kind: state.KindIngest, Key: "k1", RunID: a, Cursor: "c0"}
		if err := js.PutJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		got, ok, err := js.GetJob(ctx, "x", state.KindIngest)
		if err != nil || !ok || got.Key != "k1" || got.ID != "" || got.RunID != a || got.Cursor != "c0" || got.CreatedAt.IsZero() {
			t.Fatalf("after put = %+v, %v, %v", got, ok, err)
		}
		if _, ok, _ := js.GetJob(ctx, "x", state.KindReconcile); ok {
			t.Fatal("the reconcile slot must be separate from the ingest slot")
		}
		// the ID is recorded later, by a run that took the stream over
		if err := s.Release(ctx, "x", a); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Acquire(ctx, state.Lease{Stream: "x", RunID: b, Host: "h", PID: 2}, time.Hour); err != nil {
			t.Fatal(err)
		}
		j.ID, j.RunID = "job-7", b
		if err := js.PutJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		again, _, _ := js.GetJob(ctx, "x", state.KindIngest)
		if again.ID != "job-7" || again.RunID != b || !again.CreatedAt.Equal(got.CreatedAt) {
			t.Fatalf("after update = %+v (created %s before)", again, got.CreatedAt)
		}
		if err := js.ClearJob(ctx, "x", state.KindIngest, "other-key"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := js.GetJob(ctx, "x", state.KindIngest); !ok {
			t.Fatal("clearing another key must leave the job")
		}
		if err := js.ClearJob(ctx, "x", state.KindIngest, "k1"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := js.GetJob(ctx, "x", state.KindIngest); ok {
			t.Fatal("the slot is not empty after clear")
		}
		if err := js.ClearJob(ctx, "x", state.KindIngest, "k1"); err != nil {
			t.Fatalf("clearing an empty slot: %v", err)
		}
	})

	t.Run("put job refuses a run without the lease", func(t *testing.T) {
		s, js := jobs(t)
		mustLease(t, s, a)
		if err := js.PutJob(ctx, state.Job{Stream: "x", Kind: state.KindIngest, Key: "k1", RunID: a}); err != nil {
			t.Fatal(err)
		}
		err := js.PutJob(ctx, state.Job{Stream: "x", Kind: state.KindIngest, Key: "k2", ID: "stale", RunID: b})
		if !errors.Is(err, state.ErrLeaseLost) {
			t.Fatalf("put by a run without the lease: got %v, want ErrLeaseLost", err)
		}
		if got, _, _ := js.GetJob(ctx, "x", state.KindIngest); got.Key != "k1" || got.ID != "" {
			t.Fatalf("a refused put changed the job: %+v", got)
		}
	})
}
