package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/sqlitestore"
)

// upstream is a paged API of versioned records: GET /things?since=&page=
// returns records updated after since, oldest first, 10 a page, with Link
// headers.
type upstream struct {
	mu      sync.Mutex
	updated map[int]time.Time
	version map[int]int
	clock   time.Time
	block   chan struct{} // if non-nil, the first request waits for it
	once    sync.Once
}

func newUpstream(n int) *upstream {
	u := &upstream{updated: map[int]time.Time{}, version: map[int]int{}, clock: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i := 1; i <= n; i++ {
		u.clock = u.clock.Add(time.Minute)
		u.updated[i] = u.clock
	}
	return u
}

// change updates k random records and appends one.
func (u *upstream) change(r *rand.Rand, k int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for range k {
		id := 1 + r.IntN(len(u.updated))
		u.clock = u.clock.Add(time.Minute)
		u.updated[id], u.version[id] = u.clock, u.version[id]+1
	}
	u.clock = u.clock.Add(time.Minute)
	u.updated[len(u.updated)+1] = u.clock
}

// truth is every record's current version as "id:version".
func (u *upstream) truth() map[string]bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := map[string]bool{}
	for id := range u.updated {
		out[fmt.Sprintf("%d:%d", id, u.version[id])] = true
	}
	return out
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u.block != nil {
		u.once.Do(func() { <-u.block })
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	var from time.Time
	if s := r.URL.Query().Get("since"); s != "" {
		from, _ = time.Parse(time.RFC3339Nano, s)
	}
	var ids []int
	for id, t := range u.updated {
		if t.After(from) || t.Equal(from) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return u.updated[ids[i]].Before(u.updated[ids[j]]) })
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	lo, hi := (page-1)*10, min(page*10, len(ids))
	if hi < len(ids) {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page+1))
		w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?%s>; rel="next"`, r.Host, r.URL.Path, q.Encode()))
	}
	var out []string
	for _, id := range ids[min(lo, len(ids)):hi] {
		out = append(out, fmt.Sprintf(`{"id":%d,"version":%d,"updated_at":"%s","pad":"%s"}`, id, u.version[id], u.updated[id].Format(time.RFC3339), strings.Repeat("x", 200)))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, "["+strings.Join(out, ",")+"]")
}

// thingsStreamYAML is the tests' "things" stream: link-paged, with a since
// cursor, on source api (the config above it names api's base_url).
const thingsStreamYAML = `streams:
  things:
    source: api
    path: /things
    primary_key: [id]
    cursor: {field: updated_at, param: since, start: "2020-01-01T00:00:00Z"}
    pagination: {type: link}
    schema: schemas/things.json
`

const crashCfg = `
data_dir: data
lease_ttl: 3s
landing: {roll_bytes: 4KiB}
sources:
  api: {base_url: "{{URL}}", retry: {max_attempts: 2, initial_backoff: 1ms, max_backoff: 10ms}}
