package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawland/rawland/config"
)

// fuzzSecrets are environment variables the fuzz target sets; their values
// must never appear in an error unless the config text itself holds them.
var fuzzSecrets = map[string]string{
	"RAWLAND_FUZZ_TOKEN": "tok-Zq9xK2-secret",
	"RAWLAND_FUZZ_USER":  "user-Hs7pW4-secret",
	"RAWLAND_FUZZ_PASS":  "pass-Lm3vB8-secret",
	"RAWLAND_FUZZ_KEY":   "key-Rt5nC1-secret",
}

// FuzzParse feeds arbitrary bytes to config.Parse. It must never panic;
// it returns either a config or a *config.Error (exit 2), never both or
// neither; a config it returns is usable (every stream's source exists, its
// credentials can be read); and no error, from Parse or from reading the
// credentials, carries the value of an environment variable.
func FuzzParse(f *testing.F) {
	base := `sources:
  api: {base_url: "http://127.0.0.1:1", auth: {type: bearer, token_env: RAWLAND_FUZZ_TOKEN}}
streams:
  s: {source: api, path: /s, primary_key: [id], schema: schemas/s.json}
`
	for _, s := range []string{
		contractExample,
		base,
		strings.Replace(base, "type: bearer, token_env: RAWLAND_FUZZ_TOKEN", "type: basic, user_env: RAWLAND_FUZZ_USER, password_env: RAWLAND_FUZZ_PASS", 1),
		strings.Replace(base, "type: bearer, token_env: RAWLAND_FUZZ_TOKEN", "type: query, name: api_key, value_env: RAWLAND_FUZZ_KEY", 1),
		strings.Replace(base, "type: bearer, token_env: RAWLAND_FUZZ_TOKEN", "type: header, name: X-Key, value_env: RAWLAND_FUZZ_UNSET", 1),
		strings.Replace(base, "auth: {", "concurrency: -1, auth: {", 1),
		strings.Replace(base, "primary_key: [id]", "primary_key: [id], pagination: {type: cursor, next: n, param: p, has_more: m}", 1),
		strings.Replace(base, "primary_key: [id]", "primary_key: [id], cursor: {field: u, param: since, start: \"2020-01-01T00:00:00Z\", lookback: 10m}", 1),
		base + "  S: {source: api, path: /S, primary_key: [id], schema: schemas/s.json}\n",
		base + "transform: {batch_size: 99999999999999, memory_limit: 1GiB}\nlease_ttl: 0s\n",
		base + "data_dir: " + "schemas/s.json\n",
		"sources: {api: {base_url: http://x}}\nstreams: {s: {source: api, path: /s, primary_key: [id], schema: schemas/s.json, max_pages: 0}}\n",
		"a: &a [*a, *a]\n",
		"sources:\n  - 1\n  - 2\n",
		"\t\x00\xff",
		"streams:\n  s:\n    source: api\n    source: api\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "schemas"), 0o755); err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"s.json", "issues.json", "certificates.json"} {
		if err := os.WriteFile(filepath.Join(dir, "schemas", name), []byte(`{"type":"object"}`), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	for k, v := range fuzzSecrets {
		f.Setenv(k, v)
	}
	name := filepath.Join(dir, "rawland.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse(name, data)
		var errs []error
		switch {
		case err != nil && cfg != nil:
			t.Fatalf("Parse returned a config and an error: %v", err)
		case err != nil:
			var ce *config.Error
			if !errors.As(err, &ce) || !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("Parse error is not a *config.Error: %T %v", err, err)
			}
			errs = append(errs, err)
		case cfg == nil:
			t.Fatal("Parse returned neither a config nor an error")
		default:
			for sn, st := range cfg.Streams {
				src, ok := cfg.Sources[st.Source]
				if !ok || src == nil {
					t.Fatalf("stream %s has source %q, which the config does not define", sn, st.Source)
				}
				if _, err := src.Credentials(name); err != nil {
					var ce *config.Error
					if !errors.As(err, &ce) {
						t.Fatalf("credentials of %s: not a *config.Error: %v", st.Source, err)
					}
					errs = append(errs, err)
				}
			}
		}
		for _, e := range errs {
			for k, v := range fuzzSecrets {
				if strings.Contains(e.Error(), v) && !strings.Contains(string(data), v) {
					t.Fatalf("error carries the value of %s: %v", k, e)
				}
			}
		}
	})
}
