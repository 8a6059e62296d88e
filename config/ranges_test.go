package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawland/rawland/config"
)

// rangeBase is a minimal valid config; cases splice keys into it.
const rangeBase = `sources:
  api: {base_url: "http://127.0.0.1:1"}
streams:
  s:
    source: api
    path: /s
    primary_key: [id]
    schema: schemas/issues.json
`

// withSource replaces the source line's mapping body.
func withSource(body string) string {
	return strings.Replace(rangeBase, `{base_url: "http://127.0.0.1:1"}`, `{base_url: "http://127.0.0.1:1", `+body+`}`, 1)
}

// withStream adds lines (indented for the stream) after its path.
func withStream(lines string) string {
	return strings.Replace(rangeBase, "    path: /s\n", "    path: /s\n"+lines, 1)
}

// TestConfigThatCannotWork: every setting outside its range, every name
// collision and every type error names the exact key (also inside a
// one-line flow mapping) and the line, and says what to do.
func TestConfigThatCannotWork(t *testing.T) {
	dq := "    kind: delta_queue\n    delta_queue: {list: {path: /d}, fetch: {path: \"/r/{id}\"}, clear: {path: /c}, %s}\n"
	dqCfg := func(extra string) string {
		return strings.Replace(rangeBase, "    path: /s\n", strings.Replace(dq, "%s", extra, 1), 1)
	}
	cases := []struct {
		name, cfg, key string
		line           int
		want           string
	}{
		// names
		{"streams differ only by case", rangeBase + "  S: {source: api, path: /t, primary_key: [id], schema: schemas/issues.json}\n", "streams.S", 9, "collides with s (line 4)"},
		{"streams differ only by case, upper first", strings.Replace(rangeBase, "  s:\n", "  ORDERS: {source: api, path: /o, primary_key: [id], schema: schemas/issues.json}\n  orders:\n", 1), "streams.orders", 5, "collides with ORDERS (line 4)"},
		{"sources differ only by case", strings.Replace(rangeBase, "sources:\n", "sources:\n  API: {base_url: \"http://x\"}\n", 1), "sources.api", 3, "collides with API"},
		{"reserved stream name", strings.Replace(rangeBase, "  s:\n", "  _rawland_stage:\n", 1), "streams._rawland_stage", 4, "reserved"},
		// yaml type errors inside flow mappings name the key, not the line's first key
		{"type error in flow mapping", withSource("concurrency: abc"), "sources.api.concurrency", 2, `want a whole number, got "abc"`},
		{"type error, nested flow mapping", withSource("retry: {max_attempts: 6, initial_backoff: soon}"), "sources.api.retry.initial_backoff", 2, `bad duration "soon"`},
		{"unknown key in flow mapping", withSource("colour: red"), "sources.api.colour", 2, "valid keys here are"},
		{"duplicate key", withSource("timeout: 1s, timeout: 2s"), "sources.api.timeout", 2, "duplicate key"},
		{"integer too large for yaml", rangeBase + "transform: {batch_size: 99999999999999999999}\n", "transform.batch_size", 9, "want a whole number"},
		{"self-referencing alias", "sources: &s {api: *s}\n", "sources.api", 1, "not a known key"},
		{"size overflows", withSource("max_response_bytes: 99999999999GiB"), "sources.api.max_response_bytes", 2, "too large"},
		// validator errors inside flow mappings name the key too
		{"batch_size absurd", rangeBase + "transform: {lock_wait: 1s, batch_size: 99999999999999}\n", "transform.batch_size", 9, "1 to 1,000,000"},
		{"batch_size negative", rangeBase + "transform: {batch_size: -1}\n", "transform.batch_size", 9, "out of range"},
		{"worker_nice beyond 19", rangeBase + "transform: {worker_nice: 20}\n", "transform.worker_nice", 9, "0 to 19 (default 10"},
		{"lease_ttl zero", rangeBase + "lease_ttl: 0s\n", "lease_ttl", 9, "use 1s to 24h (default 1m"},
		{"lease_ttl absurd", rangeBase + "lease_ttl: 9000h\n", "lease_ttl", 9, "out of range"},
		{"lock_wait absurd", rangeBase + "transform: {lock_wait: 100h}\n", "transform.lock_wait", 9, "out of range"},
		{"memory_limit zero", rangeBase + "transform: {memory_limit: 0}\n", "transform.memory_limit", 9, "too small for DuckDB"},
		{"memory_limit absurd", rangeBase + "transform: {memory_limit: 2TiB}\n", "transform.memory_limit", 9, "64MiB to 1TiB"},
		{"roll_bytes zero", rangeBase + "landing: {compression: gzip, roll_bytes: 0}\n", "landing.roll_bytes", 9, "1KiB to 64GiB"},
		{"reconcile.every zero", rangeBase + "reconcile: {every: 0s}\n", "reconcile.every", 9, "out of range"},
		{"concurrency zero", withSource("concurrency: 0"), "sources.api.concurrency", 2, "1 to 256"},
		{"concurrency negative", withSource("concurrency: -3"), "sources.api.concurrency", 2, "1 to 256"},
		{"concurrency absurd", withSource("concurrency: 100000"), "sources.api.concurrency", 2, "1 to 256"},
		{"rate_limit requests zero", withSource("rate_limit: {requests: 0, per: 1h}"), "sources.api.rate_limit.requests", 2, "out of range"},
		{"rate_limit per zero", withSource("rate_limit: {requests: 10, per: 0s}"), "sources.api.rate_limit.per", 2, "out of range"},
		{"rate_limit per missing", withSource("rate_limit: {requests: 10}"), "sources.api.rate_limit.per", 2, "needs requests and per"},
		{"max_attempts zero", withSource("retry: {max_attempts: 0}"), "sources.api.retry.max_attempts", 2, "1 to 100"},
		{"max_attempts absurd", withSource("retry: {max_attempts: 1000000}"), "sources.api.retry.max_attempts", 2, "1 to 100"},
		{"initial_backoff zero", withSource("retry: {initial_backoff: 0s}"), "sources.api.retry.initial_backoff", 2, "out of range"},
		{"max_backoff below initial", withSource("retry: {initial_backoff: 2m, max_backoff: 1m}"), "sources.api.retry.max_backoff", 2, "below initial_backoff"},
		{"timeout zero", withSource("timeout: 0s"), "sources.api.timeout", 2, "out of range"},
		{"timeout absurd", withSource("timeout: 1000h"), "sources.api.timeout", 2, "out of range"},
		{"max_response_bytes zero", withSource("max_response_bytes: 0"), "sources.api.max_response_bytes", 2, "1KiB to 4GiB"},
		{"max_response_bytes absurd", withSource("max_response_bytes: 1TiB"), "sources.api.max_response_bytes", 2, "1KiB to 4GiB"},
		{"max_pages zero", withStream("    max_pages: 0\n"), "streams.s.max_pages", 7, "out of range"},
		{"max_duration zero", withStream("    max_duration: 0s\n"), "streams.s.max_duration", 7, "out of range"},
		{"offset limit zero", withStream("    pagination: {type: offset, param: o, limit_param: l, limit: 0}\n"), "streams.s.pagination.limit", 7, "out of range"},
		{"offset limit negative", withStream("    pagination: {type: offset, param: o, limit_param: l, limit: -5}\n"), "streams.s.pagination.limit", 7, "out of range"},
		{"offset limit absurd", withStream("    pagination: {type: offset, param: o, limit_param: l, limit: 10000000}\n"), "streams.s.pagination.limit", 7, "1 to 1,000,000"},
		{"offset limit missing", withStream("    pagination: {type: offset, param: o, limit_param: l}\n"), "streams.s.pagination.limit", 7, "needs limit"},
		{"page size zero", withStream("    pagination: {type: page, param: p, size_param: n, size: 0}\n"), "streams.s.pagination.size", 7, "out of range"},
		{"page start negative", withStream("    pagination: {type: page, param: p, start: -1}\n"), "streams.s.pagination.start", 7, "0 to 1,000,000,000"},
		{"page_size negative", withStream("    pagination: {type: link, page_size: -1}\n"), "streams.s.pagination.page_size", 7, "out of range"},
		{"reconcile pagination limit", withStream("    reconcile: {path: /all, pagination: {type: offset, param: o, limit_param: l, limit: 0}}\n"), "streams.s.reconcile.pagination.limit", 7, "out of range"},
		{"delta queue batch zero", dqCfg("batch: 0"), "streams.s.delta_queue.batch", 7, "1 to 100,000"},
		{"delta queue batch absurd", dqCfg("batch: 1000000"), "streams.s.delta_queue.batch", 7, "1 to 100,000"},
		{"delta queue deadline zero", dqCfg("deadline: 0s"), "streams.s.delta_queue.deadline", 7, "out of range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeProject(t, tc.cfg, map[string]string{"issues.json": `{}`})
			_, err := config.Load(p)
			var ce *config.Error
			if !errors.As(err, &ce) || !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("want a config error, got %v", err)
			}
			if ce.Key != tc.key || ce.Line != tc.line || ce.File != p {
				t.Errorf("error names %s:%d %s, want %s:%d %s (%v)", ce.File, ce.Line, ce.Key, p, tc.line, tc.key, err)
			}
			if !strings.Contains(ce.Msg, tc.want) {
				t.Errorf("message %q does not contain %q", ce.Msg, tc.want)
			}
		})
	}
}

