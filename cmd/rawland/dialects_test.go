package main

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/rawland/rawland/mockapi"
)

// TestDialectsThroughCLI: a POST search API with the page token and the
// incremental cursor in the JSON body, a GraphQL API and a single-object
// endpoint, through `rawland ingest` and `rawland transform`: every record
// lands and loads, one request per page of 10 records (runs --json counts
// exactly the pages the upstream answered), and the next incremental run
// sends the saved cursor in the body and reads only what changed.
func TestDialectsThroughCLI(t *testing.T) {
	m := mockapi.New(mockapi.Options{Seed: 3, Size: 95})
	srv := httptest.NewServer(m)
	defer srv.Close()
	dir := project(t, `
sources:
  api: {base_url: "{{URL}}", retry: {max_attempts: 1}}
streams:
  search:
    source: api
    path: /dialects/search
    method: POST
    body: {limit: 10}
    records: results
    primary_key: [id]
    cursor: {field: updated_at, param: filter.updated_since, start: "2000-01-01T00:00:00Z"}
    pagination: {type: cursor, next: paging.next.after, param: after}
    schema: schemas/search.json
  issues:
    source: api
    path: /dialects/graphql
    body:
      query: |
        query($first: Int, $after: String) {
          repository(owner: "acme", name: "app") {
            issues(first: $first, after: $after) { nodes { id } pageInfo { endCursor hasNextPage } }
          }
        }
      variables: {first: 10}
    records: data.repository.issues.nodes
    primary_key: [id]
    pagination:
      type: cursor
      in: body
      param: variables.after
      next: data.repository.issues.pageInfo.endCursor
      has_more: data.repository.issues.pageInfo.hasNextPage
    schema: schemas/issues.json
  me:
    source: api
    path: /dialects/me
    records: "."
    primary_key: [id]
    schema: schemas/me.json
`, srv.URL)
	mustRun(t, dir, "ingest", "search", "issues", "me")
	st := m.Stats()
	for _, c := range []struct {
		stream, path string
		records      int64
	}{{"search", "/dialects/search", 95}, {"issues", "/dialects/graphql", 95}, {"me", "/dialects/me", 1}} {
		r := latestRun(t, dir, c.stream)
		want := (c.records + 9) / 10
		if r.Records != c.records || !r.Complete || r.Pages != want || st.ByPath[c.path] != want {
			t.Errorf("%s: run %d records, complete %v, %d pages; upstream answered %d requests; want %d records, complete, %d pages and requests",
				c.stream, r.Records, r.Complete, r.Pages, st.ByPath[c.path], c.records, want)
		}
	}
	mustRun(t, dir, "transform")
	out := mustRun(t, dir, "sql", "--csv", "SELECT (SELECT count(DISTINCT id) FROM search) || ',' || (SELECT count(DISTINCT id) FROM issues) || ',' || (SELECT count(*) FROM me)")
	if !strings.Contains(out, "95,95,1") {
		t.Errorf("tables hold %q, want 95,95,1", out)
	}

	// the next run sends the cursor in the body: only the changed records
	changed, err := m.Mutate(mockapi.StreamTickets, mockapi.OpAdvance, 4)
	if err != nil {
		t.Fatal(err)
	}
	before := m.Stats().ByPath["/dialects/search"]
	mustRun(t, dir, "ingest", "search")
	r := latestRun(t, dir, "search")
	if r.Records < int64(len(changed)) || r.Records > int64(len(changed))+1 || r.Pages != m.Stats().ByPath["/dialects/search"]-before || !r.Complete {
		t.Fatalf("incremental run = %d records in %d pages (complete %v) for %d changed records: the cursor did not reach the body", r.Records, r.Pages, r.Complete, len(changed))
	}
	mustRun(t, dir, "transform")
	var rows []map[string]any
	out = mustRun(t, dir, "sql", "--json", "SELECT id FROM search WHERE _rawland_run_id = '"+r.RunID+"' ORDER BY id")
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("sql --json: %v: %s", err, out)
	}
	for _, id := range changed {
		if !slices.ContainsFunc(rows, func(row map[string]any) bool { return row["id"] == float64(id) }) {
			t.Errorf("changed record %d was not loaded by the incremental run (rows %v)", id, rows)
		}
	}
}

// latestRun is the newest run of stream, from runs --json.
func latestRun(t *testing.T, dir, stream string) runJSON {
	t.Helper()
	var runs []runJSON
	if err := json.Unmarshal([]byte(mustRun(t, dir, "runs", stream, "--json")), &runs); err != nil || len(runs) == 0 {
		t.Fatalf("runs %s --json: %v", stream, err)
	}
	return runs[0]
}
