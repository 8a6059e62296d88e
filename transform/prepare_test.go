package transform

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

func TestDelta(t *testing.T) {
	page := func(b byte) []byte { return bytes.Repeat([]byte{b}, patchPage) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	block := bytes.Repeat([]byte{7}, patchBlock)
	for _, c := range []struct {
		name     string
		dst, src []byte
		written  int64
	}{
		{"equal", cat(block, page(1)), cat(block, page(1)), 0},
		{"one page differs", cat(block, page(1), page(2)), cat(block, page(1), page(3)), patchPage},
		{"two runs in one block", cat(page(1), page(1), page(1), page(1)), cat(page(2), page(1), page(2), page(2)), 3 * patchPage},
		{"src longer", cat(block), cat(block, page(4), []byte{1, 2, 3}), patchPage + 3},
		{"src shorter", cat(block, block, page(1)), cat(block), 0},
		{"dst empty", nil, cat(block, page(5)), patchBlock + patchPage},
		{"last partial page differs", cat(page(1), []byte{1, 2}), cat(page(1), []byte{1, 3}), 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			dp, sp, delta := filepath.Join(dir, "dst"), filepath.Join(dir, "src"), filepath.Join(dir, "delta")
			os.WriteFile(dp, c.dst, 0o644)
			os.WriteFile(sp, c.src, 0o644)
			dst, _ := os.OpenFile(dp, os.O_RDWR, 0)
			src, _ := os.Open(sp)
			hdr := deltaHeader{Target: seal{Bytes: int64(len(c.src)), Iteration: 7}}
			pages, err := writeDelta(context.Background(), delta, src, dst, hdr, 1<<30)
			src.Close()
			if err != nil {
				t.Fatal(err)
			}
			if pages != c.written {
				t.Errorf("recorded %d bytes of pages, want %d", pages, c.written)
			}
			got, err := readDeltaHeader(delta)
			if err != nil || got == nil || got.Target != hdr.Target {
				t.Fatalf("header read back: %+v, %v", got, err)
			}
			written, err := applyDelta(context.Background(), delta, dst)
			dst.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(dp); !bytes.Equal(got, c.src) {
				t.Errorf("dst differs from src after the delta (%d bytes, want %d)", len(got), len(c.src))
			}
			if written != c.written {
				t.Errorf("wrote %d bytes, want %d", written, c.written)
			}
			// a damaged delta is refused before anything is written
			b, _ := os.ReadFile(delta)
			b[len(b)/2] ^= 1
			os.WriteFile(delta, b, 0o644)
			if _, err := readDeltaHeader(delta); err == nil {
				t.Error("a damaged delta was accepted")
			}
		})
	}
}

// snapEnv is a warehouse layout with one table of n rows, published once.
type snapEnv struct {
	t   *testing.T
	lay layout
	log *slog.Logger
	it  int
}

func newSnapEnv(t *testing.T, rows int) *snapEnv {
	// these tests prepare right after a publish and check which source
	// was used: the previous snapshot is waited for, never copied for
	// being new (TestPrepareCopiesRatherThanWaits checks that)
	rate := copyRateInsteadOfWaiting
	copyRateInsteadOfWaiting = 0
	t.Cleanup(func() { copyRateInsteadOfWaiting = rate })
	e := &snapEnv{t: t, lay: layoutOf(filepath.Join(t.TempDir(), "warehouse.duckdb")), log: slog.New(slog.DiscardHandler)}
	os.MkdirAll(e.lay.dir, 0o755)
	e.exec(fmt.Sprintf(`CREATE TABLE t AS SELECT range AS id, md5(range::VARCHAR) AS s, range %% 1000 AS a FROM range(%d)`, rows))
	e.publish()
	return e
}

func (e *snapEnv) exec(q string) {
	e.t.Helper()
	c, err := duckdb.NewConnector(e.lay.work, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		e.t.Fatal(err)
	}
}

// change makes a small change in the working database (a new one prepared
// first) and publishes it.
func (e *snapEnv) change() {
	e.t.Helper()
	e.prepare()
	e.it++
	e.exec(smallRun(e.it))
	e.publish()
}

// smallRun is what the merge does for a small run: rows spread over the
// table replaced (deleted, then inserted again) and a few appended.
func smallRun(i int) string {
	return fmt.Sprintf(`CREATE TEMP TABLE m AS SELECT id, s, a + 1 AS a FROM t WHERE id %% 997 = %d;
		DELETE FROM t USING m WHERE t.id = m.id;
		INSERT INTO t SELECT * FROM m;
		INSERT INTO t VALUES (-%d, 'new', 0)`, i, i)
}

func (e *snapEnv) publish() {
	e.t.Helper()
	if err := publish(context.Background(), e.lay, nil, time.Now(), e.log); err != nil {
		e.t.Fatal(err)
	}
}

