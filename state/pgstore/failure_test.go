package pgstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rawland/rawland/internal/pgtest"
	"github.com/rawland/rawland/state"
)

// helperEnv makes the test binary a worker that takes a lease and waits
// to be killed (see TestKilledWorkerLeaseTakenOverAfterTTL).
const helperEnv = "PGSTORE_TEST_LEASE_HOLDER"

func init() {
	if os.Getenv(helperEnv) == "" {
		return
	}
	// child: DSN, schema, stream, run ID, ttl from the environment
	ctx := context.Background()
	s, err := Open(ctx, Options{DSN: os.Getenv("PGSTORE_DSN"), Schema: os.Getenv("PGSTORE_SCHEMA"), Host: "worker-a"})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	ttl, _ := time.ParseDuration(os.Getenv("PGSTORE_TTL"))
	if _, err := s.Acquire(ctx, state.Lease{Stream: "x", RunID: os.Getenv("PGSTORE_RUN"), Host: "worker-a"}, ttl); err != nil {
		fmt.Println("acquire:", err)
		os.Exit(3)
	}
	fmt.Println("held")
	time.Sleep(time.Minute) // until killed
	os.Exit(0)
}

func TestKilledWorkerLeaseTakenOverAfterTTL(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	const ttl = 2 * time.Second
	run1 := state.NewRunID(time.Now())
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "PGSTORE_DSN="+baseDSN, "PGSTORE_SCHEMA="+s.Schema(), "PGSTORE_RUN="+run1, "PGSTORE_TTL="+ttl.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	if string(buf[:n]) != "held\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("worker did not take the lease: %q", buf[:n])
	}
	cmd.Process.Kill() // SIGKILL while holding the lease
	cmd.Wait()
	killed := time.Now()

	// this worker is another host: the dead pid on worker-a means nothing here
	s.Host = "worker-b"
	run2 := state.NewRunID(time.Now())
	_, err = s.Acquire(ctx, state.Lease{Stream: "x", RunID: run2, Host: "worker-b", PID: os.Getpid()}, time.Minute)
	var held *state.LeaseHeldError
	if !errors.As(err, &held) || held.Holder.RunID != run1 || held.Holder.Host != "worker-a" {
		t.Fatalf("right after the kill: got %v, want LeaseHeldError naming %s on worker-a", err, run1)
	}
	deadline := time.Now().Add(ttl + 10*time.Second)
	for {
		_, err = s.Acquire(ctx, state.Lease{Stream: "x", RunID: run2, Host: "worker-b", PID: os.Getpid()}, time.Minute)
		if err == nil {
			break
		}
		if !errors.As(err, &held) || time.Now().After(deadline) {
			t.Fatalf("lease of the killed worker was not taken over: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if waited := time.Since(killed); waited < ttl-500*time.Millisecond {
		t.Fatalf("taken over after %s, before the %s TTL ran out", waited, ttl)
	}
	if h, ok, _ := s.Holder(ctx, "x"); !ok || h.RunID != run2 {
		t.Fatalf("holder = %+v, %v; want %s", h, ok, run2)
	}
}

func TestMigrationsOnceWhenWorkersStartTogether(t *testing.T) {
	server(t)
	schema := fmt.Sprintf("t%d", schemas.Add(1))
	var wg sync.WaitGroup
	errs := make([]error, 6)
	stores := make([]*Store, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(t.Context(), Options{DSN: baseDSN, Schema: schema})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	var n, max int
	if err := stores[0].pool.QueryRow(t.Context(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != Version() || max != Version() {
		t.Fatalf("schema_migrations has %d rows up to %d, want each of %d once", n, max, Version())
	}
}

// TestNetworkCutMidCommit cuts the connection to PostgreSQL at points of a
// commit: nothing may be lost (a commit that took effect reads as done, so
// the caller keeps its files) and nothing duplicated (a commit that did not
// take effect is applied once, never twice).
func TestNetworkCutMidCommit(t *testing.T) {
	srv := server(t)
	cases := []struct {
		name    string
		pattern string
		forward bool
		down    time.Duration // how long the proxy refuses connections after the cut
		resolve time.Duration
		wantErr error
	}{
		{name: "answer to COMMIT lost", pattern: "commit\x00", forward: true},
		{name: "cut before COMMIT is sent", pattern: "commit\x00", forward: false},
		{name: "cut during the run update", pattern: "update runs set status", forward: false},
		{name: "cut after the run update reached the server", pattern: "update runs set status", forward: true},
		{name: "answer lost, server unreachable for a while", pattern: "commit\x00", forward: true, down: 1500 * time.Millisecond},
		{name: "answer lost, unreachable past ResolveFor", pattern: "commit\x00", forward: true, down: 3 * time.Second, resolve: time.Second, wantErr: state.ErrCommitUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, direct, s := viaProxy(t, srv)
			if tc.resolve > 0 {
				s.ResolveFor = tc.resolve
			}
			ctx := t.Context()
			r := state.Run{ID: state.NewRunID(time.Now()), Stream: "x", Kind: state.KindIngest}
			if _, err := s.Acquire(ctx, state.Lease{Stream: "x", RunID: r.ID}, time.Hour); err != nil {
				t.Fatal(err)
			}
			if err := s.Begin(ctx, r); err != nil {
				t.Fatal(err)
			}
			trig := p.CutOn(pgtest.Trigger{Pattern: []byte(tc.pattern), Forward: tc.forward, Settle: 200 * time.Millisecond, Down: tc.down > 0})
			if tc.down > 0 {
				go func() { // the network comes back
					<-trig.Fired
					time.Sleep(tc.down)
					p.Up()
				}()
			}
			r.CursorAfter, r.Records = "c1", 7
			err := s.Commit(ctx, r, true)
			select {
			case <-trig.Fired:
			default:
				t.Fatal("the cut never happened: the test does not test anything")
			}
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("commit: %v, want %v", err, tc.wantErr)
			}
			// read back directly: exactly one committed run, cursor moved once
			got, gerr := direct.Get(ctx, r.ID)
			if gerr != nil || got.Status != state.StatusCommitted || got.Records != 7 {
				t.Fatalf("run after the cut = %+v, %v; want committed with 7 records", got, gerr)
			}
			if c, _ := direct.Cursor(ctx, "x"); c != "c1" {
				t.Fatalf("cursor = %q, want c1", c)
			}
			runs, _ := direct.List(ctx, state.RunFilter{Stream: "x"})
			if len(runs) != 1 {
				t.Fatalf("runs = %+v, want one", runs)
			}
		})
	}
}

// viaProxy opens a fresh schema twice: directly, and through a cutting
// proxy (closed with the test).
func viaProxy(t *testing.T, srv *pgtest.Server) (*pgtest.Proxy, *Store, *Store) {
	t.Helper()
	p, err := pgtest.NewProxy(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	direct := openFresh(t)
	s, err := Open(t.Context(), Options{DSN: srv.DSNVia(p.Addr(), dbName(t)), Schema: direct.Schema(), Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return p, direct, s
}

// dbName is the test database's name (from baseDSN).
func dbName(t *testing.T) string {
	t.Helper()
	for i := len(baseDSN) - 1; i >= 0; i-- {
		if baseDSN[i] == '/' {
			name := baseDSN[i+1:]
			if j := len(name) - len("?sslmode=disable"); j > 0 && name[j:] == "?sslmode=disable" {
				name = name[:j]
			}
			return name
		}
	}
	t.Fatalf("no database in %s", baseDSN)
	return ""
}

var _ = strconv.Itoa

// TestNetworkCutMidBeginAndDLQPut cuts the connection while a run's row is
// inserted and while dead letters are put: afterwards the run exists once,
// and every dead letter exists exactly once (a put repeated after a lost
// answer must not store the batch twice; one cut before it reached the
// server must not lose it).
func TestNetworkCutMidBeginAndDLQPut(t *testing.T) {
	srv := server(t)
	cases := []struct {
		name    string
		op      string // "begin" or "dlq"
		pattern string
		forward bool
	}{
		{name: "begin: answer to the insert lost", op: "begin", pattern: "insert into runs", forward: true},
		{name: "begin: cut before the insert is sent", op: "begin", pattern: "insert into runs", forward: false},
		{name: "dlq: answer to COMMIT lost", op: "dlq", pattern: "commit\x00", forward: true},
		{name: "dlq: cut before COMMIT is sent", op: "dlq", pattern: "commit\x00", forward: false},
		{name: "dlq: cut during the inserts", op: "dlq", pattern: "insert into dlq", forward: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, direct, s := viaProxy(t, srv)
			ctx := t.Context()
			r := state.Run{ID: state.NewRunID(time.Now()), Stream: "x", Kind: state.KindIngest}
			if _, err := s.Acquire(ctx, state.Lease{Stream: "x", RunID: r.ID}, time.Hour); err != nil {
				t.Fatal(err)
			}
			var trig *pgtest.Trigger
			cut := func() {
				trig = p.CutOn(pgtest.Trigger{Pattern: []byte(tc.pattern), Forward: tc.forward, Settle: 200 * time.Millisecond})
			}
			entries := []state.DLQEntry{
				{Stream: "x", RunID: r.ID, ID: "a", URL: "http://127.0.0.1/a", Error: "404", Status: 404},
				{Stream: "x", RunID: r.ID, ID: "b", URL: "http://127.0.0.1/b", Error: "410", Status: 410},
				{Stream: "x", RunID: r.ID, ID: "c", URL: "http://127.0.0.1/c", Error: "404", Status: 404},
			}
			var err error
			if tc.op == "begin" {
				cut()
				err = s.Begin(ctx, r)
			} else {
				if err := s.Begin(ctx, r); err != nil {
					t.Fatal(err)
				}
				cut()
				err = s.PutDLQ(ctx, entries)
			}
			select {
			case <-trig.Fired:
			default:
				t.Fatal("the cut never happened: the test does not test anything")
			}
			if err != nil {
				t.Fatalf("%s after the cut: %v", tc.op, err)
			}
			runs, _ := direct.List(ctx, state.RunFilter{Stream: "x"})
			if len(runs) != 1 || runs[0].ID != r.ID || runs[0].Status != state.StatusRunning {
				t.Fatalf("runs = %+v, want run %s once, running", runs, r.ID)
			}
			if tc.op != "dlq" {
				return
			}
			got, err := direct.ListDLQ(ctx, "x")
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, e := range got {
				seen[e.ID]++
			}
			for _, e := range entries {
				if seen[e.ID] != 1 {
					t.Errorf("dead letter %s stored %d times, want once (all: %+v)", e.ID, seen[e.ID], got)
				}
			}
		})
	}
}
