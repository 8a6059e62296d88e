package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawland/rawland/config"
)

// contractExample is the rawland.yaml of CONTRACT.md, verbatim.
const contractExample = `data_dir: data
sources:
  github:
    base_url: http://127.0.0.1:8080  # may carry a path prefix
    headers: {Accept: application/json}
    auth: {type: bearer, token_env: GITHUB_TOKEN}
    concurrency: 5
    rate_limit: {requests: 5000, per: 1h}
    retry: {max_attempts: 6, initial_backoff: 500ms, max_backoff: 1m}
    timeout: 30s
    tracking_header: Trackingid
    max_response_bytes: 64MiB
streams:
  issues:
    source: github
    kind: rest
    path: /repos/acme/app/issues
    params: {state: all, per_page: "100"}
    records: ""
    primary_key: [id]
    cursor:
      field: updated_at
      param: since
      start: "2020-01-01T00:00:00Z"
      lookback: 10m
    pagination:
      type: link
    schema: schemas/issues.json
  certificates:
    source: rmis
    kind: delta_queue
    delta_queue:
      list:  {path: /delta, ids: ids, limit_param: limit}
      fetch: {path: "/records/{id}"}
      clear: {method: POST, path: /delta/clear, ids: ids}
      batch: 100
      deadline: 2m
    primary_key: [id]
    schema: schemas/certificates.json
reconcile:
  every: 168h
`

func writeProject(t *testing.T, cfg string, schemas map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "schemas"), 0o755)
	for name, body := range schemas {
		os.WriteFile(filepath.Join(dir, "schemas", name), []byte(body), 0o644)
	}
	p := filepath.Join(dir, "rawland.yaml")
	os.WriteFile(p, []byte(cfg), 0o644)
	return p
}

var okSchemas = map[string]string{"issues.json": `{"type":"object"}`, "certificates.json": `{"type":"object"}`}

func TestContractExampleLoads(t *testing.T) {
	// the contract's example names source rmis without defining it; define it
	cfg := strings.Replace(contractExample, "sources:\n", "sources:\n  rmis: {base_url: https://rmis.example.com/v2}\n", 1)
	c, err := config.Load(writeProject(t, cfg, okSchemas))
	if err != nil {
		t.Fatal(err)
	}
	iss := c.Streams["issues"]
	if iss.Cursor.Lookback.D().Minutes() != 10 || iss.Pagination.Type != "link" || c.Sources["github"].MaxResponseBytes != 64<<20 {
		t.Fatalf("decoded wrongly: %+v", iss)
	}
	dq := c.Streams["certificates"].DeltaQueue
	if dq.Batch != 100 || dq.Deadline.D().Minutes() != 2 || dq.Clear.Method != "POST" {
		t.Fatalf("delta queue: %+v", dq)
	}
	if c.Reconcile.Every.D().Hours() != 168 || c.Sources["rmis"].Concurrency != 5 {
		t.Fatalf("defaults: %+v", c.Reconcile)
	}
}

