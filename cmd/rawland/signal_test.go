package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
)

// hangBound is how long a child may take to end after a signal or a panic
// before the test calls it hung. It is a hang detector, not a timing
// assertion: a prompt stop takes well under a second here.
const hangBound = 30 * time.Second

// watched is a started child whose stderr is read line by line.
type watched struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	out   bytes.Buffer
	lines chan string
	done  chan struct{}
}

func startWatched(t *testing.T, dir string, env []string, args ...string) *watched {
	t.Helper()
	w := &watched{cmd: child(t, dir, env, args...), lines: make(chan string, 1000), done: make(chan struct{})}
	w.cmd.Stdout = &lockedWriter{w: &w.out, mu: &w.mu}
	pipe, err := w.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			w.mu.Lock()
			w.out.WriteString(sc.Text() + "\n")
			w.mu.Unlock()
			select {
			case w.lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() { w.cmd.Process.Kill() })
	return w
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// waitLine waits for a stderr line containing s.
func (w *watched) waitLine(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(hangBound)
	for {
		select {
		case l := <-w.lines:
			if strings.Contains(l, s) {
				return
			}
		case <-w.done:
			t.Fatalf("the child ended before printing %q:\n%s", s, w.output())
		case <-deadline:
			t.Fatalf("the child never printed %q:\n%s", s, w.output())
		}
	}
}

func (w *watched) output() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.String()
}

// wait waits for the child to end within hangBound and returns its exit
// code and output; a child still running then is killed and the test fails.
func (w *watched) wait(t *testing.T, what string) (int, string) {
	t.Helper()
	exited := make(chan struct{})
	start := time.Now()
	go func() { <-w.done; w.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
		t.Logf("%s: ended %s after the wait began", what, time.Since(start).Round(time.Millisecond))
	case <-time.After(hangBound):
		w.cmd.Process.Signal(syscall.SIGQUIT) // goroutine dump into the output
		time.Sleep(time.Second)
		w.cmd.Process.Kill()
		<-exited
		t.Fatalf("%s: the process hung (still running %s later):\n%s", what, hangBound, w.output())
	}
	return w.cmd.ProcessState.ExitCode(), w.output()
}

// checkLeaseFree fails if the stream is still leased.
func checkLeaseFree(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	store := openTestState(t, dir)
	defer store.Close()
	if l, held, _ := store.Holder(ctx, "things"); held {
		t.Fatalf("the stream is still leased by %+v after the process ended", l)
	}
}

// checkCleanStop checks what a stopped ingest left: no stream lease held
// (the lease was released, not left to expire), no staged run, raw/ holds
// exactly the committed runs, every committed run whole.
func checkCleanStop(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	store := openTestState(t, dir)
	defer store.Close()
	checkLeaseFree(t, dir)
	zone := landing.Zone{Dir: filepath.Join(dir, "data")}
	if staged, _ := zone.StagedRuns("things"); len(staged) != 0 {
		t.Fatalf("staging still holds %v", staged)
	}
	runs, _ := store.List(ctx, state.RunFilter{Stream: "things", Status: []state.Status{state.StatusCommitted, state.StatusTransformed}})
	var committed []string
	for _, r := range runs {
		committed = append(committed, r.ID)
		if _, err := landing.Records(ctx, zone.RawDir("things", r.ID), func(landing.Record) error { return nil }); err != nil {
			t.Fatalf("committed run %s is not whole: %v", r.ID, err)
		}
	}
	inRaw, _ := filepath.Glob(filepath.Join(dir, "data", "raw", "things", "*"))
	for i := range inRaw {
		inRaw[i] = filepath.Base(inRaw[i])
	}
	slices.Sort(inRaw)
	slices.Sort(committed)
	if !slices.Equal(inRaw, committed) {
		t.Fatalf("raw/ holds %v, committed runs are %v", inRaw, committed)
	}
}

// warehouseCounts returns count(*) of main.things (0 when there is no such
// table) and the number of transformed runs of things.
func warehouseCounts(t *testing.T, dir string) (rows, runs int) {
	t.Helper()
	return warehouseCountsAt(t, filepath.Join(dir, "data", "warehouse.duckdb"))
}

// warehouseCountsAt is warehouseCounts of one DuckDB file (0, 0 when it
// does not exist).
func warehouseCountsAt(t *testing.T, path string) (rows, runs int) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return 0, 0
	}
	db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	q := "SELECT (SELECT count(*) FROM rawland.transformed WHERE stream = 'things'), (SELECT count(*) FROM duckdb_tables() WHERE table_name = 'things')"
	if err := db.QueryRow(q).Scan(&runs, &tables); err != nil {
		t.Fatal(err)
	}
	if tables > 0 {
		if err := db.QueryRow("SELECT count(*) FROM main.things").Scan(&rows); err != nil {
			t.Fatal(err)
		}
	}
	return rows, runs
}

