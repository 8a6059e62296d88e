package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawland/rawland/mockapi"
)

func TestUsageAndConfigErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "schemas"), 0o755)
	good := `{"type": "object", "properties": {"id": {"type": "integer"}}}`
	os.WriteFile(filepath.Join(dir, "schemas", "items.json"), []byte(good), 0o644)
	os.WriteFile(filepath.Join(dir, "rawland.yaml"), []byte(`
sources:
  api: {base_url: "http://127.0.0.1:1"}
streams:
  items: {source: api, path: /items, primary_key: [id], schema: schemas/items.json}
`), 0o644)
	cases := []struct {
		name  string
		setup func()
		args  []string
		want  string
	}{
		{"unknown command", nil, []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"bad flag", nil, []string{"runs", "--colour"}, "flag provided but not defined"},
		{"unknown stream", nil, []string{"ingest", "nope"}, `unknown stream "nope"`},
		{"unknown key", func() {
			os.WriteFile(filepath.Join(dir, "rawland.yaml"), []byte("sources: {}\nstreems: {}\n"), 0o644)
		}, []string{"status"}, "rawland.yaml:2"},
		{"schema does not compile", func() {
			os.WriteFile(filepath.Join(dir, "rawland.yaml"), []byte(`
sources:
  api: {base_url: "http://127.0.0.1:1"}
streams:
  items: {source: api, path: /items, primary_key: [id], schema: schemas/items.json}
`), 0o644)
			os.WriteFile(filepath.Join(dir, "schemas", "items.json"), []byte(`{"type": "objekt"}`), 0o644)
		}, []string{"ingest"}, "items.json"},
		{"secret not set", func() {
			os.WriteFile(filepath.Join(dir, "schemas", "items.json"), []byte(good), 0o644)
			os.WriteFile(filepath.Join(dir, "rawland.yaml"), []byte(`
sources:
  api: {base_url: "http://127.0.0.1:1", auth: {type: bearer, token_env: RAWLAND_TEST_UNSET_TOKEN}}
streams:
  items: {source: api, path: /items, primary_key: [id], schema: schemas/items.json}
`), 0o644)
		}, []string{"ingest"}, "RAWLAND_TEST_UNSET_TOKEN is not set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			code, out, errOut := rawland(t, dir, tc.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want 2\n%s%s", code, out, errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Fatalf("stderr does not mention %q:\n%s", tc.want, errOut)
			}
			if _, err := os.Stat(filepath.Join(dir, "data", "raw")); err == nil {
				t.Fatal("a usage error landed data")
			}
		})
	}
}

// TestJSONOutputKeys checks the contract's keys of runs --json and
// status --json after a real ingest.
func TestJSONOutputKeys(t *testing.T) {
	_, dir := mockProject(t, mockapi.Options{Seed: 1, Size: 50})
	mustRun(t, dir, "ingest", "users", "countries")
	out := mustRun(t, dir, "runs", "--json")
	var runs []map[string]any
	if err := json.Unmarshal([]byte(out), &runs); err != nil || len(runs) != 2 {
		t.Fatalf("runs --json: %v\n%s", err, out)
	}
	for _, k := range []string{"run_id", "stream", "kind", "status", "started_at", "finished_at", "records", "cursor_before", "cursor_after", "error"} {
		if _, ok := runs[0][k]; !ok {
			t.Errorf("runs --json lacks %q", k)
		}
	}
	if runs[0]["run_id"].(string) < runs[1]["run_id"].(string) {
		t.Error("runs --json is not newest first")
	}
	out = mustRun(t, dir, "status", "--json")
	var st struct {
		Streams []map[string]any `json:"streams"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Streams) == 0 {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	for _, s := range st.Streams {
		for _, k := range []string{"stream", "cursor", "last_run", "pending_runs", "quarantined", "dlq", "next_reconcile"} {
			if _, ok := s[k]; !ok {
				t.Errorf("status --json stream %v lacks %q", s["stream"], k)
			}
		}
		if s["stream"] == "users" && (s["pending_runs"].(float64) != 1 || s["cursor"] == "") {
			t.Errorf("users status: %v", s)
		}
	}
	out = mustRun(t, dir, "dlq", "list", "--json")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("empty dlq list --json = %q", out)
	}
}

// TestRunPrintsOneLinePerStream: the scheduled job's stdout is one summary
// line per stream with ingest, transform and reconcile in it.
func TestRunPrintsOneLinePerStream(t *testing.T) {
	m, dir := mockProject(t, mockapi.Options{Seed: 2, Size: 60})
	out := mustRun(t, dir, "run")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(m.Streams())+1 { // the REST streams and the delta queue
		t.Fatalf("%d lines for %d streams:\n%s", len(lines), len(m.Streams())+1, out)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 3 || f[1] != "ok" || !strings.Contains(l, "ingest ") || !strings.Contains(l, "transform ") || !strings.Contains(l, "reconcile due ") {
			t.Errorf("summary line: %s", l)
		}
	}
}

// TestDemo runs the quick start's demo end to end on a small mock.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	out := mustRun(t, dir, "--data", filepath.Join(dir, "d"), "demo", "--size", "300")
	for _, want := range []string{"== ingest", "== transform", "reconcile", "deleted", "enum_value status", "-- Rows per table", "(7 rows)"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	// the commands it suggests work from anywhere
	cfg := filepath.Join(dir, "d", "demo", "rawland.yaml")
	st := mustRun(t, t.TempDir(), "--config", cfg, "status")
	if !strings.Contains(st, "transformed") {
		t.Errorf("status from another directory:\n%s", st)
	}
	// a second demo into the same directory is a first run again
	again := mustRun(t, dir, "--data", filepath.Join(dir, "d"), "demo", "--size", "300")
	if !strings.Contains(again, "cleared the previous demo's data") || strings.Count(again, " 300 records") < strings.Count(out, " 300 records") {
		t.Errorf("second demo is not a fresh first run:\n%s", again)
	}
	// a directory the demo did not make is never wiped
	mine := filepath.Join(dir, "mine")
	os.MkdirAll(mine, 0o755)
	os.WriteFile(filepath.Join(mine, "keep.txt"), []byte("x"), 0o644)
	if code, _, errOut := rawland(t, dir, "--data", mine, "demo", "--size", "50"); code != exitUsage || !strings.Contains(errOut, "not made by the demo") {
		t.Errorf("demo into a user's directory: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(mine, "keep.txt")); err != nil {
		t.Errorf("the demo removed a user's file")
	}
}

func TestMockapiFlags(t *testing.T) {
	code, _, errOut := rawland(t, t.TempDir(), "mockapi", "--token", "--print-config")
	if code != exitUsage || !strings.Contains(errOut, "RAWLAND_MOCK_TOKEN") {
		t.Fatalf("--token without the variable: exit %d\n%s", code, errOut)
	}
	dir := t.TempDir()
	mustRun(t, dir, "mockapi", "--error-rate", "0.2", "--quota", "50", "--init", filepath.Join(dir, "p"))
	if _, err := os.Stat(filepath.Join(dir, "p", "schemas", "users.json")); err != nil {
		t.Fatal(err)
	}
}
