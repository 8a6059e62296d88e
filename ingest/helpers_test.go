package ingest_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/ingest/fetch"
	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/sqlitestore"
)

// env is one test's data directory, config, state store and clients.
type env struct {
	t     *testing.T
	dir   string
	cfg   *config.Config
	store *sqlitestore.Store
	zone  landing.Zone
	doers map[string]ingest.Doer
}

// newEnv writes cfgText (with {{URL}} replaced) and an open schema for every
// stream into a temp dir and opens everything.
func newEnv(t *testing.T, cfgText, baseURL string) *env {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "schemas"), 0o755)
	cfgText = strings.ReplaceAll(cfgText, "{{URL}}", baseURL)
	path := filepath.Join(dir, "rawland.yaml")
	os.WriteFile(path, []byte(cfgText), 0o644)
	// schemas must exist for the config to validate
	for _, line := range strings.Split(cfgText, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "schema: "); ok {
			os.WriteFile(filepath.Join(dir, s), []byte(`{"type":"object"}`), 0o644)
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = filepath.Join(dir, "data")
	store, err := sqlitestore.Open(context.Background(), filepath.Join(cfg.DataDir, "state", "rawland.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{t: t, dir: dir, cfg: cfg, store: store, zone: landing.Zone{Dir: cfg.DataDir}, doers: map[string]ingest.Doer{}}
	for name, src := range cfg.Sources {
		creds, err := src.Credentials(path)
		if err != nil {
			t.Fatal(err)
		}
		var auth fetch.Auth = fetch.NoAuth()
		switch creds.Type {
		case "bearer":
			auth = fetch.BearerAuth(creds.Token)
		case "basic":
			auth = fetch.BasicAuth(creds.User, creds.Password)
		case "header":
			auth = fetch.HeaderAuth(creds.Name, creds.Value)
		case "query":
			auth = fetch.QueryAuth(creds.Name, creds.Value)
		}
		c, err := fetch.New(fetch.Options{Source: name, Auth: auth, Headers: src.Headers, Concurrency: src.Concurrency,
			BaseURL: src.BaseURL, AllowedOrigins: src.AllowedOrigins, SendCredentialsToAllowed: src.SendCredentialsToAllowed,
			Retry:   fetch.Retry{MaxAttempts: 2, InitialBackoff: 1e6, MaxBackoff: 1e7},
			Timeout: src.Timeout.D(), TrackingHeader: src.TrackingHeader, MaxResponseBytes: int64(src.MaxResponseBytes),
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		e.doers[name] = c
	}
	return e
}

func (e *env) opts(kind state.Kind) ingest.Options {
	return ingest.Options{Config: e.cfg, Store: e.store, Zone: e.zone, Doers: e.doers, Kind: kind, Logger: testLogger()}
}

// run ingests one stream and fails the test on error.
func (e *env) run(stream string) ingest.Result {
	e.t.Helper()
	res, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams[stream])
	if err != nil {
		e.t.Fatalf("ingest %s: %v", stream, err)
	}
	return res
}

// landed returns every record of a committed run, as landed.
func (e *env) landed(stream, runID string) []string {
	e.t.Helper()
	dir, err := e.zone.RunDir(stream, runID)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	if _, err := landing.Records(context.Background(), dir, func(r landing.Record) error {
		out = append(out, string(r.Data))
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// allCommitted returns the records of every committed run of a stream.
func (e *env) allCommitted(stream string) (recs []string, runs []state.Run) {
	e.t.Helper()
	runs, err := e.store.List(context.Background(), state.RunFilter{Stream: stream, Status: []state.Status{state.StatusCommitted}, Oldest: true})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range runs {
		recs = append(recs, e.landed(stream, r.ID)...)
	}
	return recs, runs
}

// testLogger discards logs unless RAWLAND_TEST_LOG=1.
func testLogger() *slog.Logger {
	if os.Getenv("RAWLAND_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}
