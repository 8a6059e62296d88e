// Package landingtest is the conformance suite every landing.Backend must
// pass: the same cases run against the directory backend (landing tests)
// and the S3-compatible backend (landing/s3zone tests), with a real SQLite
// state store deciding what is committed.
package landingtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/sqlitestore"
)

// NewZone returns an empty zone for one test.
type NewZone func(t *testing.T) landing.Zone

// Run runs every case against zones made by newZone.
func Run(t *testing.T, newZone NewZone) {
	cases := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"write commit read", testWriteCommitRead},
		{"crash before commit leaves an orphan that Recover removes", testOrphanRemoved},
		{"staged files no run knows are removed", testUnknownRunRemoved},
		{"crash after commit rolls forward on read", testRollForwardOnRead},
		{"crash after commit rolls forward on Recover", testRollForwardOnRecover},
		{"a run is never read half-written", testNeverHalfWritten},
		{"Recover without the lease touches nothing", testRecoverNeedsLease},
		{"a writer that lost its lease is cleaned and cannot commit", testLostLease},
		{"publish is idempotent", testPublishIdempotent},
		{"abort removes the run", testAbort},
		{"a large run streams in bounded memory", testBoundedMemory},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, newEnv(t, newZone(t)))
		})
	}
}

type env struct {
	t     *testing.T
	ctx   context.Context
	zone  landing.Zone
	store *sqlitestore.Store
}

func newEnv(t *testing.T, z landing.Zone) *env {
	ctx := t.Context()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &env{t: t, ctx: ctx, zone: z, store: st}
}

const stream = "things"

// begin takes the stream's lease as host and records a running run.
func (e *env) begin(host string, ttl time.Duration) state.Run {
	e.t.Helper()
	r := state.Run{ID: state.NewRunID(time.Now()), Stream: stream, Kind: state.KindIngest, StartedAt: time.Now().UTC(), Host: host, PID: 1000 + len(host)}
	if _, err := e.store.Acquire(e.ctx, state.Lease{Stream: stream, RunID: r.ID, Host: host, PID: r.PID}, ttl); err != nil {
		e.t.Fatalf("acquire as %s: %v", host, err)
	}
	cur, err := e.store.Cursor(e.ctx, stream)
	if err != nil {
		e.t.Fatal(err)
	}
	r.CursorBefore = cur
	if err := e.store.Begin(e.ctx, r); err != nil {
		e.t.Fatal(err)
	}
	return r
}

