package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/rawland/rawland/mockapi"
)

// mockProject serves a mock upstream and writes its rawland.yaml and
// schemas into a temp project dir.
func mockProject(t *testing.T, opts mockapi.Options) (*mockapi.Server, string) {
	t.Helper()
	m := mockapi.New(opts)
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "schemas"), 0o755)
	for name, body := range m.Schemas() {
		os.WriteFile(filepath.Join(dir, "schemas", name+".json"), body, 0o644)
	}
	cfg := m.Config(srv.URL)
	// short retries and leases keep tests fast
	cfg = strings.Replace(cfg, "sources:\n", "lease_ttl: 5s\ntransform: {lock_wait: 60s}\nsources:\n", 1)
	os.WriteFile(filepath.Join(dir, "rawland.yaml"), []byte(cfg), 0o644)
	return m, dir
}

// row is what a test compares of a warehouse row.
type row struct {
	Version   int64
	UpdatedAt string
	Status    string
	Deleted   bool
}

// tableRows reads a stream's table: id → row.
func tableRows(t *testing.T, dir, stream string) map[int64]row {
	t.Helper()
	db, err := sql.Open("duckdb", filepath.Join(dir, "data", "warehouse.duckdb")+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(fmt.Sprintf(`SELECT id, version, strftime(updated_at AT TIME ZONE 'UTC', '%%Y-%%m-%%dT%%H:%%M:%%SZ'), status::VARCHAR, _rawland_deleted_at IS NOT NULL FROM main.%q`, stream))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]row{}
	for rows.Next() {
		var id int64
		var r row
		if err := rows.Scan(&id, &r.Version, &r.UpdatedAt, &r.Status, &r.Deleted); err != nil {
			t.Fatal(err)
		}
		out[id] = r
	}
	return out
}

// truthRows is the upstream's live records of a stream: id → row.
func truthRows(t *testing.T, m *mockapi.Server, stream string) map[int64]row {
	t.Helper()
	out := map[int64]row{}
	for rec := range m.Truth(stream) {
		var v struct {
			ID        int64  `json:"id"`
			Version   int64  `json:"version"`
			UpdatedAt string `json:"updated_at"`
			Status    string `json:"status"`
		}
		if err := json.Unmarshal(rec, &v); err != nil {
			t.Fatal(err)
		}
		out[v.ID] = row{Version: v.Version, UpdatedAt: v.UpdatedAt, Status: v.Status}
	}
	return out
}

// diffTruth compares a table with the upstream: every live upstream record
// present and equal, every other row flagged deleted.
func diffTruth(t *testing.T, table, truth map[int64]row) []string {
	var diffs []string
	for id, want := range truth {
		got, ok := table[id]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("id %d missing", id))
		case got != want:
			diffs = append(diffs, fmt.Sprintf("id %d: table %+v, upstream %+v", id, got, want))
		}
	}
	for id, got := range table {
		if _, ok := truth[id]; !ok && !got.Deleted {
			diffs = append(diffs, fmt.Sprintf("id %d is gone upstream but not flagged deleted", id))
		}
	}
	slices.Sort(diffs)
	return diffs
}

var reconciledStreams = []string{"users", "orders", "events", "products", "tickets"}

// TestReconcileRepairsWhatIncrementalMissed: several incremental runs with
// backdated updates, hard deletions and resurrections in between leave the
// tables wrong; one reconcile makes them equal the upstream exactly; a
// second reconcile changes nothing.
func TestReconcileRepairsWhatIncrementalMissed(t *testing.T) {
	m, dir := mockProject(t, mockapi.Options{Seed: 7, Size: 300})
	mustRun(t, dir, "run", "--no-reconcile")
	for range 3 {
		m.Advance(20)
		m.Backdate(6)
		m.Delete(5)
		m.Resurrect(2)
		mustRun(t, dir, "run", "--no-reconcile")
	}
	wrong := 0
	for _, s := range reconciledStreams {
		wrong += len(diffTruth(t, tableRows(t, dir, s), truthRows(t, m, s)))
	}
	if wrong == 0 {
		t.Fatal("the incremental runs alone already match the upstream: the test proves nothing")
	}
	out := mustRun(t, dir, "reconcile")
	t.Logf("first reconcile:\n%s", out)
	for _, s := range reconciledStreams {
		if d := diffTruth(t, tableRows(t, dir, s), truthRows(t, m, s)); len(d) > 0 {
			t.Errorf("%s after reconcile differs from the upstream in %d rows:\n%s", s, len(d), strings.Join(d[:min(len(d), 5)], "\n"))
		}
	}
	// records deleted upstream (and flagged) come back: reconcile undeletes them
	m.Resurrect(3)
	outUndelete := mustRun(t, dir, "reconcile")
	for _, s := range reconciledStreams {
		if d := diffTruth(t, tableRows(t, dir, s), truthRows(t, m, s)); len(d) > 0 {
			t.Errorf("%s after resurrections differs from the upstream in %d rows:\n%s", s, len(d), strings.Join(d[:min(len(d), 5)], "\n"))
		}
	}
	if n := strings.Count(outUndelete, "0 deleted, 3 undeleted"); n != len(reconciledStreams) {
		t.Errorf("%d of %d streams report 3 undeleted rows:\n%s", n, len(reconciledStreams), outUndelete)
	}
	before := map[string]map[int64]row{}
	for _, s := range reconciledStreams {
		before[s] = tableRows(t, dir, s)
	}
	out2 := mustRun(t, dir, "reconcile")
	for _, s := range reconciledStreams {
		if !maps.Equal(before[s], tableRows(t, dir, s)) {
			t.Errorf("%s: a second reconcile changed the table", s)
		}
	}
	if !strings.Contains(out, "deleted") || strings.Count(out2, "0 added, 0 changed") < len(reconciledStreams) || strings.Count(out2, " 0 deleted, 0 undeleted") < len(reconciledStreams) {
		t.Errorf("reconcile reports:\nfirst:\n%s\nsecond:\n%s", out, out2)
	}
}

