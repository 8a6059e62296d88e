package ingest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/mockapi"
	"github.com/rawland/rawland/state"
)

// dialect is one API style: the stream's rawland.yaml (under streams.NAME,
// without source, primary_key and schema), the mock path it reads, and how
// many requests more than the minimum it may make for n records (the
// minimum is n / page size rounded up, at least 1).
type dialect struct {
	name, path, yaml string
	extra            func(n int) int
	whole            bool // records: "." — one record, mockapi.MeRecord
}

const dialectSize = mockapi.DialectPageSize

func none(int) int { return 0 }

// dialects are the API styles the built-in mock serves, each configured
// as its README snippet says. The extra request, where there is one, is
// the one the API leaves no other way to know the end by.
var dialects = []dialect{
	{"link", "/users", `path: /users
    params: {per_page: "10"}
    pagination: {type: link}`, none, false},
	{"offset_total", "/orders", `path: /orders
    records: data
    pagination: {type: offset, param: offset, limit_param: limit, limit: 10, total: total}`, none, false},
	{"cursor_has_more", "/events", `path: /events
    params: {page_size: "10"}
    records: results
    pagination: {type: cursor, next: next_cursor, param: cursor, has_more: has_more}`, none, false},
	{"page_size", "/products", `path: /products
    records: items
    pagination: {type: page, param: page, size_param: size, size: 10}`,
		func(n int) int { return b2i(n%dialectSize == 0) }, false}, // a full last page: the empty page after it ends the walk
	{"next_url", "/tickets", `path: /tickets
    params: {limit: "10"}
    records: records
    pagination: {type: next_url, field: next}`, none, false},
	{"stripe_last_record", "/dialects/stripe", `path: /dialects/stripe
    params: {limit: "10"}
    records: data
    pagination: {type: cursor, next_from_last_record: id, param: starting_after, has_more: has_more}`, none, false},
	{"post_search_body", "/dialects/search", `path: /dialects/search
    method: POST
    body: {limit: 10, properties: [id, subject]}
    records: results
    pagination: {type: cursor, in: body, next: paging.next.after, param: after}`, none, false},
	{"graphql", "/dialects/graphql", `path: /dialects/graphql
    body:
      query: "query($first: Int, $after: String) { repository(owner: \"acme\", name: \"app\") { issues(first: $first, after: $after) { nodes { id } pageInfo { endCursor hasNextPage } } } }"
      variables: {first: 10}
    records: data.repository.issues.nodes
    pagination:
      type: cursor
      param: variables.after
      next: data.repository.issues.pageInfo.endCursor
      has_more: data.repository.issues.pageInfo.hasNextPage`, none, false},
	{"header_cursor", "/dialects/header", `path: /dialects/header
    params: {limit: "10"}
    pagination: {type: cursor, next_header: X-Next-Cursor, param: cursor}`, none, false},
	{"odata_next_link", "/dialects/odata", `path: /dialects/odata
    params: {$top: "10"}
    records: value
    pagination: {type: next_url, field: '@odata\.nextLink'}`, none, false},
	{"offset_404_past_end", "/dialects/offset404", `path: /dialects/offset404
    records: items
    pagination: {type: offset, param: offset, limit_param: limit, limit: 10, end_statuses: [404]}`,
		func(n int) int { return b2i(n%dialectSize == 0) }, false}, // a full last page: the 404 after it ends the walk
	{"offset_has_more_string", "/dialects/offset_more", `path: /dialects/offset_more
    records: rows
    pagination: {type: offset, param: offset, limit_param: limit, limit: 10, has_more: more}`, none, false},
	{"page_total_pages", "/dialects/pages", `path: /dialects/pages
    records: data
    pagination: {type: page, param: page, size_param: per_page, size: 10, total_pages: meta.total_pages}`, none, false},
	{"end_flag_feed", "/dialects/feed", `path: /dialects/feed
    params: {limit: "10"}
    records: tickets
    pagination: {type: cursor, next: after_cursor, param: cursor, end_flag: end_of_stream}`, none, false},
	{"poll_token_repeats_on_empty_page", "/dialects/poll", `path: /dialects/poll
    params: {limit: "10"}
    records: events
    pagination: {type: cursor, next: next, param: cursor}`, func(int) int { return 1 }, false}, // the empty page that repeats the token
	{"single_object", "/dialects/me", `path: /dialects/me
    records: "."`, none, true},
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// dialectConfig adds every dialect as a stream d_NAME to the mock's
// generated config.
func dialectConfig(cfg string) string {
	var b strings.Builder
	for _, d := range dialects {
		fmt.Fprintf(&b, "  d_%s:\n    source: %s\n    %s\n    primary_key: [id]\n    schema: schemas/d_%s.json\n", d.name, mockapi.SourceName, d.yaml, d.name)
	}
	i := strings.Index(cfg, "reconcile:\n  every:")
	return cfg[:i] + b.String() + cfg[i:]
}

// TestDialects: every API style lands exactly the upstream's records, with
// the minimum number of requests (n records / page size, rounded up) or
// one more where the API gives no way to know the end; the run's pages
// count equals the requests the upstream answered. Each size is run with a
// short last page and with a full one.
func TestDialects(t *testing.T) {
	for _, n := range []int{95, 100} {
		e := newMockEnv(t, mockapi.Options{Seed: 9, Size: n}, dialectConfig)
		for _, d := range dialects {
			t.Run(fmt.Sprintf("%s/%d", d.name, n), func(t *testing.T) {
				e.t = t
				before := e.m.Stats().ByPath[d.path]
				res, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["d_"+d.name])
				if err != nil {
					t.Fatalf("ingest: %v", err)
				}
				requests := int(e.m.Stats().ByPath[d.path] - before)
				got := e.landed("d_"+d.name, res.Run.ID)
				want := truthOf(e, d)
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("landed %d records, the upstream holds %d (first landed %.80q)", len(got), len(want), first(got))
				}
				minimum := max(1, (len(want)+dialectSize-1)/dialectSize)
				if d.whole {
					minimum = 1
				}
				if wantReq := minimum + d.extra(n); requests != wantReq {
					t.Errorf("%d requests for %d records, want %d (minimum %d)", requests, len(want), wantReq, minimum)
				}
				if res.Run.Pages != int64(requests) {
					t.Errorf("run counts %d pages, the upstream answered %d requests", res.Run.Pages, requests)
				}
				if !res.Run.Complete {
					t.Errorf("run not complete")
				}
				t.Logf("%s: %d records, %d requests, minimum %d", d.name, len(want), requests, minimum)
			})
		}
	}
}

func truthOf(e *mockEnv, d dialect) []string {
	if d.whole {
		return []string{mockapi.MeRecord}
	}
	stream := mockapi.StreamTickets
	switch d.path {
	case "/users", "/orders", "/events", "/products":
		stream = d.path[1:]
	}
	var out []string
	for r := range e.m.Truth(stream) {
		out = append(out, string(r))
	}
	return out
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
