package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/ingest/fetch"
	"github.com/rawland/rawland/mockapi"
	"github.com/rawland/rawland/state"
)

const exportToken = "s3cr3t-export-token"

const exportCfg = `
data_dir: data
lease_ttl: 5s
sources:
  api:
    base_url: "{{URL}}"
    auth: {type: bearer, token_env: EXPORT_TEST_TOKEN}
    retry: {max_attempts: 5, initial_backoff: 5ms, max_backoff: 20ms}
    timeout: 2s
streams:
  things:
    source: api
    kind: export
    primary_key: [id]
    export:
      create: {path: /exports, body: {format: jsonl}}
      poll: {path: "/exports/{id}", done: [completed], failed: [failed], error: error, interval: 5ms, max_interval: 20ms, timeout: 10s}
      download: {urls: files, url: url, checksum: sha256, format: {{FORMAT}}}
    schema: schemas/things.json
`

// exportEnv serves a mockapi.Export: the API on one listener, its files on
// a second (another origin).
type exportEnv struct {
	*env
	x     *mockapi.Export
	files string
}

func newExportEnv(t *testing.T, opts mockapi.ExportOptions, edit func(string) string) *exportEnv {
	t.Helper()
	t.Setenv("EXPORT_TEST_TOKEN", exportToken)
	opts.Token = exportToken
	x := mockapi.NewExport(opts)
	api := httptest.NewServer(x.API())
	t.Cleanup(api.Close)
	files := httptest.NewServer(x.Files())
	t.Cleanup(files.Close)
	x.SetFilesBase(files.URL)
	format := opts.Format
	if format == "" {
		format = "jsonl"
	}
	cfg := strings.ReplaceAll(exportCfg, "{{FORMAT}}", format)
	if edit != nil {
		cfg = edit(cfg)
	}
	e := newEnv(t, cfg, api.URL)
	for name, c := range configuredClients(t, e.cfg, e.zone.StateDir()) {
		e.doers[name] = c
	}
	return &exportEnv{env: e, x: x, files: files.URL}
}

// ids counts each record ID over the stream's committed runs.
func (e *exportEnv) ids() map[int64]int {
	e.t.Helper()
	recs, _ := e.allCommitted("things")
	out := map[int64]int{}
	for _, r := range recs {
		var v struct {
			ID json.Number `json:"id"`
		}
		if err := json.Unmarshal([]byte(r), &v); err != nil {
			e.t.Fatalf("landed record %.80s: %v", r, err)
		}
		n, err := v.ID.Int64()
		if err != nil { // csv: a string
			var s struct{ ID string }
			json.Unmarshal([]byte(r), &s)
			n, err = json.Number(s.ID).Int64()
			if err != nil {
				e.t.Fatalf("record %.80s has no numeric id", r)
			}
		}
		out[n]++
	}
	return out
}

// wantOnce checks that records 1..n landed exactly once each.
func (e *exportEnv) wantOnce(n int64) {
	e.t.Helper()
	got := e.ids()
	for id := int64(1); id <= n; id++ {
		if got[id] != 1 {
			e.t.Fatalf("record %d landed %d times, want once (%d distinct records landed)", id, got[id], len(got))
		}
	}
	if int64(len(got)) != n {
		e.t.Fatalf("%d distinct records landed, want %d", len(got), n)
	}
}

func (e *exportEnv) ingest() (ingest.Result, error) {
	return ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["things"])
}

