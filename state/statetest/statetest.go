// Package statetest is the conformance suite every state.Store backend must
// pass: leases, atomic commit of run and cursor, fencing, the DLQ and the
// response paths seen per stream.
package statetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rawland/rawland/state"
)

// Factory opens a fresh, empty store for one subtest.
type Factory func(t *testing.T) state.Store

// Run runs the suite against stores made by open.
func Run(t *testing.T, open Factory) {
	t.Run("export jobs", func(t *testing.T) { RunJobs(t, open) })
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ids := map[int]string{}
	id := func(n int) string {
		if ids[n] == "" {
			ids[n] = state.NewRunID(t0.Add(time.Duration(n) * time.Second))
		}
		return ids[n]
	}

	t.Run("lease is exclusive until released", func(t *testing.T) {
		s := open(t)
		a, b := id(1), id(2)
		if _, err := s.Acquire(ctx, state.Lease{Stream: "x", RunID: a, Host: "h1", PID: 1}, time.Hour); err != nil {
			t.Fatal(err)
		}
		_, err := s.Acquire(ctx, state.Lease{Stream: "x", RunID: b, Host: "other-host", PID: 2}, time.Hour)
		var held *state.LeaseHeldError
		if !errors.As(err, &held) || held.Holder.RunID != a {
			t.Fatalf("second acquire: got %v, want LeaseHeldError naming %s", err, a)
		}
		if _, err := s.Acquire(ctx, state.Lease{Stream: "y", RunID: b, Host: "other-host", PID: 2}, time.Hour); err != nil {
			t.Fatalf("another stream must be free: %v", err)
		}
		if err := s.Release(ctx, "x", a); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Acquire(ctx, state.Lease{Stream: "x", RunID: b, Host: "other-host", PID: 2}, time.Hour); err != nil {
			t.Fatalf("after release: %v", err)
		}
		if err := s.Renew(ctx, "x", a, time.Hour); !errors.Is(err, state.ErrLeaseLost) {
			t.Fatalf("renew by old holder: got %v, want ErrLeaseLost", err)
		}
		c := id(3)
		if err := s.Transfer(ctx, "x", b, c); err != nil {
			t.Fatalf("transfer: %v", err)
		}
		if h, ok, _ := s.Holder(ctx, "x"); !ok || h.RunID != c {
			t.Fatalf("holder after transfer = %+v", h)
		}
		if err := s.Transfer(ctx, "x", b, c); !errors.Is(err, state.ErrLeaseLost) {
			t.Fatalf("transfer by old holder: got %v, want ErrLeaseLost", err)
		}
	})

	t.Run("finish many is all or none", func(t *testing.T) {
		s := open(t)
		fm, ok := s.(state.FinishManyer)
		if !ok {
			t.Fatalf("%T does not implement state.FinishManyer", s)
		}
		for i := 1; i <= 3; i++ {
			if err := s.Begin(ctx, state.Run{ID: id(i), Stream: "x", Kind: state.KindIngest}); err != nil {
				t.Fatal(err)
			}
		}
		bad := []state.Finish{{RunID: id(1), Status: state.StatusTransformed}, {RunID: id(9), Status: state.StatusTransformed}}
		if err := fm.FinishMany(ctx, bad); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("finish many with an unknown run: got %v, want ErrNotFound", err)
		}
		if r, _ := s.Get(ctx, id(1)); r.Status != state.StatusRunning {
			t.Fatalf("run 1 is %s after a refused finish many, want running (all or none)", r.Status)
		}
		good := []state.Finish{{RunID: id(1), Status: state.StatusTransformed, Report: "r1"}, {RunID: id(2), Status: state.StatusFailed, Error: "boom"}}
		if err := fm.FinishMany(ctx, good); err != nil {
			t.Fatal(err)
		}
		r1, _ := s.Get(ctx, id(1))
		r2, _ := s.Get(ctx, id(2))
		r3, _ := s.Get(ctx, id(3))
		if r1.Status != state.StatusTransformed || r1.Report != "r1" || r2.Status != state.StatusFailed || r2.Error != "boom" || r3.Status != state.StatusRunning {
			t.Fatalf("after finish many: %s %q / %s %q / %s", r1.Status, r1.Report, r2.Status, r2.Error, r3.Status)
		}
	})

	t.Run("expired lease is taken over", func(t *testing.T) {
		s := open(t)
		if _, err := s.Acquire(ctx, state.Lease{Stream: "x", RunID: id(1), Host: "h1", PID: 1}, time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		if _, ok, _ := s.Holder(ctx, "x"); ok {
			t.Fatal("expired lease still reported as held")
		}
		if _, err := s.Acquire(ctx, state.Lease{Stream: "x", RunID: id(2), Host: "h2", PID: 2}, time.Hour); err != nil {
			t.Fatalf("take over expired lease: %v", err)
		}
	})

	t.Run("commit moves cursor with the run", func(t *testing.T) {
		s := open(t)
		r := state.Run{ID: id(1), Stream: "x", Kind: state.KindIngest}
		mustLease(t, s, r.ID)
		if err := s.Begin(ctx, r); err != nil {
			t.Fatal(err)
		}
		r.CursorAfter, r.Records = "2020-01-01T00:00:00Z", 3
		if err := s.Commit(ctx, r, true); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Cursor(ctx, "x"); c != r.CursorAfter {
			t.Fatalf("cursor = %q, want %q", c, r.CursorAfter)
		}
		got, err := s.Get(ctx, r.ID)
		if err != nil || got.Status != state.StatusCommitted || got.Records != 3 {
			t.Fatalf("run after commit = %+v, %v", got, err)
		}
	})

	t.Run("commit refuses a moved cursor and changes nothing", func(t *testing.T) {
		s := open(t)
		r := state.Run{ID: id(1), Stream: "x", Kind: state.KindIngest, CursorBefore: "stale"}
		mustLease(t, s, r.ID)
		s.Begin(ctx, r)
		r.CursorAfter = "new"
		if err := s.Commit(ctx, r, true); !errors.Is(err, state.ErrCursorMoved) {
			t.Fatalf("got %v, want ErrCursorMoved", err)
		}
		if c, _ := s.Cursor(ctx, "x"); c != "" {
			t.Fatalf("cursor changed to %q", c)
		}
		if got, _ := s.Get(ctx, r.ID); got.Status != state.StatusRunning {
			t.Fatalf("status = %s, want running", got.Status)
		}
	})

	t.Run("commit refuses a run that lost its lease", func(t *testing.T) {
		s := open(t)
		r := state.Run{ID: id(1), Stream: "x", Kind: state.KindIngest}
		s.Begin(ctx, r)
		if _, err := s.Acquire(ctx, state.Lease{Stream: "x", RunID: id(2), Host: "h", PID: 9}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, r, true); !errors.Is(err, state.ErrLeaseLost) {
			t.Fatalf("got %v, want ErrLeaseLost", err)
		}
	})

	t.Run("reconcile commit leaves cursor", func(t *testing.T) {
		s := open(t)
		r := state.Run{ID: id(1), Stream: "x", Kind: state.KindIngest}
		mustLease(t, s, r.ID)
		s.Begin(ctx, r)
		r.CursorAfter = "5"
		s.Commit(ctx, r, true)
		s.Release(ctx, "x", r.ID)
		rc := state.Run{ID: id(2), Stream: "x", Kind: state.KindReconcile, CursorBefore: "5"}
		mustLease(t, s, rc.ID)
		s.Begin(ctx, rc)
		rc.CursorAfter, rc.Complete = "1", true
		if err := s.Commit(ctx, rc, false); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Cursor(ctx, "x"); c != "5" {
			t.Fatalf("reconcile moved cursor to %q", c)
		}
		runs, _ := s.List(ctx, state.RunFilter{Stream: "x", Kind: state.KindReconcile})
		if len(runs) != 1 || !runs[0].Complete {
			t.Fatalf("reconcile runs = %+v", runs)
		}
	})

	t.Run("list orders and filters", func(t *testing.T) {
		s := open(t)
		for i := 1; i <= 3; i++ {
			s.Begin(ctx, state.Run{ID: id(i), Stream: "x", Kind: state.KindIngest})
		}
		s.Finish(ctx, id(2), state.StatusFailed, "boom", "")
		all, _ := s.List(ctx, state.RunFilter{Stream: "x"})
		if len(all) != 3 || all[0].ID != id(3) {
			t.Fatalf("newest first: %+v", all)
		}
		failed, _ := s.List(ctx, state.RunFilter{Status: []state.Status{state.StatusFailed}, Oldest: true})
		if len(failed) != 1 || failed[0].Error != "boom" {
			t.Fatalf("failed runs: %+v", failed)
		}
		if _, err := s.Get(ctx, id(9)); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("get missing: %v", err)
		}
	})

	t.Run("seen paths accumulate per stream", func(t *testing.T) {
		s := open(t)
		got, err := s.SeenPaths(ctx, "x")
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("before any: %v, %v; want an empty set", got, err)
		}
		if err := s.AddSeenPaths(ctx, "x", []string{"/items next", `/items @odata\.nextLink`}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddSeenPaths(ctx, "x", []string{"/items next", "/items total"}); err != nil {
			t.Fatalf("adding a recorded path again: %v", err)
		}
		if err := s.AddSeenPaths(ctx, "y", []string{"/other has_more"}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddSeenPaths(ctx, "x", nil); err != nil {
			t.Fatalf("adding none: %v", err)
		}
		got, err = s.SeenPaths(ctx, "x")
		want := map[string]bool{"/items next": true, `/items @odata\.nextLink`: true, "/items total": true}
		if err != nil || len(got) != len(want) {
			t.Fatalf("seen paths of x = %v, %v; want %v", got, err, want)
		}
		for p := range want {
			if !got[p] {
				t.Fatalf("seen paths of x = %v; missing %q", got, p)
			}
		}
		if y, _ := s.SeenPaths(ctx, "y"); len(y) != 1 || !y["/other has_more"] {
			t.Fatalf("seen paths of y = %v", y)
		}
	})

	t.Run("reset clears the cursor and seen paths, keeps committed runs", func(t *testing.T) {
		s := open(t)
		r := state.Run{ID: id(1), Stream: "x", Kind: state.KindIngest, CursorAfter: "2020-01-01T00:00:00Z"}
		mustLease(t, s, r.ID)
		s.Begin(ctx, r)
		if err := s.Commit(ctx, r, true); err != nil {
			t.Fatal(err)
		}
		s.Release(ctx, "x", r.ID)
		s.AddSeenPaths(ctx, "x", []string{"/items next"})
		s.AddSeenPaths(ctx, "y", []string{"/other next"})
		reset := state.Run{ID: id(2), Stream: "x", Kind: state.KindReset}
		if err := s.Reset(ctx, reset); err == nil || !errors.Is(err, state.ErrLeaseLost) {
			t.Fatalf("reset without the lease: %v, want ErrLeaseLost", err)
		}
		if c, _ := s.Cursor(ctx, "x"); c != r.CursorAfter {
			t.Fatalf("a refused reset changed the cursor to %q", c)
		}
		mustLease(t, s, reset.ID)
		if err := s.Begin(ctx, reset); err != nil {
			t.Fatal(err)
		}
		if err := s.Reset(ctx, reset); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Cursor(ctx, "x"); c != "" {
			t.Fatalf("cursor after reset = %q, want none", c)
		}
		if p, _ := s.SeenPaths(ctx, "x"); len(p) != 0 {
			t.Fatalf("seen paths after reset = %v", p)
		}
		if p, _ := s.SeenPaths(ctx, "y"); !p["/other next"] {
			t.Fatalf("reset of x cleared y's paths")
		}
		got, err := s.Get(ctx, reset.ID)
		if err != nil || got.Status != state.StatusReset || got.Kind != state.KindReset || got.CursorBefore != r.CursorAfter {
			t.Fatalf("reset record = %+v, %v", got, err)
		}
		if old, _ := s.Get(ctx, r.ID); old.Status != state.StatusCommitted {
			t.Fatalf("the committed run became %s", old.Status)
		}
	})

	t.Run("dlq round trip", func(t *testing.T) {
		s := open(t)
		err := s.PutDLQ(ctx, []state.DLQEntry{{Stream: "c", RunID: id(1), ID: "42", URL: "http://x/records/42", Error: "404", Status: 404, Attempts: 1}, {Stream: "d", RunID: id(1), ID: "7"}})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.ListDLQ(ctx, "c")
		if len(got) != 1 || got[0].ID != "42" || got[0].Status != 404 {
			t.Fatalf("dlq = %+v", got)
		}
		s.DeleteDLQ(ctx, []int64{got[0].Seq})
		all, _ := s.ListDLQ(ctx, "")
		if len(all) != 1 || all[0].Stream != "d" {
			t.Fatalf("after delete = %+v", all)
		}
	})
}

func mustLease(t *testing.T, s state.Store, runID string) {
	t.Helper()
	if _, err := s.Acquire(context.Background(), state.Lease{Stream: "x", RunID: runID, Host: "h", PID: 1}, time.Hour); err != nil {
		t.Fatal(err)
	}
}
