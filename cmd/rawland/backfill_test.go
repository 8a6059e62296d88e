package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawland/rawland/mockapi"
)

// The built-in mock's /range/orders needs since and until (Unix ms) and
// carries updated_ms: a window backfill over its last ten days.
const backfillCfg = `
sources:
  mock: {base_url: "{{URL}}", retry: {max_attempts: 1}}
streams:
  orders:
    source: mock
    path: /range/orders
    records: data
    primary_key: [id]
    schema: schemas/orders.json
    pagination: {type: offset, param: offset, limit_param: limit, limit: 5, total: total}
    cursor:
      field: updated_ms
      format: unix_ms
      param: since
      end_param: until
      start: "2023-12-22T00:00:00Z"
      end: "2024-01-01T00:00:00Z"
      window: 1d
`

// TestIngestWindowBackfillThroughCLI: rawland ingest walks ten one-day
// slices of the mock's since+until endpoint, committing each; killed after
// the fourth commit it resumes at the fifth slice, and every record of the
// range lands exactly once.
func TestIngestWindowBackfillThroughCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: runs a child process")
	}
	mock := mockapi.New(mockapi.Options{Seed: 3, Size: 6000})
	srv := httptest.NewServer(mock)
	defer srv.Close()
	dir := project(t, backfillCfg, srv.URL)
	want := rangeIDs(t, srv.URL, "2023-12-22T00:00:00Z", "2024-01-01T00:00:00Z")
	if len(want) < 20 {
		t.Fatalf("the mock has only %d records in the range", len(want))
	}

	cmd := child(t, dir, []string{"RAWLAND_CRASHPOINT=after_commit:4"}, "ingest", "orders")
	if err := cmd.Run(); err == nil {
		t.Fatal("the child was not killed at the 4th commit")
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("the child exited %d instead of being killed", cmd.ProcessState.ExitCode())
	}
	if cur := streamCursor(t, dir); cur != "2023-12-26T00:00:00Z" {
		t.Fatalf("cursor after the crash = %q, want the end of the 4th slice", cur)
	}

	reqBefore := mock.Stats().Requests
	code, out, errOut := rawland(t, dir, "ingest", "orders")
	t.Logf("range has %d records; the resumed backfill made %d requests", len(want), mock.Stats().Requests-reqBefore)
	if code != 0 {
		t.Fatalf("resume exited %d:\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "6 runs") {
		t.Errorf("the resumed backfill should commit the 6 remaining slices:\n%s", out)
	}
	if cur := streamCursor(t, dir); cur != "2024-01-01T00:00:00Z" {
		t.Fatalf("cursor after the backfill = %q, want end", cur)
	}
	count, _, _ := landedIDs(t, dir, "orders", true)
	var got []int
	for id, n := range count {
		for range n {
			got = append(got, int(id))
		}
	}
	sort.Ints(got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("landed %d records, want exactly the %d of the range once each:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	// the range is done: a further run skips without a request
	before := mock.Stats().Requests
	code, out, _ = rawland(t, dir, "ingest", "orders")
	if code != 0 || !strings.Contains(out, "skipped") || mock.Stats().Requests != before {
		t.Fatalf("a run after the end: exit %d, %d requests:\n%s", code, mock.Stats().Requests-before, out)
	}
}

// TestDurationLookbackOnIntegerCursorExits2: the config error named at the
// lookback key.
func TestDurationLookbackOnIntegerCursorExits2(t *testing.T) {
	dir := project(t, `
sources:
  api: {base_url: "http://127.0.0.1:1"}
streams:
  things:
    source: api
    path: /things
    primary_key: [id]
    schema: schemas/things.json
    cursor: {field: seq, param: after, start: "0", lookback: 10m}
`, "")
	code, _, errOut := rawland(t, dir, "ingest")
	if code != 2 || !strings.Contains(errOut, "streams.things.cursor.lookback") || !strings.Contains(errOut, "integer lookback") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func rangeIDs(t *testing.T, base, from, to string) []int {
	t.Helper()
	f, _ := time.Parse(time.RFC3339, from)
	u, _ := time.Parse(time.RFC3339, to)
	resp, err := http.Get(fmt.Sprintf("%s/range/orders?since=%d&until=%d&limit=500", base, f.UnixMilli(), u.UnixMilli()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data []struct {
			ID int `json:"id"`
		} `json:"data"`
		Total int `json:"total"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Total != len(body.Data) {
		t.Fatalf("range listing: %v (total %d, %d records)", err, body.Total, len(body.Data))
	}
	var ids []int
	for _, r := range body.Data {
		ids = append(ids, r.ID)
	}
	sort.Ints(ids)
	return ids
}