func TestExportFaults(t *testing.T) {
	cases := []struct {
		name string
		opts mockapi.ExportOptions
		// check looks at the mock's counters after one successful run
		check func(t *testing.T, st mockapi.ExportStats)
	}{
		{name: "jsonl in three files", opts: mockapi.ExportOptions{Checksums: true}},
		{name: "json arrays", opts: mockapi.ExportOptions{Format: "json", Files: 2}},
		{name: "csv rows", opts: mockapi.ExportOptions{Format: "csv"}},
		{name: "gzip detected", opts: mockapi.ExportOptions{Gzip: true, Checksums: true}},
		{name: "slow job", opts: mockapi.ExportOptions{PollsToDone: 4}, check: func(t *testing.T, st mockapi.ExportStats) {
			if st.Polls != 5 {
				t.Errorf("%d polls, want 5 (4 running, 1 done)", st.Polls)
			}
		}},
		{name: "create answer lost", opts: mockapi.ExportOptions{LoseCreates: 2}, check: func(t *testing.T, st mockapi.ExportStats) {
			if st.Creates != 3 {
				t.Errorf("%d create requests, want 3 (two answers lost)", st.Creates)
			}
		}},
		{name: "job expired upstream", opts: mockapi.ExportOptions{ExpireJobs: 1}, check: func(t *testing.T, st mockapi.ExportStats) {
			if st.JobsCreated != 2 {
				t.Errorf("%d jobs created, want 2 (the expired one, then one with a new key)", st.JobsCreated)
			}
		}},
		{name: "job listed late (404 twice)", opts: mockapi.ExportOptions{LateJobs: 2}},
		{name: "expired download URLs", opts: mockapi.ExportOptions{ExpireDownloads: 2}, check: func(t *testing.T, st mockapi.ExportStats) {
			if st.Refused403 != 2 || st.Polls < 3 {
				t.Errorf("%d refused, %d polls; want 2 refused and a poll for fresh URLs after each", st.Refused403, st.Polls)
			}
		}},
		{name: "truncated downloads resume with Range", opts: mockapi.ExportOptions{Truncate: 1, Checksums: true}, check: func(t *testing.T, st mockapi.ExportStats) {
			if st.RangeDownloads != 3 {
				t.Errorf("%d ranged downloads, want 3 (one per cut file)", st.RangeDownloads)
			}
		}},
		{name: "truncated downloads without ranges", opts: mockapi.ExportOptions{Truncate: 1, NoRanges: true, Checksums: true, Format: "csv"}},
		{name: "truncated gzip", opts: mockapi.ExportOptions{Truncate: 1, Gzip: true, Checksums: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newExportEnv(t, tc.opts, nil)
			res, err := e.ingest()
			if err != nil {
				t.Fatalf("ingest: %v", err)
			}
			if !res.Run.Complete || res.Run.Records != 1000 {
				t.Fatalf("run = %+v; want complete with 1000 records", res.Run)
			}
			e.wantOnce(1000)
			st := e.x.Stats()
			want := int64(1)
			if tc.opts.ExpireJobs > 0 {
				want = 2
			}
			if st.JobsCreated != want {
				t.Errorf("%d jobs created, want %d", st.JobsCreated, want)
			}
			if st.FileHostCredentials != 0 {
				t.Errorf("%d requests carried credentials to the file host", st.FileHostCredentials)
			}
			if tc.check != nil {
				tc.check(t, st)
			}
			if j, ok, _ := e.store.GetJob(context.Background(), "things", state.KindIngest); ok {
				t.Errorf("the landed job is still recorded: %+v", j)
			}
		})
	}
}

func TestExportFailuresKeepNothing(t *testing.T) {
	cases := []struct {
		name    string
		opts    mockapi.ExportOptions
		edit    func(string) string
		wantErr string
		// keepsJob: the job stays recorded for the next run
		keepsJob bool
	}{
		{name: "failed job", opts: mockapi.ExportOptions{FailJobs: 1}, wantErr: "ran out of disk"},
		{name: "bad checksum", opts: mockapi.ExportOptions{Checksums: true, BadChecksum: true}, wantErr: "SHA-256", keepsJob: true},
		{name: "file over max_file_bytes", opts: mockapi.ExportOptions{}, wantErr: "over the 2048 byte limit", keepsJob: true,
			edit: func(c string) string {
				return strings.Replace(c, "sha256, format: jsonl}", "sha256, format: jsonl, max_file_bytes: 2KiB}", 1)
			}},
		{name: "download URLs keep expiring", opts: mockapi.ExportOptions{ExpireDownloads: 100}, wantErr: "fresh URLs", keepsJob: true},
		{name: "credentials to a foreign download host", opts: mockapi.ExportOptions{}, wantErr: "allowed_origins", keepsJob: true,
			edit: func(c string) string {
				return strings.Replace(c, "sha256, format: jsonl}", "sha256, format: jsonl, credentials: true}", 1)
			}},
		{name: "poll timeout", opts: mockapi.ExportOptions{PollsToDone: 1000}, wantErr: "poll timeout", keepsJob: true,
			edit: func(c string) string { return strings.Replace(c, "timeout: 10s}", "timeout: 100ms}", 1) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newExportEnv(t, tc.opts, tc.edit)
			res, err := e.ingest()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ingest: got %v, want an error containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), exportToken) || strings.Contains(err.Error(), "sig=") {
				t.Fatalf("the error carries a secret or a URL signature: %v", err)
			}
			if res.Run.Status == state.StatusCommitted {
				t.Fatalf("a failed export committed: %+v", res.Run)
			}
			if got := e.ids(); len(got) != 0 {
				t.Fatalf("%d records committed by a failed export", len(got))
			}
			j, ok, _ := e.store.GetJob(context.Background(), "things", state.KindIngest)
			if ok != tc.keepsJob {
				t.Fatalf("job recorded after the failure = %v (%+v), want %v", ok, j, tc.keepsJob)
			}
			if e.x.Stats().FileHostCredentials != 0 {
				t.Fatal("credentials reached the file host")
			}
		})
	}
}

