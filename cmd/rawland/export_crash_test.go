package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/mockapi"
	"github.com/rawland/rawland/state"
)

const exportCrashCfg = `
data_dir: data
lease_ttl: 3s
landing: {roll_bytes: 8KiB}
sources:
  api:
    base_url: "{{URL}}"
    auth: {type: bearer, token_env: EXPORT_CRASH_TOKEN}
    retry: {max_attempts: 4, initial_backoff: 1ms, max_backoff: 10ms}
    timeout: 2s
streams:
  things:
    source: api
    kind: export
    primary_key: [id]
    export:
      create: {path: /exports, body: {format: jsonl}}
      poll: {path: "/exports/{id}", done: [completed], failed: [failed], interval: 2ms, max_interval: 10ms, timeout: 20s}
      download: {urls: files, url: url, checksum: sha256}
    schema: schemas/things.json
`

// TestExportCrashAnywhere kills `rawland ingest things` (SIGKILL, a child
// process) at every step of an export (after the key is recorded, after
// the create was answered, after the job ID is recorded, while polling,
// before and between downloads, between batches and part files, around the
// commit and after the job is cleared), then runs it normally. After every
// round: every committed run holds each of the export's records exactly
// once, each job the upstream made was landed by exactly one committed run
// (a kill never makes a second job), no request carried a credential to
// the file host, and nothing is left staged, leased or pending.
func TestExportCrashAnywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): crash matrix runs child processes")
	}
	const token, records = "crash-test-token", 600
	t.Setenv("EXPORT_CRASH_TOKEN", token)
	x := mockapi.NewExport(mockapi.ExportOptions{Records: records, Files: 3, Token: token, PollsToDone: 2, Checksums: true, Truncate: 1})
	api := httptest.NewServer(x.API())
	defer api.Close()
	files := httptest.NewServer(x.Files())
	defer files.Close()
	x.SetFilesBase(files.URL)
	dir := project(t, exportCrashCfg, api.URL)
	points := []string{
		"after_lease", "after_begin", "export_after_key", "export_after_create", "export_after_job_id",
		"export_after_poll:1", "export_after_poll:3", "export_before_download:1", "export_before_download:2",
		"export_after_file:1", "after_page:2", "after_part:1", "export_after_file:3", "after_manifest",
		"after_commit", "after_publish", "export_after_clear",
	}
	for round, point := range points {
		cmd := child(t, dir, []string{"RAWLAND_CRASHPOINT=" + point}, "ingest", "things")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Run()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: the child was not killed at %s (exit %d): %s", round, point, cmd.ProcessState.ExitCode(), out.String())
		}
		if code, o, e := rawland(t, dir, "ingest", "things"); code != 0 {
			t.Fatalf("round %d (%s): the run after the crash exited %d:\n%s%s", round, point, code, o, e)
		}
		committed := checkExportLanding(t, dir, records, point)
		st := x.Stats()
		if st.JobsCreated != int64(committed) {
			t.Fatalf("after %s: the upstream made %d jobs for %d committed runs: a kill made a second job", point, st.JobsCreated, committed)
		}
		if st.FileHostCredentials != 0 {
			t.Fatalf("after %s: %d requests carried a credential to the file host", point, st.FileHostCredentials)
		}
	}
}

// checkExportLanding checks every committed run of things holds records
// 1..n exactly once and the stream is idle; it returns the committed runs.
func checkExportLanding(t *testing.T, dir string, n int, point string) int {
	t.Helper()
	ctx := context.Background()
	store := openTestState(t, dir)
	defer store.Close()
	runs, err := store.List(ctx, state.RunFilter{Stream: "things", Status: []state.Status{state.StatusCommitted}})
	if err != nil {
		t.Fatal(err)
	}
	zone := landing.Zone{Dir: filepath.Join(dir, "data")}
	for _, r := range runs {
		seen := map[int]int{}
		if _, err := landing.Records(ctx, zone.RawDir("things", r.ID), func(rec landing.Record) error {
			var v struct{ ID int }
			if err := json.Unmarshal(rec.Data, &v); err != nil {
				return err
			}
			seen[v.ID]++
			return nil
		}); err != nil {
			t.Fatalf("after %s: committed run %s is not whole: %v", point, r.ID, err)
		}
		for id := 1; id <= n; id++ {
			if seen[id] != 1 {
				t.Fatalf("after %s: run %s holds record %d %d times, want once", point, r.ID, id, seen[id])
			}
		}
		if len(seen) != n || !r.Complete {
			t.Fatalf("after %s: run %s holds %d distinct records (complete %v), want %d", point, r.ID, len(seen), r.Complete, n)
		}
	}
	if staged, _ := zone.StagedRuns("things"); len(staged) != 0 {
		t.Fatalf("after %s: staging still holds %v after a clean run", point, staged)
	}
	if l, held, _ := store.Holder(ctx, "things"); held {
		t.Fatalf("after %s: stream still leased by %+v", point, l)
	}
	if j, ok, _ := store.GetJob(ctx, "things", state.KindIngest); ok {
		t.Fatalf("after %s: a job is still pending after a clean run: %+v", point, j)
	}
	return len(runs)
}