func (e *snapEnv) prepare() prepared {
	e.t.Helper()
	p, err := ensureWork(context.Background(), e.lay, e.log, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func fileHash(t *testing.T, f *os.File) string {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, 1<<40)); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func sameContent(t *testing.T, a, b string) bool {
	t.Helper()
	x, _ := os.ReadFile(a)
	y, _ := os.ReadFile(b)
	return len(x) > 0 && bytes.Equal(x, y)
}

// After a small change, the publish copies nothing and the next working
// database is the previous snapshot with only the differing pages
// rewritten: far fewer bytes than the file.
func TestPublishWritesLittleWhenLittleChanged(t *testing.T) {
	e := newSnapEnv(t, 1_000_000)
	if exists(e.lay.work) || !exists(e.lay.reader) || !exists(e.lay.published) {
		t.Fatal("after a publish the working database should be the published snapshot")
	}
	if p := e.prepare(); p.Method != "kept" || p.Written != 0 {
		t.Fatalf("first preparation (no previous snapshot): %+v, want the whole copy the publish kept, renamed (nothing written)", p)
	}
	e.it++
	e.exec(smallRun(e.it))
	e.publish()
	for i := range 3 {
		p := e.prepare()
		if p.Method != "patch" {
			t.Fatalf("preparation %d: %+v, want a patch of the previous snapshot", i, p)
		}
		t.Logf("preparation %d: patched %d of %d bytes", i, p.Written, p.Bytes)
		if p.Written*10 > p.Bytes {
			t.Errorf("preparation %d wrote %d bytes of a %d-byte file, want < 10%%", i, p.Written, p.Bytes)
		}
		if !sameContent(t, e.lay.work, e.lay.reader) {
			t.Fatalf("preparation %d: the working database differs from the published snapshot", i)
		}
		if exists(e.lay.prev) {
			t.Errorf("preparation %d left %s", i, e.lay.prev)
		}
		e.it++
		e.exec(smallRun(e.it))
		e.publish()
	}
	if ps := Published(e.lay.published); ps.Pending {
		t.Error("publish_pending after a publish")
	}
}

// The previous snapshot is never written while a reader may have it open:
// another process holding it read-only or read-write, or a reader of this
// process. The working database is copied instead and the reader's file is
// unchanged.
func TestPrepareNeverWritesAHeldSnapshot(t *testing.T) {
	for _, c := range []struct {
		name string
		hold func(t *testing.T, path string) func()
	}{
		{"another process, read-only", func(t *testing.T, path string) func() { return holdChild(t, "hold-ro", path) }},
		{"another process, read-write", func(t *testing.T, path string) func() { return holdChild(t, "hold", path) }},
		{"a reader of this process", func(t *testing.T, path string) func() {
			w, err := openSnapshot(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			return func() { w.close() }
		}},
		{"nobody (control)", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newSnapEnv(t, 50_000)
			e.change() // S1 published; S0 is the previous snapshot
			var release func()
			if c.hold != nil {
				release = c.hold(t, e.lay.published)
				defer release()
			}
			held, err := os.Open(e.lay.published) // the snapshot the reader has
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()
			before := fileHash(t, held)
			e.change() // prepared from S0, publishes S2: the held S1 is now the previous snapshot
			p := e.prepare()
			want := "copy"
			if c.hold == nil {
				want = "patch"
			}
			if p.Method != want && !(want == "copy" && p.Method == "clone") {
				t.Errorf("prepared by %q, want %q", p.Method, want)
			}
			if c.hold != nil {
				if after := fileHash(t, held); after != before {
					t.Error("the snapshot a reader holds was written")
				}
				if exists(e.lay.prev) {
					t.Error("the held previous snapshot still has its private name")
				}
			}
			if !sameContent(t, e.lay.work, e.lay.reader) {
				t.Error("the working database differs from the published snapshot")
			}
		})
	}
}

// holdChild has another process open path with DuckDB ("hold-ro" or
// "hold": read-write, with a table written) until the returned func.
func holdChild(t *testing.T, mode, path string) func() {
	cmd, stdin, said := child(t, "RAWLAND_TEST_CHILD="+mode, "RAWLAND_TEST_WAREHOUSE="+path)
	if said != "ready" {
		t.Fatalf("holder: %s", said)
	}
	return func() { stdin.Close(); cmd.Wait() }
}

// DuckDB's lock on its file (a classic fcntl lock) conflicts with the
// open-file-description lock rawland takes before it writes into an old
// snapshot: whether the session is in another process or in this one,
// read-only or read-write.
func TestLockSeesDuckDBSessions(t *testing.T) {
	e := newSnapEnv(t, 10)
	path := e.lay.published
	try := func() bool {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ok, err := lockExclusive(f)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !try() {
		t.Fatal("nobody holds the file, yet the lock is refused")
	}
	for _, mode := range []string{"hold-ro", "hold"} {
		release := holdChild(t, mode, path)
		if try() {
			t.Errorf("another process holds the file (%s), yet the lock is granted", mode)
		}
		release()
		if !try() {
			t.Errorf("after the other process (%s) closed, the lock is refused", mode)
		}
	}
	for _, dsn := range []string{path + "?access_mode=READ_ONLY", path} {
		db, err := sql.Open("duckdb", dsn)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if try() {
			t.Errorf("a session of this process holds the file (%s), yet the lock is granted", dsn)
		}
		db.Close()
	}
}

// A crash between the publish's renames leaves the previous snapshot still
// published as DATA/warehouse.duckdb (its private name is a second name):
// readers may open it at any moment, so it is copied, never patched.
func TestPrepareNeverWritesAStillPublishedSnapshot(t *testing.T) {
	e := newSnapEnv(t, 50_000)
	e.change()
	e.change() // a previous snapshot no one holds
	still := filepath.Join(filepath.Dir(e.lay.published), "still-published.duckdb")
	if err := os.Link(e.lay.prev, still); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(still)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before := fileHash(t, f)
	if p := e.prepare(); p.Method != "copy" && p.Method != "clone" {
		t.Errorf("prepared by %q, want a copy", p.Method)
	}
	if fileHash(t, f) != before {
		t.Error("a snapshot that still had a name readers open was written")
	}
	if !sameContent(t, e.lay.work, e.lay.reader) {
		t.Error("the working database differs from the published snapshot")
	}
}

// A write session right after a publish (the reconcile of the same `rawland
// run`, a quarantine replay) does not wait out snapshotGrace for a
// previous snapshot small enough to copy quicker: it copies the published
// snapshot. Once the grace has passed, the previous snapshot is patched.
func TestPrepareCopiesRatherThanWaits(t *testing.T) {
	e := newSnapEnv(t, 50_000)
	copyRateInsteadOfWaiting = 64 << 20
	e.change()
	e.prepare()
	e.it++
	e.exec(smallRun(e.it))
	e.publish()
	if !exists(e.lay.prev) || !exists(e.lay.delta) {
		t.Fatal("a small change should leave a previous snapshot and a delta")
	}
	p := e.prepare()
	if p.Method != "copy" && p.Method != "clone" {
		t.Errorf("prepared right after the publish by %q, want a copy of the published snapshot", p.Method)
	}
	if !sameContent(t, e.lay.work, e.lay.reader) {
		t.Error("the working database differs from the published snapshot")
	}
	e.it++
	e.exec(smallRun(e.it))
	e.publish()
	// a previous snapshot too big to copy within the grace is waited for
	copyRateInsteadOfWaiting = 1
	if p := e.prepare(); p.Method != "patch" {
		t.Errorf("prepared by %q, want a patch of the previous snapshot after the grace", p.Method)
	}
}

// sampleDiffering estimates the share of pages that differ from a few
// hundred pages: none, all, and every other 256 KiB block rewritten.
func TestSampleDiffering(t *testing.T) {
	dir := t.TempDir()
	const size = 16 << 20
	base := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range base {
		base[i] = byte(rng.Uint32())
	}
	write := func(name string, b []byte) *os.File {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	have := write("have", base)
	half := bytes.Clone(base)
	for off := 0; off < size; off += 2 * patchBlock {
		for i := off; i < off+patchBlock; i++ {
			half[i] ^= 0xff
		}
	}
	all := bytes.Clone(base)
	for i := range all {
		all[i]++
	}
	for _, c := range []struct {
		name   string
		want   []byte
		lo, hi float64
	}{
		{"identical", base, 0, 0},
		{"every other block rewritten", half, 0.45, 0.55},
		{"all rewritten", all, 1, 1},
		{"a shorter base", append(bytes.Clone(base), base...), 0.5, 0.5},
	} {
		frac, err := sampleDiffering(write(c.name, c.want), have, int64(len(c.want)))
		if err != nil || frac < c.lo || frac > c.hi {
			t.Errorf("%s: %.3f, %v; want %.2f–%.2f", c.name, frac, err, c.lo, c.hi)
		}
	}
}

// A publish after a run that rewrote most of a warehouse big enough to
// sample keeps a whole copy without writing a delta first.
func TestPublishSamplesBeforeDiffing(t *testing.T) {
	e := newSnapEnv(t, 1_000_000)
	var logs strings.Builder
	e.log = slog.New(slog.NewTextHandler(&logs, nil))
	e.prepare()
	e.it++
	e.exec(`CREATE OR REPLACE TABLE t AS SELECT range AS id, md5((range + 7)::VARCHAR) AS s, range % 13 AS a FROM range(1000000)`)
	e.publish()
	if !strings.Contains(logs.String(), "sampled pages differ") || !exists(e.lay.next) || exists(e.lay.delta) {
		t.Errorf("want a whole copy kept on the sample's word, no delta:\n%s", logs.String())
	}
	// a small run after it still gets a delta
	e.prepare()
	e.it++
	e.exec(smallRun(e.it))
	e.publish()
	if !exists(e.lay.delta) || exists(e.lay.next) {
		t.Errorf("a small change should leave a delta and no whole copy")
	}
}
