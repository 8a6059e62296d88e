package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rawland/rawland/config"
)

const stateBase = `sources:
  s: {base_url: "http://127.0.0.1:1"}
streams:
  x: {source: s, path: /x, primary_key: [id]}
`

func TestStateBlock(t *testing.T) {
	cases := []struct {
		name, yaml         string
		backend, env, sch  string
		wantErr, errSubstr string
	}{
		{name: "default is sqlite", yaml: "", backend: "sqlite"},
		{name: "postgres with defaults", yaml: "state: {backend: postgres}", backend: "postgres", env: "RAWLAND_STATE_DSN", sch: "rawland"},
		{name: "postgres with keys", yaml: "state: {backend: postgres, dsn_env: PG_URL, schema: etl_state}", backend: "postgres", env: "PG_URL", sch: "etl_state"},
		{name: "unknown backend", yaml: "state: {backend: mysql}", wantErr: "state.backend", errSubstr: "use sqlite (default) or postgres"},
		{name: "dsn_env with sqlite", yaml: "state: {dsn_env: X}", wantErr: "state.dsn_env", errSubstr: "only for backend: postgres"},
		{name: "a DSN in dsn_env", yaml: `state: {backend: postgres, dsn_env: "postgres://u:p@h/db"}`, wantErr: "state.dsn_env", errSubstr: "not an environment variable name"},
		{name: "bad schema", yaml: `state: {backend: postgres, schema: "Drop Table"}`, wantErr: "state.schema", errSubstr: "lower-case letters"},
		{name: "unknown key", yaml: "state: {backend: postgres, dsn: x}", wantErr: "state", errSubstr: "dsn"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("rawland.yaml", []byte(stateBase+tc.yaml+"\n"))
			if tc.wantErr != "" {
				var ce *config.Error
				if !errors.As(err, &ce) || !strings.HasPrefix(ce.Key, tc.wantErr) || !strings.Contains(err.Error(), tc.errSubstr) {
					t.Fatalf("got %v, want an error at %s saying %q", err, tc.wantErr, tc.errSubstr)
				}
				if strings.Contains(err.Error(), "u:p@") {
					t.Fatalf("error echoes a DSN: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := cfg.State; s.Backend != tc.backend || s.DSNEnv != tc.env || s.Schema != tc.sch {
				t.Fatalf("state = %+v", s)
			}
		})
	}
}

func TestStateDSNFromEnvOnly(t *testing.T) {
	cfg, err := config.Parse("rawland.yaml", []byte(stateBase+"state: {backend: postgres, dsn_env: RAWLAND_TEST_DSN_X}\n"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("RAWLAND_TEST_DSN_X", "")
	if _, err := cfg.StateDSN(); !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "RAWLAND_TEST_DSN_X is not set") {
		t.Fatalf("unset: %v", err)
	}
	t.Setenv("RAWLAND_TEST_DSN_X", "postgres://u:secret@db/x")
	if dsn, err := cfg.StateDSN(); err != nil || dsn != "postgres://u:secret@db/x" {
		t.Fatalf("set: %q, %v", dsn, err)
	}
}
