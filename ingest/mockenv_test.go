package ingest_test

import (
	"context"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/ingest/fetch"
	"github.com/rawland/rawland/mockapi"
	"github.com/rawland/rawland/state"
)

// configuredClients builds one fetch.Client per source the way `rawland
// ingest` does: the source's concurrency, retry, rate_limit, timeout, limits
// and tracking header, with the quota state shared through quotaDir.
func configuredClients(tb testing.TB, cfg *config.Config, quotaDir string) map[string]*fetch.Client {
	tb.Helper()
	out := map[string]*fetch.Client{}
	for name, src := range cfg.Sources {
		creds, err := src.Credentials(cfg.Path)
		if err != nil {
			tb.Fatal(err)
		}
		var auth fetch.Auth = fetch.NoAuth()
		if creds.Type == "bearer" {
			auth = fetch.BearerAuth(creds.Token)
		}
		opts := fetch.Options{
			Source: name, Auth: auth, Headers: src.Headers, Concurrency: src.Concurrency,
			BaseURL: src.BaseURL, AllowedOrigins: src.AllowedOrigins, SendCredentialsToAllowed: src.SendCredentialsToAllowed,
			Retry:   fetch.Retry{MaxAttempts: src.Retry.MaxAttempts, InitialBackoff: src.Retry.InitialBackoff.D(), MaxBackoff: src.Retry.MaxBackoff.D()},
			Timeout: src.Timeout.D(), TrackingHeader: src.TrackingHeader, MaxResponseBytes: int64(src.MaxResponseBytes),
			QuotaDir: quotaDir,
			Logger:   testLogger(),
		}
		if rl := src.RateLimit; rl != nil {
			opts.RateLimit = &fetch.RateLimit{Requests: rl.Requests, Per: rl.Per.D()}
		}
		c, err := fetch.New(opts)
		if err != nil {
			tb.Fatal(err)
		}
		out[name] = c
	}
	return out
}

// mockEnv is an env against a mockapi upstream whose client uses the
// source's configured settings (not newEnv's two attempts) and shares its
// quota state under the data directory, as `rawland ingest` does.
type mockEnv struct {
	*env
	m      *mockapi.Server
	url    string
	client *fetch.Client
	// upstream serves m; swap in another server with upstream.set.
	upstream *swapHandler
	// queued is the number of certificate IDs queued at start.
	queued int
}

// fastRetry replaces the generated config's retry settings: many short
// attempts, so that a fault matrix runs in seconds.
const fastRetry = "retry: {max_attempts: 12, initial_backoff: 5ms, max_backoff: 50ms}"

// newMockEnv serves mockapi.New(opts) on 127.0.0.1 and opens an env on the
// config it generates, after edit (nil: none) and with fastRetry.
func newMockEnv(t *testing.T, opts mockapi.Options, edit func(cfg string) string) *mockEnv {
	t.Helper()
	m := mockapi.New(opts)
	up := &swapHandler{}
	up.set(m)
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	cfg := m.Config(srv.URL)
	const genRetry = "retry: {max_attempts: 6, initial_backoff: 100ms, max_backoff: 5s}"
	if !strings.Contains(cfg, genRetry) {
		t.Fatalf("the generated config has no %q line to replace:\n%s", genRetry, cfg)
	}
	cfg = strings.Replace(cfg, genRetry, fastRetry, 1)
	if edit != nil {
		cfg = edit(cfg)
	}
	e := newEnv(t, cfg, srv.URL)
	clients := configuredClients(t, e.cfg, e.zone.StateDir())
	for name, c := range clients {
		e.doers[name] = c
	}
	queued := opts.Delta.QueueSize
	if queued == 0 {
		queued = m.Count(mockapi.StreamCertificates)
	}
	return &mockEnv{env: e, m: m, url: srv.URL, client: clients[mockapi.SourceName], upstream: up, queued: queued}
}

// ingestAll runs the streams at once, sharing the source's client, like
// `rawland ingest --parallel N`; it fails the test on any error.
func (e *mockEnv) ingestAll(streams ...string) {
	e.t.Helper()
	errs := make([]error, len(streams))
	var wg sync.WaitGroup
	for i, name := range streams {
		s, ok := e.cfg.Streams[name]
		if !ok {
			e.t.Fatalf("no stream %s in the config", name)
		}
		wg.Go(func() {
			_, errs[i] = ingest.Stream(context.Background(), e.opts(state.KindIngest), s)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			e.t.Errorf("ingest %s: %v", streams[i], err)
		}
	}
	if e.t.Failed() {
		e.t.FailNow()
	}
}

// truth is what must land of stream: the upstream's live records, and for
// the delta queue the records of the IDs queued at start.
func (e *mockEnv) truth(stream string) iter.Seq[[]byte] {
	if stream != mockapi.StreamCertificates || e.queued <= 0 {
		return e.m.Truth(stream)
	}
	return func(yield func([]byte) bool) {
		for id := range int64(e.queued) {
			rec, ok := e.m.Record(stream, id+1)
			if !ok {
				e.t.Fatalf("queued certificate %d is not live", id+1)
			}
			if !yield(rec) {
				return
			}
		}
	}
}

// missing returns how many of the upstream's live records of stream are in
// no committed run (byte for byte), and the first of them. It fails the test
// if the upstream has no records (the check would prove nothing).
func (e *mockEnv) missing(stream string) (int, string) {
	e.t.Helper()
	recs, _ := e.allCommitted(stream)
	have := make(map[string]bool, len(recs))
	for _, r := range recs {
		have[r] = true
	}
	n, miss, first := 0, 0, ""
	for rec := range e.truth(stream) {
		n++
		if !have[string(rec)] {
			if miss == 0 {
				first = string(rec)
			}
			miss++
		}
	}
	if n == 0 {
		e.t.Fatalf("the upstream has no %s records", stream)
	}
	return miss, first
}

// assertAllLanded fails the test unless every live record of every stream
// is in a committed run.
func (e *mockEnv) assertAllLanded(streams ...string) {
	e.t.Helper()
	for _, s := range streams {
		if n, first := e.missing(s); n > 0 {
			e.t.Errorf("%s: %d live records are in no committed run, e.g. %.160s", s, n, first)
		}
	}
}

// swapHandler serves whichever upstream was set last, so that a test can
// replace a faulty upstream by a healthy one behind the same URL.
type swapHandler struct{ cur atomic.Pointer[http.Handler] }

func (s *swapHandler) set(h http.Handler) { s.cur.Store(&h) }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.cur.Load()).ServeHTTP(w, r)
}
