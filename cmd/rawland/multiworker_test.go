package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rawland/rawland/internal/s3test"
	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/landing/s3zone"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/pgstore"
)

// mwUpstream serves many streams of many sources: GET /<source>/<stream>
// ?since=T&page=N returns the stream's records updated strictly after T,
// oldest first, 10 a page, with Link headers. It logs every request's
// arrival per source, to check quotas where they matter: at the upstream.
type mwUpstream struct {
	mu      sync.Mutex
	records map[string][]time.Time // stream → updated_at of record i+1
	clock   time.Time
	arrived map[string][]time.Time // source → arrival times
	latency time.Duration
	// walks tracks each stream's walk (see walkCheck); overlaps lists the
	// requests that show two walks of one stream at once.
	walks    map[string]*walk
	overlaps []string
	// check turns the walk check on; running lists the worker processes
	// not yet reaped (set by the worker loop).
	check   bool
	running map[string]bool
}

// walk is one run's pass over a stream's pages.
type walk struct {
	worker string // the process walking
	since  string
	page   int
	done   bool
	last   time.Time
}

// walkCheck records a request of stream by worker and reports an overlap
// when another worker process walks the stream while the process of its
// unfinished walk still runs (not killed and reaped, not exited).
func (u *mwUpstream) walkCheck(stream, worker, since string, page int, now time.Time) {
	w := u.walks[stream]
	same := w != nil && w.worker == worker && w.since == since && (page == w.page || page == w.page+1)
	if !same && w != nil && !w.done && w.worker != worker && u.running[w.worker] {
		u.overlaps = append(u.overlaps, fmt.Sprintf("stream %s: %s asked for page %d since %q at %s while %s, still running, was at page %d since %q (last request %s ago)",
			stream, worker, page, since, now.Format("15:04:05.000"), w.worker, w.page, w.since, now.Sub(w.last)))
	}
	if !same {
		w = &walk{worker: worker, since: since}
		u.walks[stream] = w
	}
	w.page, w.last = page, now
}

// setRunning records whether a worker process runs.
func (u *mwUpstream) setRunning(worker string, on bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if on {
		u.running[worker] = true
	} else {
		delete(u.running, worker)
	}
}

func newMWUpstream(streams []string, n int) *mwUpstream {
	u := &mwUpstream{records: map[string][]time.Time{}, arrived: map[string][]time.Time{}, walks: map[string]*walk{}, running: map[string]bool{}, clock: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, s := range streams {
		u.add(s, n)
	}
	return u
}

// add appends k records to stream.
func (u *mwUpstream) add(stream string, k int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for range k {
		u.clock = u.clock.Add(time.Second)
		u.records[stream] = append(u.records[stream], u.clock)
	}
}

func (u *mwUpstream) count(stream string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.records[stream])
}

