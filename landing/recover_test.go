package landing_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/sqlitestore"
)

// takeover is a real state store in which, the moment Recover lists the
// running runs, the recovering process has stalled past its lease's TTL and
// another host has taken the stream and begun writing.
type takeover struct {
	*sqlitestore.Store
	during func()
}

func (s *takeover) List(ctx context.Context, f state.RunFilter) ([]state.Run, error) {
	if s.during != nil {
		s.during()
		s.during = nil
	}
	return s.Store.List(ctx, f)
}

func TestRecoverStalledPastTTLRemovesNothingOfTheNewHolder(t *testing.T) {
	ctx := t.Context()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	z := landing.Zone{Dir: t.TempDir()}
	begin := func(host string) state.Run {
		r := state.Run{ID: state.NewRunID(time.Now()), Stream: "s", Kind: state.KindIngest, StartedAt: time.Now().UTC(), Host: host, PID: 7}
		if _, err := st.Acquire(ctx, state.Lease{Stream: "s", RunID: r.ID, Host: host, PID: 7}, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := st.Begin(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	b := begin("host-b")
	var c state.Run
	store := &takeover{Store: st, during: func() {
		st.Release(ctx, "s", b.ID) // b's lease ran out while it stalled
		c = begin("host-c")
		w, err := landing.NewWriter(z, "s", c.ID, landing.Manifest{}, landing.Options{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(`{"id":1}`))
		if _, err := w.Finish("", true); err != nil {
			t.Fatal(err)
		}
	}}
	_, err = z.Recover(ctx, store, "s", b.ID)
	var nl *landing.NotLeaseHolderError
	if !errors.As(err, &nl) || nl.Holder.RunID != c.ID {
		t.Fatalf("recover after losing the lease midway: %v, want NotLeaseHolderError naming %s", err, c.ID)
	}
	if staged, _ := z.StagedRuns("s"); !slices.Contains(staged, c.ID) {
		t.Fatalf("the new holder's run was removed: staged %v", staged)
	}
	if r, _ := st.Get(ctx, c.ID); r.Status != state.StatusRunning {
		t.Fatalf("the new holder's run is %s, want running", r.Status)
	}
}
