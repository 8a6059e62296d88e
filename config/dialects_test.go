package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rawland/rawland/config"
)

// dialectBase is a one-stream config; {{S}} is replaced by more stream keys.
const dialectBase = `sources:
  api: {base_url: http://127.0.0.1:1}
streams:
  s:
    source: api
    path: /s
    primary_key: [id]
{{S}}    schema: schemas/issues.json
`

func withDialectStream(keys string) string { return strings.Replace(dialectBase, "{{S}}", keys, 1) }

// TestDialectConfigErrors: request dialects and stop rules that cannot
// work are refused with the file, the line and the key.
func TestDialectConfigErrors(t *testing.T) {
	cases := []struct {
		name     string
		keys     string
		wantLine int
		wantKey  string
		want     string
	}{
		{"unknown method", "    method: PUT\n", 8, "streams.s.method", `unknown method "PUT"`},
		{"body with GET", "    method: GET\n    body: {q: x}\n", 9, "streams.s.body", "needs method: POST"},
		{"in body with GET", "    pagination: {type: cursor, next: n, param: p, in: body}\n", 8, "streams.s.pagination.in", "in: body needs method: POST"},
		{"unknown in", "    pagination: {type: cursor, next: n, param: p, in: cookie}\n", 8, "streams.s.pagination.in", `unknown in "cookie"`},
		{"body param through a scalar", "    body: {variables: 3}\n    pagination: {type: cursor, next: n, param: variables.after}\n", 9, "streams.s.pagination.param", "variables is not a mapping"},
		{"header param not a header name", "    pagination: {type: cursor, next: n, param: 'x y', in: header}\n", 8, "streams.s.pagination.param", "not a valid header name"},
		{"cursor without a token source", "    pagination: {type: cursor, param: p}\n", 8, "streams.s.pagination.next", "next_from_last_record"},
		{"cursor with two token sources", "    pagination: {type: cursor, param: p, next: n, next_header: X-Next}\n", 8, "streams.s.pagination.next", "only one of"},
		{"next_from_last_record on offset", "    pagination: {type: offset, param: o, limit_param: l, limit: 5, next_from_last_record: id}\n", 8, "streams.s.pagination.next_from_last_record", "for pagination type cursor"},
		{"next_header on link", "    pagination: {type: link, next_header: X-Next}\n", 8, "streams.s.pagination.next_header", "for pagination type cursor"},
		{"end_statuses on cursor", "    pagination: {type: cursor, next: n, param: p, end_statuses: [404]}\n", 8, "streams.s.pagination.end_statuses", "offset and page"},
		{"end status not 4xx", "    pagination: {type: page, param: p, end_statuses: [500]}\n", 8, "streams.s.pagination.end_statuses", "not a client error"},
		{"end status 401", "    pagination: {type: page, param: p, end_statuses: [404, 401]}\n", 8, "streams.s.pagination.end_statuses", "refused credential"},
		{"end status 429", "    pagination: {type: offset, param: o, limit_param: l, limit: 5, end_statuses: [429]}\n", 8, "streams.s.pagination.end_statuses", "rate limit"},
		{"has_more and end_flag", "    pagination: {type: cursor, next: n, param: p, has_more: m, end_flag: e}\n", 8, "streams.s.pagination.end_flag", "set one of them"},
		{"whole body with pagination", "    records: \".\"\n    pagination: {type: link}\n", 8, "streams.s.records", "pagination type none"},
		{"reconcile in body with GET", "    reconcile: {path: /all, pagination: {type: page, param: p, in: body}}\n", 8, "streams.s.reconcile.pagination.in", "in: body needs method: POST"},
		{"method on a delta queue", "    kind: delta_queue\n    method: POST\n    delta_queue: {list: {path: /d}, fetch: {path: '/r/{id}'}, clear: {path: /c}}\n", 9, "streams.s.method", "kind rest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeProject(t, withDialectStream(tc.keys), map[string]string{"issues.json": `{}`})
			_, err := config.Load(p)
			var ce *config.Error
			if !errors.As(err, &ce) || !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("want a config error, got %v", err)
			}
			if ce.File != p || ce.Line != tc.wantLine || ce.Key != tc.wantKey || !strings.Contains(ce.Msg, tc.want) {
				t.Errorf("got %v (line %d, key %s), want line %d, key %s, containing %q", err, ce.Line, ce.Key, tc.wantLine, tc.wantKey, tc.want)
			}
		})
	}
}

// TestDialectDefaults: a body implies POST, POST puts the page parameter
// in the body, GET in the query; an explicit in wins.
func TestDialectDefaults(t *testing.T) {
	cases := []struct {
		name, keys, method, in string
	}{
		{"plain GET", "    pagination: {type: cursor, next: n, param: p}\n", "GET", config.InQuery},
		{"body implies POST and in body", "    body: {query: x}\n    pagination: {type: cursor, next: n, param: variables.after}\n", "POST", config.InBody},
		{"POST without body", "    method: post\n    pagination: {type: offset, param: o, limit_param: l, limit: 5}\n", "POST", config.InBody},
		{"POST with query params", "    method: POST\n    pagination: {type: page, param: p, in: query}\n", "POST", config.InQuery},
		{"header cursor", "    pagination: {type: cursor, next_header: X-Next-Cursor, param: X-Cursor, in: header}\n", "GET", config.InHeader},
		{"whole body", "    records: \".\"\n", "GET", config.InQuery},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(writeProject(t, withDialectStream(tc.keys), map[string]string{"issues.json": `{}`}))
			if err != nil {
				t.Fatal(err)
			}
			s := c.Streams["s"]
			if s.Method != tc.method || s.Pagination.In != tc.in {
				t.Errorf("method %q in %q, want %q %q", s.Method, s.Pagination.In, tc.method, tc.in)
			}
		})
	}
}

func TestSplitPath(t *testing.T) {
	cases := map[string][]string{
		"":                        {""},
		"a":                       {"a"},
		"data.items":              {"data", "items"},
		`@odata\.nextLink`:        {"@odata.nextLink"},
		`meta.@odata\.count`:      {"meta", "@odata.count"},
		`a\\.b`:                   {`a\`, "b"},
		`trailing\`:               {`trailing\`},
		`x\y`:                     {`x\y`},
		`data.repository.issues.`: {"data", "repository", "issues", ""},
	}
	for in, want := range cases {
		got := config.SplitPath(in)
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("SplitPath(%q) = %q, want %q", in, got, want)
		}
	}
}