// TestPanicEndsTheProcess: a panic in a transform worker (re-raised by
// conc through the warehouse transaction) or in an ingest stream goroutine
// ends the process promptly with exit 70 and the panic's message, and
// leaves nothing locked: the same command then succeeds.
func TestPanicEndsTheProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): runs child processes")
	}
	cases := []struct {
		name, point, command string
		ingestFirst          bool
	}{
		{"transform worker", "transform_batch:1", "transform", true},
		{"ingest stream", "after_page:2", "ingest", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(60)
			srv := httptest.NewServer(up)
			defer srv.Close()
			dir := project(t, crashCfg, srv.URL)
			if tc.ingestFirst {
				if code, _, errOut := rawland(t, dir, "ingest"); code != 0 {
					t.Fatalf("ingest exited %d: %s", code, errOut)
				}
			}
			w := startWatched(t, dir, []string{"RAWLAND_PANICPOINT=" + tc.point}, tc.command)
			code, out := w.wait(t, tc.command+" with a panic")
			if code != exitSoftware || !strings.Contains(out, "rawland: internal error: crashpoint: injected panic at "+tc.point+" (please report)") {
				t.Fatalf("exit %d, want %d with the panic message:\n%s", code, exitSoftware, out)
			}
			if tc.command == "ingest" {
				// the lease is released, not left to expire; a staged
				// run may stay behind as after a crash (the next run
				// recovers it: checked below)
				checkLeaseFree(t, dir)
			}
			if code, _, errOut := rawland(t, dir, tc.command); code != 0 {
				t.Fatalf("%s after the panic exited %d (75 = left locked): %s", tc.command, code, errOut)
			}
			if tc.command == "ingest" {
				checkLanding(t, dir, up.truth(), tc.point)
			}
			if tc.command == "transform" {
				if rows, runs := warehouseCounts(t, dir); rows != 60 || runs != 1 {
					t.Fatalf("after the panic and a clean transform: %d rows from %d runs, want 60 from 1", rows, runs)
				}
			}
		})
	}
}

// slowUpstream serves the crash test's upstream, except that while slow is
// set its second page never answers (until the client goes away).
type slowUpstream struct {
	*upstream
	slow    atomic.Bool
	waiting chan struct{} // receives when a request is held
}

func (s *slowUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.slow.Load() && r.URL.Query().Get("page") == "2" {
		select {
		case s.waiting <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-time.After(hangBound):
		}
		return
	}
	s.upstream.ServeHTTP(w, r)
}

// TestSIGTERMStopsCleanly sends SIGTERM to ingest waiting on a slow
// upstream and to transform in the middle of a run: each ends promptly
// with exit 143, rolls back (nothing half-written: no staged or partial
// raw run, the warehouse holds no part of the interrupted run), releases
// its lease, and the next run succeeds. A second signal exits at once
// even when the work does not stop.
func TestSIGTERMStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): runs child processes")
	}
	cfg := crashCfg + "transform: {batch_size: 10}\n"
	t.Run("ingest", func(t *testing.T) {
		up := &slowUpstream{upstream: newUpstream(60), waiting: make(chan struct{}, 1)}
		up.slow.Store(true)
		srv := httptest.NewServer(up)
		defer srv.Close()
		dir := project(t, cfg, srv.URL)
		w := startWatched(t, dir, nil, "ingest", "things")
		select {
		case <-up.waiting:
		case <-time.After(hangBound):
			t.Fatalf("ingest never asked for page 2:\n%s", w.output())
		}
		w.cmd.Process.Signal(syscall.SIGTERM)
		code, out := w.wait(t, "ingest after SIGTERM")
		if code != exitSignalBase+int(syscall.SIGTERM) || !strings.Contains(out, "stopped by SIGTERM") {
			t.Fatalf("exit %d, want 143 and a message:\n%s", code, out)
		}
		checkCleanStop(t, dir)
		up.slow.Store(false)
		if code, _, errOut := rawland(t, dir, "ingest", "things"); code != 0 {
			t.Fatalf("ingest after SIGTERM exited %d: %s", code, errOut)
		}
		checkLanding(t, dir, up.truth(), "SIGTERM")
	})
	for _, twice := range []bool{false, true} {
		name := "transform"
		stall := "transform_batch=2s"
		if twice {
			// the work never stops by itself: only the second signal ends it
			name, stall = "transform, second signal", "transform_batch=1h"
		}
		t.Run(name, func(t *testing.T) {
			up := newUpstream(120)
			srv := httptest.NewServer(up)
			defer srv.Close()
			dir := project(t, cfg, srv.URL)
			if code, _, errOut := rawland(t, dir, "ingest"); code != 0 {
				t.Fatalf("ingest exited %d: %s", code, errOut)
			}
			w := startWatched(t, dir, []string{"RAWLAND_STALLPOINT=" + stall}, "transform")
			w.waitLine(t, "crashpoint: stall at transform_batch")
			w.cmd.Process.Signal(syscall.SIGTERM)
			if twice {
				w.waitLine(t, "stopping")
				w.cmd.Process.Signal(syscall.SIGTERM)
			}
			code, out := w.wait(t, name)
			if code != exitSignalBase+int(syscall.SIGTERM) {
				t.Fatalf("exit %d, want 143:\n%s", code, out)
			}
			if want := "stopped by SIGTERM"; twice {
				if want = "second signal"; !strings.Contains(out, want) || !strings.Contains(out, "crash-safe") {
					t.Fatalf("no %q message:\n%s", want, out)
				}
			} else if !strings.Contains(out, want) {
				t.Fatalf("no %q message:\n%s", want, out)
			}
			if rows, runs := warehouseCounts(t, dir); rows != 0 || runs != 0 {
				t.Fatalf("the interrupted run is half-written: %d rows, %d runs in the warehouse", rows, runs)
			}
			if rows, runs := warehouseCountsAt(t, filepath.Join(dir, "data", "state", "warehouse", "work.duckdb")); rows != 0 || runs != 0 {
				t.Fatalf("the interrupted run is half-written: %d rows, %d runs in the working database", rows, runs)
			}
			if code, _, errOut := rawland(t, dir, "transform"); code != 0 {
				t.Fatalf("transform after SIGTERM exited %d (75 = left locked): %s", code, errOut)
			}
			if rows, runs := warehouseCounts(t, dir); rows != 120 || runs != 1 {
				t.Fatalf("after a clean transform: %d rows from %d runs, want 120 from 1", rows, runs)
			}
		})
	}
}