// TestBrokenSnapshotMarksNothingDeleted: a full listing that fails after a
// few pages is landed as an incomplete snapshot and deletes nothing.
func TestBrokenSnapshotMarksNothingDeleted(t *testing.T) {
	m, dir := mockProject(t, mockapi.Options{Seed: 3, Size: 400, Faults: mockapi.Faults{BreakListingAfterPages: 2}})
	mustRun(t, dir, "run", "--no-reconcile", "users")
	m.Delete(10)
	code, out, errOut := rawland(t, dir, "reconcile", "users")
	if code != exitFailed {
		t.Fatalf("a broken listing must fail the stream (exit 1), got %d:\n%s%s", code, out, errOut)
	}
	deleted := 0
	for _, r := range tableRows(t, dir, "users") {
		if r.Deleted {
			deleted++
		}
	}
	if deleted != 0 {
		t.Fatalf("an incomplete snapshot marked %d rows deleted", deleted)
	}
	if !strings.Contains(out, "incomplete") {
		t.Errorf("the output does not report the snapshot as incomplete:\n%s", out)
	}
}

func mustRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	code, out, errOut := rawland(t, dir, args...)
	if code != 0 {
		t.Fatalf("rawland %s exited %d:\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// TestOverlappingScheduledRuns starts `rawland run` in three processes at
// once, several times with upstream changes between: the final tables equal
// those of a sequential twin, and no run was transformed twice.
func TestOverlappingScheduledRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): starts many child processes")
	}
	opts := mockapi.Options{Seed: 11, Size: 200}
	m, dir := mockProject(t, opts)
	twin, twinDir := mockProject(t, opts)
	for round := range 3 {
		if round > 0 {
			m.Advance(15)
			twin.Advance(15)
		}
		var cmds []*strings.Builder
		var procs []*exec.Cmd
		for range 3 {
			c := child(t, dir, nil, "run", "--no-reconcile")
			var out strings.Builder
			c.Stdout, c.Stderr = &out, &out
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			cmds = append(cmds, &out)
			procs = append(procs, c)
		}
		for i, p := range procs {
			p.Wait() // also waits for the output to be copied
			if code := p.ProcessState.ExitCode(); code != 0 && code != exitBusy {
				t.Fatalf("round %d: overlapping run %d exited %d:\n%s", round, i, code, cmds[i])
			} else {
				t.Logf("round %d: overlapping run %d exited %d (%d streams busy)", round, i, code, strings.Count(cmds[i].String(), " busy "))
			}
		}
		// whatever the overlap left pending, the next scheduled run finishes
		mustRun(t, dir, "run", "--no-reconcile")
		mustRun(t, twinDir, "run", "--no-reconcile")
	}
	for _, s := range reconciledStreams {
		got, want := tableRows(t, dir, s), tableRows(t, twinDir, s)
		if !maps.Equal(got, want) {
			t.Errorf("%s: overlapping runs produced %d rows, the sequential twin %d (or different versions)", s, len(got), len(want))
		}
	}
	db, err := sql.Open("duckdb", filepath.Join(dir, "data", "warehouse.duckdb")+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var dup int
	if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM (SELECT run_id FROM rawland.transformed GROUP BY run_id HAVING count(*) > 1)`).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Fatalf("%d runs were transformed twice", dup)
	}
}

// TestReplayAfterReconcileKeepsDeletions: records quarantined for drift,
// then deleted upstream and found gone by a complete reconcile, must not come
// back when the widened schema lets `quarantine replay` load them.
func TestReplayAfterReconcileKeepsDeletions(t *testing.T) {
	m, dir := mockProject(t, mockapi.Options{Seed: 5, Size: 300, Drift: 0.1})
	mustRun(t, dir, "run", "--no-reconcile", "users")
	m.Delete(80)
	mustRun(t, dir, "reconcile", "users")

	// some of the deleted records must be quarantined ones, or this proves nothing
	truth := truthRows(t, m, "users")
	db, err := sql.Open("duckdb", filepath.Join(dir, "data", "warehouse.duckdb")+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT DISTINCT (record::JSON->>'id')::BIGINT FROM rawland.quarantine WHERE stream = 'users'`)
	if err != nil {
		t.Fatal(err)
	}
	goneQuarantined := 0
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		if _, live := truth[id]; !live {
			goneQuarantined++
		}
	}
	rows.Close()
	db.Close()
	if goneQuarantined == 0 {
		t.Fatal("no quarantined record was deleted upstream: pick another seed")
	}

	// widen the schema: the renamed enum value becomes valid
	path := filepath.Join(dir, "schemas", "users.json")
	var schema map[string]any
	data, _ := os.ReadFile(path)
	json.Unmarshal(data, &schema)
	status := schema["properties"].(map[string]any)["status"].(map[string]any)
	status["enum"] = append(status["enum"].([]any), mockapi.DriftedStatus)
	data, _ = json.Marshal(schema)
	os.WriteFile(path, data, 0o644)
	mustRun(t, dir, "quarantine", "replay", "users")

	if d := diffTruth(t, tableRows(t, dir, "users"), truth); len(d) > 0 {
		t.Fatalf("after replay the table differs from the upstream in %d rows (%d deleted records were quarantined):\n%s",
			len(d), goneQuarantined, strings.Join(d[:min(len(d), 5)], "\n"))
	}
}