func TestBadConfigs(t *testing.T) {
	base := `sources:
  api: {base_url: http://127.0.0.1:1}
streams:
  s:
    source: api
    path: /s
    primary_key: [id]
    schema: schemas/issues.json
`
	cases := []struct {
		name     string
		cfg      string
		wantLine int
		want     string // substring of the error
	}{
		{"unknown top key", base + "colour: red\n", 9, "colour"},
		{"unknown stream key", strings.Replace(base, "    path: /s", "    pathh: /s", 1), 6, "pathh"},
		{"wrong type", strings.Replace(base, "primary_key: [id]", "primary_key: {a: 1}", 1), 7, "primary_key"},
		{"missing source", strings.Replace(base, "    source: api\n", "", 1), 4, "missing source"},
		{"unknown source", strings.Replace(base, "source: api", "source: nope", 1), 5, `unknown source "nope"`},
		{"bad duration", base + "reconcile: {every: weekly}\n", 9, `bad duration "weekly"`},
		{"bad size", strings.Replace(base, "base_url: http://127.0.0.1:1}", "base_url: http://127.0.0.1:1, max_response_bytes: 12XB}", 1), 2, `bad size "12XB"`},
		{"unknown pagination", strings.Replace(base, "    path: /s\n", "    path: /s\n    pagination: {type: scroll}\n", 1), 7, `unknown pagination type "scroll"`},
		{"cursor pagination needs param", strings.Replace(base, "    path: /s\n", "    path: /s\n    pagination: {type: cursor, next: n}\n", 1), 7, "needs param"},
		{"missing schema file", strings.Replace(base, "issues.json", "nope.json", 1), 8, "nope.json"},
		{"schema not json", strings.Replace(base, "issues.json", "broken.json", 1), 8, "not valid JSON"},
		{"bad auth type", strings.Replace(base, "base_url: http://127.0.0.1:1}", "base_url: http://127.0.0.1:1, auth: {type: oauth3}}", 1), 2, `unknown auth type "oauth3"`},
		{"bearer without env", strings.Replace(base, "base_url: http://127.0.0.1:1}", "base_url: http://127.0.0.1:1, auth: {type: bearer}}", 1), 2, "token_env"},
		{"bad base url", strings.Replace(base, "http://127.0.0.1:1", "ftp:/x", 1), 2, "bad base_url"},
		{"bad stream name", strings.Replace(base, "  s:\n", "  my-stream:\n", 1), 4, "letters, digits and underscores"},
		{"bad cursor start", strings.Replace(base, "    path: /s\n", "    path: /s\n    cursor: {field: u, param: since, start: yesterday}\n", 1), 7, `bad start "yesterday"`},
		{"delta queue without block", strings.Replace(base, "    path: /s\n", "    kind: delta_queue\n", 1), 4, "needs a delta_queue"},
		{"fetch path without id", strings.Replace(base, "    path: /s\n", "    kind: delta_queue\n    delta_queue: {list: {path: /d}, fetch: {path: /r}, clear: {path: /c}}\n", 1), 7, "must contain {id}"},
		{"no streams", "sources:\n  api: {base_url: http://x}\n", 1, "no streams"},
		{"memory limit too small", base + "transform: {memory_limit: 1MiB}\n", 9, "too small for DuckDB"},
		{"yaml syntax", base + "  - oops: [\n", 0, "did not find expected key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeProject(t, tc.cfg, map[string]string{"issues.json": `{}`, "broken.json": `{"type":`})
			_, err := config.Load(p)
			if err == nil {
				t.Fatal("loaded a bad config")
			}
			if !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("error is not ErrInvalid: %v", err)
			}
			var ce *config.Error
			if !errors.As(err, &ce) || ce.File != p {
				t.Fatalf("error does not name the file: %v", err)
			}
			if tc.wantLine > 0 && ce.Line != tc.wantLine {
				t.Errorf("line = %d, want %d (%v)", ce.Line, tc.wantLine, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestCredentialsFromEnvOnly(t *testing.T) {
	cfg := `sources:
  api: {base_url: "http://x", auth: {type: basic, user_env: RL_USER, password_env: RL_PASS}}
streams:
  s: {source: api, path: /s, primary_key: [id], schema: schemas/issues.json}
`
	c, err := config.Load(writeProject(t, cfg, okSchemas))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("RL_USER", "u")
	t.Setenv("RL_PASS", "")
	_, err = c.Sources["api"].Credentials(c.Path)
	if err == nil || !strings.Contains(err.Error(), "RL_PASS") || !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("unset secret: %v", err)
	}
	t.Setenv("RL_PASS", "s3cret")
	cr, err := c.Sources["api"].Credentials(c.Path)
	if err != nil || cr.User != "u" || cr.Password != "s3cret" {
		t.Fatalf("credentials: %+v %v", cr, err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"64MiB": 64 << 20, "512KiB": 512 << 10, "1GiB": 1 << 30, "100": 100, "7B": 7} {
		if got, err := config.ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
}

func TestDataDirRelativeToConfigFile(t *testing.T) {
	p := writeProject(t, "data_dir: lake\nsources:\n  api: {base_url: \"http://x\"}\nstreams:\n  s: {source: api, path: /s, primary_key: [id], schema: schemas/issues.json}\n", okSchemas)
	c, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(p), "lake"); c.DataDir != want {
		t.Fatalf("data_dir = %q, want %q", c.DataDir, want)
	}
}

// TestREADMEConfigReferenceLoads keeps the config reference
// (docs/config.md) true: its example must load as it is.
func TestREADMEConfigReferenceLoads(t *testing.T) {
	readme, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "# Config reference")
	if !ok {
		t.Fatal("docs/config.md has no config reference")
	}
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	example, _, _ := strings.Cut(rest, "```")
	p := writeProject(t, example, okSchemas)
	c, err := config.Load(p)
	if err != nil {
		t.Fatalf("the config reference (docs/config.md) does not load: %v", err)
	}
	if len(c.Streams) != 2 || c.Transform.LockWait.D().Seconds() != 30 || c.Streams["certificates"].Reconcile == nil {
		t.Fatalf("decoded: %d streams, transform %+v", len(c.Streams), c.Transform)
	}
}
