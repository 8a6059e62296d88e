package reconcile_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/rawland/rawland/reconcile"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/sqlitestore"
)

func TestMarkDeleted(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name        string
		complete    bool
		keys        []int
		wantDeleted int64
		wantNote    bool
	}{
		{"complete snapshot marks the absent", true, []int{1, 3}, 2, false},
		{"incomplete snapshot marks nothing", false, []int{1}, 0, true},
		{"empty snapshot of a non-empty table marks nothing", true, nil, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db, err := sql.Open("duckdb", "")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			tx, _ := db.BeginTx(ctx, nil)
			defer tx.Rollback()
			tx.Exec(`CREATE TABLE t (id BIGINT, _rawland_deleted_at TIMESTAMPTZ)`)
			tx.Exec(`INSERT INTO t VALUES (1, NULL), (2, NULL), (3, NULL), (4, NULL)`)
			tx.Exec(`CREATE TEMP TABLE k (id BIGINT)`)
			for _, id := range tc.keys {
				tx.Exec(`INSERT INTO k VALUES (?)`, id)
			}
			rep, err := reconcile.MarkDeleted(ctx, tx, state.Run{Stream: "s", Complete: tc.complete}, "t", "k", []string{"id"}, now)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Deleted != tc.wantDeleted || (rep.Note != "") != tc.wantNote {
				t.Fatalf("report %+v", rep)
			}
			var n int64
			tx.QueryRow(`SELECT count(*) FROM t WHERE _rawland_deleted_at IS NOT NULL`).Scan(&n)
			if n != tc.wantDeleted {
				t.Fatalf("%d rows flagged, want %d", n, tc.wantDeleted)
			}
		})
	}
}

func TestDue(t *testing.T) {
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "rawland.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	week := 7 * 24 * time.Hour
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if due, _, _ := reconcile.Due(ctx, s, "x", week, t0); !due {
		t.Fatal("a stream with no runs should be due")
	}
	commit := func(kind state.Kind, at time.Time, complete bool) {
		r := state.Run{ID: state.NewRunID(at), Stream: "x", Kind: kind, StartedAt: at}
		s.Acquire(ctx, state.Lease{Stream: "x", RunID: r.ID}, time.Hour)
		s.Begin(ctx, r)
		r.Complete = complete
		if err := s.Commit(ctx, r, kind == state.KindIngest); err != nil {
			t.Fatal(err)
		}
		s.Release(ctx, "x", r.ID)
	}
	commit(state.KindIngest, t0, true)
	if due, next, _ := reconcile.Due(ctx, s, "x", week, t0.Add(time.Hour)); due || !next.Equal(t0.Add(week)) {
		t.Fatalf("first reconcile falls due a week after the first run, got due=%v next=%v", due, next)
	}
	commit(state.KindReconcile, t0.Add(8*24*time.Hour), false) // incomplete: does not count
	if due, _, _ := reconcile.Due(ctx, s, "x", week, t0.Add(9*24*time.Hour)); !due {
		t.Fatal("an incomplete reconcile must not reset the schedule")
	}
	commit(state.KindReconcile, t0.Add(9*24*time.Hour), true)
	if due, next, _ := reconcile.Due(ctx, s, "x", week, t0.Add(10*24*time.Hour)); due || !next.Equal(t0.Add(16*24*time.Hour)) {
		t.Fatalf("after a complete reconcile: due=%v next=%v", due, next)
	}
}