` + thingsStreamYAML

// TestCrashAnywhereLosesNothing kills `rawland ingest` with SIGKILL at named
// points and at random moments, then runs it normally, and checks after
// every round: the committed runs together hold every upstream record
// version, every committed run is whole (checksums, counts), raw/ holds
// exactly the committed runs, and the stream is free again.
func TestCrashAnywhereLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): crash matrix runs child processes")
	}
	up := newUpstream(120)
	srv := httptest.NewServer(up)
	defer srv.Close()
	dir := project(t, crashCfg, srv.URL)
	rng := rand.New(rand.NewPCG(1, 2))
	points := []string{"after_lease", "after_begin", "after_page:1", "after_page:2", "after_part:1", "after_manifest", "after_commit", "after_publish"}
	for i := range 6 { // random moments as well
		points = append(points, fmt.Sprintf("random:%d", i))
	}
	for round, point := range points {
		up.change(rng, 15)
		cmd := child(t, dir, []string{"RAWLAND_CRASHPOINT=" + point}, "ingest", "things")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(point, "random") {
			time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
			cmd.Process.Signal(syscall.SIGKILL)
		}
		cmd.Wait() // killed, or finished before the random kill
		if !strings.HasPrefix(point, "random") {
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
				t.Fatalf("round %d: the child was not killed at %s (exit %d): the crash point was never reached", round, point, cmd.ProcessState.ExitCode())
			}
		}
		code, out, errOut := rawland(t, dir, "ingest", "things")
		if code != 0 {
			t.Fatalf("round %d (%s): the run after the crash exited %d:\n%s%s", round, point, code, out, errOut)
		}
		checkLanding(t, dir, up.truth(), point)
	}
}

// openTestState opens the project's SQLite state store in dir; the
// caller closes it.
func openTestState(t *testing.T, dir string) *sqlitestore.Store {
	t.Helper()
	store, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "data", "state", "rawland.db"))
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func checkLanding(t *testing.T, dir string, truth map[string]bool, point string) {
	t.Helper()
	ctx := context.Background()
	store := openTestState(t, dir)
	defer store.Close()
	runs, _ := store.List(ctx, state.RunFilter{Stream: "things", Status: []state.Status{state.StatusCommitted}})
	zone := landing.Zone{Dir: filepath.Join(dir, "data")}
	var committed []string
	seen := map[string]bool{}
	for _, r := range runs {
		committed = append(committed, r.ID)
		n := int64(0)
		_, err := landing.Records(ctx, zone.RawDir("things", r.ID), func(rec landing.Record) error {
			var v struct{ ID, Version int }
			if err := json.Unmarshal(rec.Data, &v); err != nil {
				return fmt.Errorf("%s line %d: %w", rec.File, rec.Line, err)
			}
			seen[fmt.Sprintf("%d:%d", v.ID, v.Version)] = true
			n++
			return nil
		})
		if err != nil {
			t.Fatalf("after %s: committed run %s is not whole: %v", point, r.ID, err)
		}
		if n != r.Records {
			t.Fatalf("after %s: run %s holds %d records, state says %d", point, r.ID, n, r.Records)
		}
	}
	for k := range truth {
		if !seen[k] {
			t.Fatalf("after %s: upstream record version %s is in no committed run", point, k)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "data", "raw", "things"))
	var inRaw []string
	for _, e := range ents {
		inRaw = append(inRaw, e.Name())
	}
	slices.Sort(inRaw)
	slices.Sort(committed)
	if !slices.Equal(inRaw, committed) {
		t.Fatalf("after %s: raw/ holds %v, committed runs are %v", point, inRaw, committed)
	}
	if staged, _ := zone.StagedRuns("things"); len(staged) != 0 {
		t.Fatalf("after %s: staging still holds %v after a clean run", point, staged)
	}
	if l, held, _ := store.Holder(ctx, "things"); held {
		t.Fatalf("after %s: stream still leased by %+v", point, l)
	}
}

// TestConcurrentIngestOneWins starts two `rawland ingest` of one stream at
// once: exactly one proceeds, the other exits 75 naming the holder.
func TestConcurrentIngestOneWins(t *testing.T) {
	up := newUpstream(30)
	up.block = make(chan struct{})
	srv := httptest.NewServer(up)
	defer srv.Close()
	dir := project(t, crashCfg, srv.URL)
	type result struct {
		code int
		out  string
	}
	results := make(chan result, 2)
	for range 2 {
		cmd := child(t, dir, nil, "ingest", "things")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			cmd.Wait()
			results <- result{cmd.ProcessState.ExitCode(), out.String()}
		}()
	}
	// the holder waits on its first request until the other has given up
	var first result
	select {
	case first = <-results:
	case <-time.After(60 * time.Second):
		close(up.block)
		t.Fatal("neither process finished while the other held the stream")
	}
	close(up.block)
	second := <-results
	if first.code != exitBusy || !strings.Contains(first.out, "busy") || !strings.Contains(first.out, "pid") {
		t.Fatalf("the loser exited %d: %s", first.code, first.out)
	}
	if second.code != 0 {
		t.Fatalf("the winner exited %d: %s", second.code, second.out)
	}
}