func (u *mwUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 2 {
		http.NotFound(w, r)
		return
	}
	source, stream := parts[0], parts[1]
	since := r.URL.Query().Get("since")
	page := max(1, atoi(r.URL.Query().Get("page")))
	u.mu.Lock()
	now := time.Now()
	u.arrived[source] = append(u.arrived[source], now)
	if u.check {
		u.walkCheck(stream, r.Header.Get(workerHeader), since, page, now)
	}
	recs := slices.Clone(u.records[stream])
	u.mu.Unlock()
	time.Sleep(u.latency)
	var from time.Time
	if since != "" {
		from, _ = time.Parse(time.RFC3339Nano, since)
	}
	var ids []int
	for i, t := range recs {
		if t.After(from) {
			ids = append(ids, i+1)
		}
	}
	lo, hi := min((page-1)*10, len(ids)), min(page*10, len(ids))
	if hi == len(ids) && u.check {
		u.mu.Lock()
		if w := u.walks[stream]; w != nil && w.since == since && w.page == page {
			w.done = true
		}
		u.mu.Unlock()
	}
	if hi < len(ids) {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page+1))
		w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?%s>; rel="next"`, r.Host, r.URL.Path, q.Encode()))
	}
	out := make([]string, 0, hi-lo)
	for _, id := range ids[lo:hi] {
		out = append(out, fmt.Sprintf(`{"id":%d,"updated_at":"%s"}`, id, recs[id-1].Format(time.RFC3339)))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, "["+strings.Join(out, ",")+"]")
}

// Each worker process sends its identity (host#n) in this header, from
// this environment variable.
const (
	workerHeader = "X-Test-Worker"
	workerEnv    = "RAWLAND_TEST_WORKER"
)

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// mwConfig is a config of streams spread over sources; perSec maps a
// source to its rate limit (0: none); extra is more top-level YAML (e.g. a
// landing block).
func mwConfig(schema string, ttl time.Duration, perSec map[string]int, streams map[string]string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: data\nlease_ttl: %s\nstate: {backend: postgres, dsn_env: RAWLAND_TEST_STATE_DSN, schema: %s}\n", ttl, schema)
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	b.WriteString("sources:\n")
	for _, src := range slices.Sorted(mapKeys(perSec)) {
		fmt.Fprintf(&b, "  %s:\n    base_url: \"{{URL}}/%s\"\n    retry: {max_attempts: 3, initial_backoff: 10ms, max_backoff: 100ms}\n", src, src)
		// each worker process names itself to the upstream (walk checks)
		fmt.Fprintf(&b, "    auth: {type: header, name: %s, value_env: %s}\n", workerHeader, workerEnv)
		if n := perSec[src]; n > 0 {
			fmt.Fprintf(&b, "    rate_limit: {requests: %d, per: 1s}\n", n)
		}
	}
	b.WriteString("streams:\n")
	for _, s := range slices.Sorted(mapKeys(streams)) {
		fmt.Fprintf(&b, "  %s:\n    source: %s\n    path: /%s\n    primary_key: [id]\n    cursor: {field: updated_at, param: since, start: \"2020-01-01T00:00:00Z\"}\n    pagination: {type: link}\n", s, streams[s], s)
	}
	return b.String()
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// worker runs `rawland ingest` in a loop as host name until stop is
// closed; kill SIGKILLs the process it runs now.
type worker struct {
	name string
	mu   sync.Mutex
	cmd  *exec.Cmd
	runs int
}

func (w *worker) loop(t *testing.T, dir string, env []string, stop <-chan struct{}, parallel int, up *mwUpstream) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		id := fmt.Sprintf("%s#%d", w.name, w.runs)
		cmd := child(t, dir, append(env, state.HostEnv+"="+w.name, workerEnv+"="+id), "--log-level", "error", "ingest", "--parallel", strconv.Itoa(parallel))
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		up.setRunning(id, true)
		w.mu.Lock()
		err := cmd.Start()
		w.cmd = cmd
		w.runs++
		w.mu.Unlock()
		if err != nil {
			up.setRunning(id, false)
			t.Errorf("%s: %v", w.name, err)
			return
		}
		cmd.Wait()
		up.setRunning(id, false)
		// 0 all done, 75 some stream busy, 1 a stream failed (e.g. its
		// lease was lost), or killed: all expected; anything else is not
		if c := cmd.ProcessState.ExitCode(); c != 0 && c != exitBusy && c != exitFailed && c != -1 {
			t.Errorf("%s: rawland ingest exited %d:\n%s", w.name, c, out.String())
		}
	}
}

func (w *worker) kill() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cmd == nil || w.cmd.Process == nil || w.cmd.ProcessState != nil {
		return false
	}
	return w.cmd.Process.Signal(syscall.SIGKILL) == nil
}

// TestMultiWorkerKills runs four worker processes with distinct host
// identities against one PostgreSQL and one data directory: 20 streams
// over 3 sources with quotas, records added while workers are SIGKILLed at
// random. Afterwards every record landed exactly once across the committed
// runs of all workers, no source ever exceeded its quota at the upstream,
// committed runs of a stream never overlapped (the lease was exclusive),
// and killed workers' streams were picked up after the lease TTL.
func TestMultiWorkerKills(t *testing.T) { multiWorkerKills(t, nil) }

// TestMultiWorkerKillsS3Landing is TestMultiWorkerKills with the landing
// zone in an S3-compatible bucket shared by the four workers.
func TestMultiWorkerKillsS3Landing(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): runs worker processes")
	}
	srv := s3test.Start(t)
	multiWorkerKills(t, srv)
}

// multiWorkerKills runs the multi-worker test, landing in srv's bucket
// when srv is not nil (else in the shared data directory).
func multiWorkerKills(t *testing.T, srv *s3test.Server) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): runs worker processes")
	}
	dsn := postgres(t)
	perSec := map[string]int{"alpha": 20, "beta": 12, "gamma": 8}
	streams := map[string]string{}
	var names []string
	for i := range 20 {
		name := fmt.Sprintf("s%02d", i)
		streams[name] = []string{"alpha", "beta", "gamma"}[i%3]
		names = append(names, name)
	}
	up := newMWUpstream(names, 40)
	const ttl = 3 * time.Second
	up.latency, up.check = 2*time.Millisecond, true
	hs := httptest.NewServer(up)
	defer hs.Close()
	schema := pgSchema()
	var extra []string
	env := []string{"RAWLAND_TEST_STATE_DSN=" + dsn}
	if srv != nil {
		extra = append(extra, fmt.Sprintf("landing: {backend: s3, s3: {endpoint: %q, bucket: %q, prefix: mw, secure: false, region: us-east-1, access_key_env: RAWLAND_TEST_S3_AK, secret_key_env: RAWLAND_TEST_S3_SK}}", srv.Endpoint, srv.Bucket))
		env = append(env, "RAWLAND_TEST_S3_AK="+srv.AccessKey, "RAWLAND_TEST_S3_SK="+srv.SecretKey)
	}
	dir := project(t, mwConfig(schema, ttl, perSec, streams, extra...), hs.URL)

	stop := make(chan struct{})
	workers := make([]*worker, 4)
	var wg sync.WaitGroup
	for i := range workers {
		workers[i] = &worker{name: fmt.Sprintf("host-%d", i+1)}
		wg.Go(func() { workers[i].loop(t, dir, env, stop, 3, up) })
	}
	// the chaos phase: records keep arriving, workers keep dying
	rng := rand.New(rand.NewPCG(14, 4))
	kills := 0
	for range 40 {
		time.Sleep(150 * time.Millisecond)
		up.add(names[rng.IntN(len(names))], 1+rng.IntN(12))
		if rng.IntN(3) == 0 && workers[rng.IntN(4)].kill() {
			kills++
		}
	}
	// the quiet phase: every stream must catch up (killed workers' leases
	// run out and other workers take their streams)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	s, err := pgstore.Open(ctx, pgstore.Options{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for !caughtUp(ctx, t, s, up, names) {
		if ctx.Err() != nil {
			close(stop)
			wg.Wait()
			up.mu.Lock()
			n := len(up.overlaps)
			up.mu.Unlock()
			t.Fatalf("streams did not catch up within 90s after the kills (%d overlapping walks seen)", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	// exactly once: each record of each stream in exactly one committed run
	zone := landing.Zone{Dir: filepath.Join(dir, "data")}
	if srv != nil {
		b, err := s3zone.New(s3zone.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Prefix: "mw", Region: "us-east-1", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
		if err != nil {
			t.Fatal(err)
		}
		zone.Backend = b
	}
	hosts := map[string]int{}
	var abandoned int
	for _, name := range names {
		runs, err := s.List(ctx, state.RunFilter{Stream: name, Oldest: true})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]int{}
		var committed []state.Run
		for _, r := range runs {
			switch r.Status {
			case state.StatusAbandoned, state.StatusFailed:
				abandoned++
				continue
			case state.StatusRunning:
				continue // a killed worker's last run, not yet recovered
			}
			committed = append(committed, r)
			hosts[r.Host]++
			_, err := zone.Records(ctx, name, r.ID, func(rec landing.Record) error {
				var v struct{ ID int }
				if err := json.Unmarshal(rec.Data, &v); err != nil {
					return err
				}
				seen[v.ID]++
				return nil
			})
			if err != nil {
				t.Fatalf("stream %s committed run %s: %v", name, r.ID, err)
			}
		}
		for id := 1; id <= up.count(name); id++ {
			if seen[id] != 1 {
				t.Errorf("stream %s record %d landed %d times across committed runs, want exactly once", name, id, seen[id])
			}
		}
	}
	// quotas at the upstream, in every one-second window: the shared
	// budget takes a slot at send time and paces a little under the budget
	// (fetch.RateLimit.interval), so late wake-ups on this loaded machine
	// never bunch requests past it.
	up.mu.Lock()
	peaks := map[string]int{}
	for src, times := range up.arrived {
		peak, at := busiestWindow(times, time.Second)
		peaks[src] = peak
		if peak > perSec[src] {
			t.Errorf("source %s exceeded its quota at the upstream: %d requests in the second from %s, budget %d/s", src, peak, at.Format("15:04:05.000"), perSec[src])
		}
	}
	overlaps := slices.Clone(up.overlaps)
	up.mu.Unlock()
	for _, o := range overlaps {
		t.Errorf("two holders walked a stream at once: %s", o)
	}
	if len(hosts) < 2 {
		t.Errorf("committed runs came from hosts %v: the workers did not share the streams", hosts)
	}
	t.Logf("%d kills; committed runs per host %v; %d runs abandoned or failed and recovered; busiest second per source %v (budgets %v); worker runs %d/%d/%d/%d",
		kills, hosts, abandoned, peaks, perSec, workers[0].runs, workers[1].runs, workers[2].runs, workers[3].runs)
	if kills == 0 {
		t.Error("no worker was killed: the test tested nothing")
	}
}

// busiestWindow returns the most arrivals in any window [a, a+per) and
// where it starts.
func busiestWindow(times []time.Time, per time.Duration) (int, time.Time) {
	ts := slices.Clone(times)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	best, at, j := 0, time.Time{}, 0
	for i := range ts {
		for j < len(ts) && ts[j].Sub(ts[i]) < per {
			j++
		}
		if j-i > best {
			best, at = j-i, ts[i]
		}
	}
	return best, at
}

// caughtUp reports whether every stream's committed cursor is its newest
// record's time and no lease is held.
func caughtUp(ctx context.Context, t *testing.T, s *pgstore.Store, up *mwUpstream, names []string) bool {
	for _, name := range names {
		c, err := s.Cursor(ctx, name)
		if err != nil {
			return false
		}
		up.mu.Lock()
		recs := up.records[name]
		want := recs[len(recs)-1].Format(time.RFC3339)
		up.mu.Unlock()
		if c != want {
			return false
		}
	}
	return true
}

var _ = os.Getpid

// TestMultiWorkerThroughput is the scale-out figure (not a pass/fail
// test): 16 streams of 200 records each, 50 ms per page at a quota-free
// upstream, ingested by 1, 2 and 4 worker processes (--parallel 2 each)
// sharing one PostgreSQL and one data directory. Run it with
//
//	RAWLAND_WORKER_FIGURES=1 go test -tags duckdb_arrow -run TestMultiWorkerThroughput -v ./cmd/rawland
func TestMultiWorkerThroughput(t *testing.T) {
	if os.Getenv("RAWLAND_WORKER_FIGURES") == "" {
		t.Skip("a figure, not a test: set RAWLAND_WORKER_FIGURES=1 to measure")
	}
	dsn := postgres(t)
	var base float64
	for _, n := range []int{1, 2, 4} {
		streams := map[string]string{}
		var names []string
		for i := range 16 {
			name := fmt.Sprintf("t%02d", i)
			streams[name], names = "free", append(names, name)
		}
		up := newMWUpstream(names, 200)
		up.latency = 50 * time.Millisecond
		hs := httptest.NewServer(up)
		schema := pgSchema()
		dir := project(t, mwConfig(schema, 10*time.Second, map[string]int{"free": 0}, streams), hs.URL)
		s, err := pgstore.Open(t.Context(), pgstore.Options{DSN: dsn, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			w := &worker{name: fmt.Sprintf("host-%d", i+1)}
			wg.Go(func() { w.loop(t, dir, []string{"RAWLAND_TEST_STATE_DSN=" + dsn}, stop, 2, up) })
		}
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
		for !caughtUp(ctx, t, s, up, names) && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		took := time.Since(start)
		cancel()
		close(stop)
		wg.Wait()
		s.Close()
		hs.Close()
		rate := float64(16*200) / took.Seconds()
		if n == 1 {
			base = rate
		}
		t.Logf("workers=%d: %d records in %s = %.0f records/s (%.2fx one worker)", n, 16*200, took.Round(time.Millisecond), rate, rate/base)
	}
}