// TestDefaultsAndMeaningfulZeros: absent keys get their defaults; the
// zeros that mean something are kept.
func TestDefaultsAndMeaningfulZeros(t *testing.T) {
	cfg := rangeBase + "transform: {batch_size: 0, lock_wait: 0s, worker_nice: 0}\n"
	cfg = strings.Replace(cfg, "    path: /s\n", "    path: /s\n    pagination: {type: page, param: p, start: 0}\n", 1)
	c, err := config.Load(writeProject(t, cfg, map[string]string{"issues.json": `{}`}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Transform.BatchSize != config.DefaultBatchSize || c.Transform.LockWait != 0 || *c.Streams["s"].Pagination.Start != 0 || c.Transform.WorkerNice != 0 {
		t.Fatalf("batch_size %d, lock_wait %s, start %d, worker_nice %d", c.Transform.BatchSize, c.Transform.LockWait.D(), *c.Streams["s"].Pagination.Start, c.Transform.WorkerNice)
	}
	c, err = config.Load(writeProject(t, rangeBase, map[string]string{"issues.json": `{}`}))
	if err != nil {
		t.Fatal(err)
	}
	src := c.Sources["api"]
	if c.LeaseTTL.D() != config.DefaultLeaseTTL || c.Transform.LockWait.D() != config.DefaultLockWait || src.Concurrency != config.DefaultConcurrency ||
		src.Timeout.D() != config.DefaultTimeout || c.Streams["s"].MaxPages != config.DefaultMaxPages || c.Landing.RollBytes != config.DefaultRollBytes ||
		c.Transform.WorkerNice != config.DefaultWorkerNice {
		t.Fatalf("defaults not applied: %+v %+v", c, src)
	}
}

// TestDataDirNotADirectory: a data_dir that is a file, or under a file,
// is a config error naming data_dir and its line (or the --data flag).
func TestDataDirNotADirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "afile")
	os.WriteFile(file, []byte("x"), 0o644)
	cases := []struct {
		name, dataDir, flag, want string
		line                      int
	}{
		{"data_dir is a file", file, "", "exists and is not a directory", 1},
		{"data_dir under a file", filepath.Join(file, "data"), "", "is a file, not a directory", 1},
		{"--data is a file", file, "--data", "exists and is not a directory", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeProject(t, "data_dir: "+tc.dataDir+"\n"+rangeBase, map[string]string{"issues.json": `{}`})
			c, err := config.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckDataDir(tc.dataDir, tc.flag)
			var ce *config.Error
			if !errors.As(err, &ce) || !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("want a config error, got %v", err)
			}
			if ce.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v (line %d), want line %d and %q", err, ce.Line, tc.line, tc.want)
			}
			if tc.flag == "" && ce.Key != "data_dir" {
				t.Errorf("key %q, want data_dir", ce.Key)
			}
			if tc.flag != "" && !strings.Contains(err.Error(), tc.flag) {
				t.Errorf("error %v does not name %s", err, tc.flag)
			}
		})
	}
	c, _ := config.Load(writeProject(t, rangeBase, map[string]string{"issues.json": `{}`}))
	if err := c.CheckDataDir(filepath.Join(dir, "new", "data"), ""); err != nil {
		t.Fatalf("a data dir that can be created: %v", err)
	}
}
