package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/mockapi"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/sqlitestore"
)

// TestHelpNeedsNoConfig: every command's -h works in an empty directory
// (no rawland.yaml), exits 0 and prints its usage.
func TestHelpNeedsNoConfig(t *testing.T) {
	dir := t.TempDir()
	for name, c := range commands {
		for _, h := range []string{"-h", "--help"} {
			code, out, errOut := rawland(t, dir, name, h)
			if code != exitOK || !strings.Contains(out, "usage: rawland [global flags] "+name) || !strings.Contains(out, c.summary) {
				t.Errorf("rawland %s %s: exit %d\nstdout: %s\nstderr: %s", name, h, code, out, errOut)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("help wrote into the directory: %v", entries)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := rawland(t, t.TempDir(), "version")
	if code != exitOK || !strings.HasPrefix(out, "rawland ") || !strings.Contains(out, "go       go1.") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// TestInitWritesAValidProjectAndNeverOverwrites: init's project loads as
// written; a second init refuses (exit 2) and leaves a hand-edited file
// alone; --force replaces it.
func TestInitWritesAValidProjectAndNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := rawland(t, dir, "init", "proj")
	if code != exitOK {
		t.Fatalf("init: exit %d\n%s%s", code, out, errOut)
	}
	for _, f := range []string{"rawland.yaml", "schemas/items.json", ".gitignore"} {
		if _, err := os.Stat(filepath.Join(dir, "proj", f)); err != nil {
			t.Errorf("init did not write %s", f)
		}
	}
	if code, out, errOut := rawland(t, dir, "--config", "proj/rawland.yaml", "status", "--json"); code != exitOK {
		t.Fatalf("the starter config does not load: exit %d\n%s%s", code, out, errOut)
	}
	cfg := filepath.Join(dir, "proj", "rawland.yaml")
	os.WriteFile(cfg, []byte("# mine\n"), 0o644)
	code, _, errOut = rawland(t, dir, "init", "proj")
	if code != exitUsage || !strings.Contains(errOut, "--force") {
		t.Fatalf("second init: exit %d, want 2 naming --force\n%s", code, errOut)
	}
	if b, _ := os.ReadFile(cfg); string(b) != "# mine\n" {
		t.Fatalf("init overwrote a user's rawland.yaml")
	}
	if code, _, errOut := rawland(t, dir, "init", "--force", "proj"); code != exitOK {
		t.Fatalf("init --force: exit %d\n%s", code, errOut)
	}
	if b, _ := os.ReadFile(cfg); string(b) == "# mine\n" {
		t.Fatalf("init --force left the old file")
	}
}

func TestMockapiInitNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "mockapi", "--init", "p")
	schema := filepath.Join(dir, "p", "schemas", "users.json")
	os.WriteFile(schema, []byte(`{"hand":"written"}`), 0o644)
	code, _, errOut := rawland(t, dir, "mockapi", "--init", "p")
	if code != exitUsage || !strings.Contains(errOut, "not overwriting") {
		t.Fatalf("exit %d, want 2:\n%s", code, errOut)
	}
	if b, _ := os.ReadFile(schema); string(b) != `{"hand":"written"}` {
		t.Fatalf("mockapi --init overwrote a hand-written schema")
	}
	mustRun(t, dir, "mockapi", "--init", "p", "--force")
	if b, _ := os.ReadFile(schema); string(b) == `{"hand":"written"}` {
		t.Fatalf("--force did not replace the schema")
	}
}

// TestSchemaDraftRoundTrip: draft every mock stream's schema from what
// landed, write it, and transform: nothing is quarantined, and the draft
// is not written over an existing file without --force.
func TestSchemaDraftRoundTrip(t *testing.T) {
	_, dir := mockProject(t, mockapi.Options{Seed: 3, Size: 250})
	mustRun(t, dir, "ingest")
	code, out, errOut := rawland(t, dir, "schema", "draft", "users")
	if code != exitOK || !json.Valid([]byte(out)) || !strings.Contains(out, `"format": "date-time"`) {
		t.Fatalf("draft users: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = rawland(t, dir, "schema", "draft", "users", "--write")
	if code != exitUsage || !strings.Contains(errOut, "users.json exists") {
		t.Fatalf("--write over an existing schema: exit %d, want 2\n%s", code, errOut)
	}
	for _, s := range []string{"users", "orders", "events", "tickets", "products"} {
		mustRun(t, dir, "schema", "draft", s, "--write", "--force")
		// every landed record validates against the file written
		sch, err := gojsonschema.NewSchema(gojsonschema.NewReferenceLoader("file://" + filepath.Join(dir, "schemas", s+".json")))
		if err != nil {
			t.Fatalf("%s: drafted schema does not compile: %v", s, err)
		}
		for _, rec := range landedRecords(t, dir, s) {
			if res, err := sch.Validate(gojsonschema.NewBytesLoader(rec)); err != nil || !res.Valid() {
				t.Fatalf("%s: a landed record fails its draft: %v %v\n%s", s, err, res.Errors(), rec)
			}
		}
	}
	mustRun(t, dir, "transform")
	code, out, _ = rawland(t, dir, "sql", "--csv", "SELECT count(*) FROM rawland.quarantine")
	if code != exitOK || strings.TrimSpace(strings.Split(out, "\n")[1]) != "0" {
		t.Fatalf("records quarantined under their own drafts: exit %d\n%s", code, out)
	}
	if code, _, errOut := rawland(t, dir, "schema", "draft", "nope"); code != exitUsage {
		t.Fatalf("unknown stream: exit %d\n%s", code, errOut)
	}
}

func landedRecords(t *testing.T, dir, stream string) [][]byte {
	t.Helper()
	store, err := sqlitestore.Open(t.Context(), filepath.Join(dir, "data", "state", "rawland.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	runs, err := store.List(t.Context(), state.RunFilter{Stream: stream})
	if err != nil {
		t.Fatal(err)
	}
	z := landing.Zone{Dir: filepath.Join(dir, "data")}
	var out [][]byte
	for _, r := range runs {
		if r.Status != state.StatusCommitted && r.Status != state.StatusTransformed {
			continue
		}
		d, err := z.RunDir(stream, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		landing.Records(t.Context(), d, func(rec landing.Record) error {
			out = append(out, bytes.Clone(rec.Data))
			return nil
		})
	}
	if len(out) == 0 {
		t.Fatalf("no landed records of %s", stream)
	}
	return out
}

// TestRunsDefaultLimit: runs shows the last 20 unless --limit says otherwise.
func TestRunsDefaultLimit(t *testing.T) {
	_, dir := mockProject(t, mockapi.Options{Seed: 1, Size: 30})
	for range 11 {
		mustRun(t, dir, "ingest", "users", "orders")
	}
	count := func(args ...string) int {
		code, out, errOut := rawland(t, dir, append([]string{"runs", "--json"}, args...)...)
		if code != exitOK {
			t.Fatalf("runs: exit %d\n%s", code, errOut)
		}
		var rs []map[string]any
		json.Unmarshal([]byte(out), &rs)
		return len(rs)
	}
	if n := count(); n != 20 {
		t.Errorf("runs: %d rows, want the default 20", n)
	}
	if n := count("--limit", "0"); n != 22 {
		t.Errorf("runs --limit 0: %d rows, want all 22", n)
	}
	if n := count("--limit", "3"); n != 3 {
		t.Errorf("runs --limit 3: %d rows", n)
	}
}

// TestExampleProjectIsCurrent: the repository's own rawland.yaml and
// schemas/ are what `rawland mockapi --init . --force` writes for the mock
// on its default address, so the quick start's project never goes stale.
func TestExampleProjectIsCurrent(t *testing.T) {
	root := filepath.Join("..", "..")
	tmp := t.TempDir()
	mock := mockapi.New(mockapi.Options{Seed: 1, Size: 1000})
	if _, err := writeMockProject(tmp, mock, "http://127.0.0.1:8080", ""); err != nil {
		t.Fatal(err)
	}
	for _, f := range projectFiles(".", mock) {
		want, _ := os.ReadFile(filepath.Join(tmp, f))
		got, err := os.ReadFile(filepath.Join(root, f))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale or missing (%v): regenerate the example project with\n  go run -tags duckdb_arrow ./cmd/rawland mockapi --init . --force", f, err)
		}
	}
}

// TestReportCommand: report writes one HTML page of the data directory's
// history, atomically, where --out says (default DATA/report.html).
func TestReportCommand(t *testing.T) {
	_, dir := mockProject(t, mockapi.Options{Seed: 2, Size: 120, Drift: 0.1})
	mustRun(t, dir, "run")
	out := mustRun(t, dir, "report")
	page, err := os.ReadFile(filepath.Join(dir, "data", "report.html"))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"<svg", "users", "enum_value"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
	mustRun(t, dir, "report", "--out", filepath.Join(dir, "r.html"))
	if _, err := os.Stat(filepath.Join(dir, "r.html")); err != nil {
		t.Error(err)
	}
	if code, _, _ := rawland(t, dir, "report", "--days", "-1"); code != exitUsage {
		t.Errorf("--days -1: exit %d, want 2", code)
	}
}

// TestLoudCredentialProblems: an unset secret stops run before it prints
// any stream as ok (exit 2, naming the variable); a refused credential
// names the source, the auth type and the variable.
func TestLoudCredentialProblems(t *testing.T) {
	_, dir := mockProject(t, mockapi.Options{Seed: 1, Size: 20, Token: "right-token"})
	t.Setenv(mockapi.TokenEnv, "")
	os.Unsetenv(mockapi.TokenEnv)
	code, out, errOut := rawland(t, dir, "run", "users")
	if code != exitUsage || strings.Contains(out, " ok ") || !strings.Contains(errOut, mockapi.TokenEnv+" is not set") {
		t.Fatalf("unset secret: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	t.Setenv(mockapi.TokenEnv, "wrong-token")
	code, out, _ = rawland(t, dir, "ingest", "users")
	want := "auth type bearer: a bearer token from $" + mockapi.TokenEnv
	if code != exitFailed || !strings.Contains(out, want) || !strings.Contains(out, "sources.mock.auth") {
		t.Fatalf("refused credential: exit %d, want 1 with %q:\n%s", code, want, out)
	}
	if strings.Contains(out, "wrong-token") {
		t.Fatalf("the secret is in the output")
	}
}

// TestStreamWithoutSchema: a stream without a schema key and without
// schemas/<stream>.json is ingested; transform names the command that
// drafts its schema; once drafted (at the default path) it loads.
func TestStreamWithoutSchema(t *testing.T) {
	m := mockapi.New(mockapi.Options{Seed: 4, Size: 60})
	srv := httptest.NewServer(m)
	defer srv.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rawland.yaml"), []byte(`
sources:
  mock: {base_url: "`+srv.URL+`"}
streams:
  users:
    source: mock
    path: /users
    primary_key: [id]
    pagination: {type: link}
`), 0o644)
	if out := mustRun(t, dir, "ingest"); !strings.Contains(out, "next: `rawland transform`") {
		t.Errorf("ingest does not say what to do next:\n%s", out)
	}
	code, out, errOut := rawland(t, dir, "transform")
	if code != exitFailed || !strings.Contains(out, "next: `rawland schema draft users --write`") {
		t.Fatalf("transform without a schema: exit %d, want 1 naming the draft command\n%s%s", code, out, errOut)
	}
	mustRun(t, dir, "schema", "draft", "users", "--write")
	if _, err := os.Stat(filepath.Join(dir, "schemas", "users.json")); err != nil {
		t.Fatalf("the draft is not at the default path: %v", err)
	}
	out = mustRun(t, dir, "transform")
	if !strings.Contains(out, "60 inserted") {
		t.Fatalf("after drafting:\n%s", out)
	}
}

// TestResetStream: reset needs --yes, clears the cursor (the next ingest
// reads everything again), keeps the table, is recorded in the run
// history.
func TestResetStream(t *testing.T) {
	_, dir := mockProject(t, mockapi.Options{Seed: 1, Size: 40})
	mustRun(t, dir, "run", "users")
	if code, _, errOut := rawland(t, dir, "reset", "users"); code != exitUsage || !strings.Contains(errOut, "--yes") {
		t.Fatalf("reset without --yes: exit %d\n%s", code, errOut)
	}
	out := mustRun(t, dir, "reset", "users", "--yes")
	if !strings.Contains(out, "reset") || !strings.Contains(out, "→ -") {
		t.Fatalf("reset output:\n%s", out)
	}
	_, st, _ := rawland(t, dir, "status", "--json")
	var status struct {
		Streams []struct {
			Stream  string         `json:"stream"`
			Cursor  string         `json:"cursor"`
			LastRun map[string]any `json:"last_run"`
		} `json:"streams"`
	}
	json.Unmarshal([]byte(st), &status)
	for _, s := range status.Streams {
		if s.Stream == "users" && (s.Cursor != "" || s.LastRun["kind"] != "reset") {
			t.Fatalf("after reset: cursor %q, last run %v", s.Cursor, s.LastRun)
		}
	}
	out = mustRun(t, dir, "ingest", "users")
	if !strings.Contains(out, "40 records") {
		t.Fatalf("the ingest after a reset did not read everything again:\n%s", out)
	}
	out = mustRun(t, dir, "transform", "users")
	if !strings.Contains(out, "40 unchanged") {
		t.Fatalf("the table was not kept (re-read records should be unchanged):\n%s", out)
	}
}

// TestMisspelledCursorFieldIsLoud: a cursor field absent from every record
// warns on every run (not a silent full re-read) and status says
// "incremental inactive"; the right field reads as active.
func TestMisspelledCursorFieldIsLoud(t *testing.T) {
	_, dir := mockProject(t, mockapi.Options{Seed: 1, Size: 30})
	cfgPath := filepath.Join(dir, "rawland.yaml")
	cfg, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, []byte(strings.Replace(string(cfg), "field: updated_at", "field: updatedAt", 1)), 0o644)
	for range 2 {
		code, out, _ := rawland(t, dir, "ingest", "users")
		if code != exitOK || !strings.Contains(out, `WARNING: cursor field "updatedAt" is absent from all 30 records`) || !strings.Contains(out, "streams.users.cursor.field") {
			t.Fatalf("exit %d, want a warning naming the field and the key:\n%s", code, out)
		}
	}
	status := func() map[string]string {
		_, out, _ := rawland(t, dir, "status", "--json")
		var st struct {
			Streams []struct{ Stream, Incremental string } `json:"streams"`
		}
		json.Unmarshal([]byte(out), &st)
		m := map[string]string{}
		for _, s := range st.Streams {
			m[s.Stream] = s.Incremental
		}
		return m
	}
	if got := status()["users"]; got != "inactive" {
		t.Fatalf("status incremental = %q, want inactive", got)
	}
	_, text, _ := rawland(t, dir, "status")
	if !strings.Contains(text, "incremental inactive") {
		t.Errorf("status text does not say it:\n%s", text)
	}
	os.WriteFile(cfgPath, cfg, 0o644)
	mustRun(t, dir, "ingest", "users")
	if got := status()["users"]; got != "active" {
		t.Fatalf("with the right field: incremental = %q, want active", got)
	}
}