// write lands n records in rolled parts and makes them durable (Finish).
func (e *env) write(r state.Run, n int, opts landing.Options) (landing.Manifest, []string) {
	e.t.Helper()
	w, err := landing.NewWriterContext(e.ctx, e.zone, stream, r.ID, landing.Manifest{Kind: "ingest"}, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	var want []string
	for i := range n {
		rec := fmt.Sprintf(`{"id":%d,"run":%q,"pad":"%0100d"}`, i, r.ID, i)
		want = append(want, rec)
		if err := w.Write([]byte(rec)); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := w.Page(landing.Page{N: 1, Records: n}); err != nil {
		e.t.Fatal(err)
	}
	m, err := w.Finish("c1", true)
	if err != nil {
		e.t.Fatal(err)
	}
	return m, want
}

func (e *env) commit(r state.Run, m landing.Manifest) {
	e.t.Helper()
	r.Records, r.CursorAfter, r.FinishedAt = m.Records, r.CursorBefore+"1", time.Now().UTC()
	if err := e.store.Commit(e.ctx, r, true); err != nil {
		e.t.Fatal(err)
	}
}

// read returns a run's records through the zone.
func (e *env) read(id string) ([]string, error) {
	var got []string
	_, err := e.zone.Records(e.ctx, stream, id, func(rec landing.Record) error {
		got = append(got, string(rec.Data))
		return nil
	})
	return got, err
}

// readCommitted reads every run the state store says is committed: what
// transform does.
func (e *env) readCommitted() map[string][]string {
	e.t.Helper()
	runs, err := e.store.List(e.ctx, state.RunFilter{Stream: stream, Status: []state.Status{state.StatusCommitted}})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range runs {
		got, err := e.read(r.ID)
		if err != nil {
			e.t.Fatalf("read committed run %s: %v", r.ID, err)
		}
		out[r.ID] = got
	}
	return out
}

func (e *env) staged() []string {
	e.t.Helper()
	ids, err := e.zone.Store().StagedRuns(e.ctx, stream)
	if err != nil {
		e.t.Fatal(err)
	}
	return ids
}

// published says whether the run's manifest is in raw.
func (e *env) published(id string) bool {
	e.t.Helper()
	rc, err := e.zone.Store().Open(e.ctx, stream, id, landing.ManifestFile)
	if err == nil {
		rc.Close()
		return true
	}
	if !errors.Is(err, fs.ErrNotExist) {
		e.t.Fatal(err)
	}
	return false
}

// release ends host's hold so that another host can take the stream.
func (e *env) release(r state.Run) {
	e.t.Helper()
	if err := e.store.Release(e.ctx, stream, r.ID); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) recoverAs(host string) (state.Run, landing.Recovered) {
	e.t.Helper()
	self := e.begin(host, time.Minute)
	rec, err := e.zone.Recover(e.ctx, e.store, stream, self.ID)
	if err != nil {
		e.t.Fatalf("recover as %s: %v", host, err)
	}
	return self, rec
}

func testWriteCommitRead(t *testing.T, e *env) {
	for _, comp := range []string{"none", "gzip", "zstd"} {
		r := e.begin("host-a", time.Minute)
		m, want := e.write(r, 300, landing.Options{RollBytes: 8 << 10, Compression: comp})
		if len(m.Files) < 3 {
			t.Fatalf("%s: %d parts, want several (roll)", comp, len(m.Files))
		}
		if e.published(r.ID) {
			t.Fatalf("%s: run in raw before commit", comp)
		}
		e.commit(r, m)
		if err := e.zone.Publish(stream, r.ID); err != nil {
			t.Fatal(err)
		}
		e.release(r)
		got, err := e.read(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: read %d records, want %d (or bytes differ)", comp, len(got), len(want))
		}
	}
	if s := e.staged(); len(s) != 0 {
		t.Fatalf("staging still holds %v after publish", s)
	}
}

func testOrphanRemoved(t *testing.T, e *env) {
	done := e.begin("host-a", time.Minute)
	m, want := e.write(done, 50, landing.Options{RollBytes: 2 << 10})
	e.commit(done, m)
	e.zone.Publish(stream, done.ID)
	e.release(done)

	// host-a uploads everything, then dies before the state commit
	orphan := e.begin("host-a", time.Minute)
	e.write(orphan, 40, landing.Options{RollBytes: 2 << 10})
	e.release(orphan) // as if its lease had expired
	if got := e.readCommitted(); len(got) != 1 || !slices.Equal(got[done.ID], want) {
		t.Fatalf("readers saw %d runs, want only the committed one", len(got))
	}
	if e.published(orphan.ID) {
		t.Fatal("an uncommitted run is in raw")
	}
	self, rec := e.recoverAs("host-b")
	if !slices.Contains(rec.Abandoned, orphan.ID) {
		t.Fatalf("recover: %+v, want %s abandoned", rec, orphan.ID)
	}
	if s := e.staged(); len(s) != 0 {
		t.Fatalf("orphan still staged: %v", s)
	}
	if e.published(orphan.ID) {
		t.Fatal("the orphan was published")
	}
	r, _ := e.store.Get(e.ctx, orphan.ID)
	if r.Status != state.StatusAbandoned {
		t.Fatalf("orphan status %s, want abandoned", r.Status)
	}
	e.release(self)
	if got := e.readCommitted(); len(got) != 1 {
		t.Fatalf("readers see %d runs after recover", len(got))
	}
}

func testUnknownRunRemoved(t *testing.T, e *env) {
	// files of a run the state store never heard of (its Begin was lost)
	ghost := state.Run{ID: state.NewRunID(time.Now()), Stream: stream}
	e.write(ghost, 10, landing.Options{})
	_, rec := e.recoverAs("host-b")
	if !slices.Contains(rec.Removed, ghost.ID) || len(e.staged()) != 0 {
		t.Fatalf("recover: %+v, staged %v: want the unknown run removed", rec, e.staged())
	}
}

func testRollForwardOnRead(t *testing.T, e *env) {
	r := e.begin("host-a", time.Minute)
	m, want := e.write(r, 60, landing.Options{RollBytes: 2 << 10, Compression: "gzip"})
	e.commit(r, m) // then the process dies before Publish
	got := e.readCommitted()
	if !slices.Equal(got[r.ID], want) {
		t.Fatalf("read %d records of the committed run, want %d", len(got[r.ID]), len(want))
	}
	if !e.published(r.ID) || len(e.staged()) != 0 {
		t.Fatal("reading did not roll the committed run forward into raw")
	}
}

func testRollForwardOnRecover(t *testing.T, e *env) {
	r := e.begin("host-a", time.Minute)
	m, want := e.write(r, 60, landing.Options{RollBytes: 2 << 10, Compression: "zstd"})
	e.commit(r, m)
	e.release(r)
	_, rec := e.recoverAs("host-b")
	if !slices.Equal(rec.Published, []string{r.ID}) {
		t.Fatalf("recover: %+v, want %s published", rec, r.ID)
	}
	if !e.published(r.ID) || len(e.staged()) != 0 {
		t.Fatal("the committed run is not in raw after recover")
	}
	if got, err := e.read(r.ID); err != nil || !slices.Equal(got, want) {
		t.Fatalf("read after recover: %d records, %v", len(got), err)
	}
}

func testNeverHalfWritten(t *testing.T, e *env) {
	r := e.begin("host-a", time.Minute)
	w, err := landing.NewWriterContext(e.ctx, e.zone, stream, r.ID, landing.Manifest{}, landing.Options{RollBytes: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for i := range 40 { // several parts committed, no manifest yet
		w.Write(fmt.Appendf(nil, `{"id":%d,"pad":"%0100d"}`, i, i))
	}
	if _, err := e.read(r.ID); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("read of a run being written: %v, want fs.ErrNotExist", err)
	}
	if err := e.zone.Publish(stream, r.ID); err == nil {
		t.Fatal("a run without a manifest was published")
	}
	if e.published(r.ID) {
		t.Fatal("a half-written run is in raw")
	}
}

func testRecoverNeedsLease(t *testing.T, e *env) {
	a := e.begin("host-a", time.Minute)
	w, err := landing.NewWriterContext(e.ctx, e.zone, stream, a.ID, landing.Manifest{}, landing.Options{RollBytes: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		w.Write(fmt.Appendf(nil, `{"id":%d,"pad":"%0100d"}`, i, i))
	}
	// another host, another pid, no lease: must not touch a's run
	intruder := state.NewRunID(time.Now())
	_, err = e.zone.Recover(e.ctx, e.store, stream, intruder)
	var nl *landing.NotLeaseHolderError
	if !errors.As(err, &nl) || nl.Holder.RunID != a.ID {
		t.Fatalf("recover without the lease: %v, want NotLeaseHolderError naming %s", err, a.ID)
	}
	if s := e.staged(); !slices.Contains(s, a.ID) {
		t.Fatalf("the live writer's files are gone: staged %v", s)
	}
	w.Page(landing.Page{N: 1, Records: 30})
	m, err := w.Finish("c1", true)
	if err != nil {
		t.Fatal(err)
	}
	e.commit(a, m)
	if got := e.readCommitted(); len(got[a.ID]) != 30 {
		t.Fatalf("the live writer's run has %d records, want 30", len(got[a.ID]))
	}
}

func testLostLease(t *testing.T, e *env) {
	a := e.begin("host-a", 200*time.Millisecond)
	m, _ := e.write(a, 30, landing.Options{RollBytes: 1 << 10})
	time.Sleep(400 * time.Millisecond) // host-a stalls; its lease expires
	_, rec := e.recoverAs("host-b")
	if !slices.Contains(rec.Abandoned, a.ID) || len(e.staged()) != 0 {
		t.Fatalf("recover after the lease expired: %+v, staged %v", rec, e.staged())
	}
	a.Records, a.CursorAfter = m.Records, a.CursorBefore+"1"
	if err := e.store.Commit(e.ctx, a, true); !errors.Is(err, state.ErrLeaseLost) {
		t.Fatalf("commit after losing the lease: %v, want ErrLeaseLost", err)
	}
	if got := e.readCommitted(); len(got) != 0 {
		t.Fatalf("readers see %d runs, want none", len(got))
	}
}

func testPublishIdempotent(t *testing.T, e *env) {
	r := e.begin("host-a", time.Minute)
	m, want := e.write(r, 20, landing.Options{})
	e.commit(r, m)
	for i := range 3 {
		if err := e.zone.Publish(stream, r.ID); err != nil {
			t.Fatalf("publish #%d: %v", i+1, err)
		}
	}
	if got, err := e.read(r.ID); err != nil || !slices.Equal(got, want) {
		t.Fatalf("read: %d records, %v", len(got), err)
	}
	if err := e.zone.Publish(stream, state.NewRunID(time.Now())); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("publish of a run with no files: %v, want fs.ErrNotExist", err)
	}
}

func testAbort(t *testing.T, e *env) {
	r := e.begin("host-a", time.Minute)
	w, err := landing.NewWriterContext(e.ctx, e.zone, stream, r.ID, landing.Manifest{}, landing.Options{RollBytes: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		w.Write(fmt.Appendf(nil, `{"id":%d,"pad":"%0100d"}`, i, i))
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if s := e.staged(); len(s) != 0 || e.published(r.ID) {
		t.Fatalf("aborted run left files: staged %v", s)
	}
}