// TestExportResumesTheSameJob ends a run while its job is still running
// (the poll timeout) and runs again: the second run polls the recorded job
// instead of creating another, and lands every record once.
func TestExportResumesTheSameJob(t *testing.T) {
	e := newExportEnv(t, mockapi.ExportOptions{PollsToDone: 30}, nil)
	poll := &e.cfg.Streams["things"].Export.Poll
	poll.Timeout = config.Duration(30 * time.Millisecond)
	if _, err := e.ingest(); err == nil || !strings.Contains(err.Error(), "next run resumes it") {
		t.Fatalf("the first run: got %v, want the poll timeout", err)
	}
	poll.Timeout = config.Duration(time.Minute)
	j, ok, _ := e.store.GetJob(context.Background(), "things", state.KindIngest)
	if !ok || j.ID == "" {
		t.Fatalf("after a stop while polling the job is %+v (recorded %v), want it recorded with its ID", j, ok)
	}
	if _, err := e.ingest(); err != nil {
		t.Fatal(err)
	}
	e.wantOnce(1000)
	if st := e.x.Stats(); st.JobsCreated != 1 || st.Creates != 1 {
		t.Fatalf("%d jobs created by %d create requests, want 1 and 1", st.JobsCreated, st.Creates)
	}
}

// TestExportIncrementalAndReconcile: the cursor goes into the create body;
// the next run exports only what changed; reconcile exports everything.
func TestExportIncrementalAndReconcile(t *testing.T) {
	e := newExportEnv(t, mockapi.ExportOptions{}, func(c string) string {
		c = strings.Replace(c, "body: {format: jsonl}", `body: {format: jsonl, since: "{cursor}"}`, 1)
		return strings.Replace(c, "    schema:", "    cursor: {field: updated_at}\n    schema:", 1)
	})
	first, err := e.ingest()
	if err != nil {
		t.Fatal(err)
	}
	if first.Run.Records != 1000 || first.Run.CursorAfter != "2024-01-01T16:40:00Z" {
		t.Fatalf("first run: %d records, cursor %q; want 1000 and record 1000's updated_at", first.Run.Records, first.Run.CursorAfter)
	}
	e.x.Grow(25)
	second, err := e.ingest()
	if err != nil {
		t.Fatal(err)
	}
	if second.Run.Records != 25 {
		t.Fatalf("second run landed %d records, want the 25 new ones", second.Run.Records)
	}
	rec, err := ingest.Stream(context.Background(), e.opts(state.KindReconcile), e.cfg.Streams["things"])
	if err != nil {
		t.Fatal(err)
	}
	if rec.Run.Records != 1025 || !rec.Run.Complete || rec.Run.CursorAfter != second.Run.CursorAfter {
		t.Fatalf("reconcile run = %+v; want all 1025 records, complete, cursor unchanged", rec.Run)
	}
	if st := e.x.Stats(); st.JobsCreated != 3 {
		t.Fatalf("%d jobs, want 3 (one per run)", st.JobsCreated)
	}
}

// TestExportDownloadCarriesNoCredential checks fetch's anonymous mode
// directly: no Authorization, no Referer, and the URL's query (its
// signature) never appears in the answer's URL.
func TestExportDownloadCarriesNoCredential(t *testing.T) {
	e := newExportEnv(t, mockapi.ExportOptions{}, nil)
	c := e.doers["api"].(*fetch.Client)
	_, err := c.Open(context.Background(), fetch.Download{URL: e.files + "/files/none/0?sig=abc&exp=1", Anonymous: true})
	var he *fetch.HTTPError
	if !errors.As(err, &he) || he.Status != 403 || strings.Contains(he.URL, "sig=") {
		t.Fatalf("got %v, want a 403 HTTPError whose URL leaves out the query", err)
	}
	if e.x.Stats().FileHostCredentials != 0 {
		t.Fatal("the anonymous download carried a credential")
	}
	// without Anonymous the origin policy refuses the foreign host outright
	_, err = c.Open(context.Background(), fetch.Download{URL: e.files + "/files/none/0"})
	if !errors.Is(err, fetch.ErrForeignOrigin) {
		t.Fatalf("credentialed download to another origin: got %v, want ErrForeignOrigin", err)
	}
}
