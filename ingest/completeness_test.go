package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/state"
)

// data is the "data" member of page i with k records (ids unique across
// pages, so no page repeats another).
func data(i, k int) string {
	rs := make([]string, k)
	for j := range rs {
		rs[j] = fmt.Sprintf(`{"id":%d}`, i*100+j+1)
	}
	return `"data":[` + strings.Join(rs, ",") + `]`
}

// pageIndex reads which page a request asks for: p (link, next_url and
// cursor tokens), offset/3 or page-1.
func pageIndex(r *http.Request) int {
	q := r.URL.Query()
	switch {
	case q.Has("offset"):
		n, _ := strconv.Atoi(q.Get("offset"))
		return n / 3
	case q.Has("page"):
		n, _ := strconv.Atoi(q.Get("page"))
		return n - 1
	}
	n, _ := strconv.Atoi(q.Get("p"))
	return n
}

// pageFn answers page i: a Link header (or "") and the body; body "" = 404
// (a page the walk must not request).
type pageFn func(i int, base string) (link, body string)

// servePages serves a listing of pages.
func servePages(t *testing.T, fn pageFn) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		link, body := fn(pageIndex(r), srv.URL)
		if body == "" {
			http.Error(w, `{"error":"this page must not be requested"}`, http.StatusNotFound)
			return
		}
		if link != "" {
			w.Header().Set("Link", link)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func linkTo(base string, i int) string { return fmt.Sprintf(`<%s/items?p=%d>; rel="next"`, base, i) }

// threePages: pages 0 and 1 hold 3 records and a next, last(2) says what
// page 2 is; later pages must not be requested.
func threePages(next func(i int) string, last func() (string, string)) pageFn {
	return func(i int, _ string) (string, string) {
		switch {
		case i < 2:
			return "", "{" + data(i, 3) + "," + next(i+1) + "}"
		case i == 2:
			return last()
		}
		return "", ""
	}
}

func itemsConfig(pagination string) string {
	return `
sources:
  api: {base_url: "{{URL}}"}
streams:
  items:
    source: api
    path: /items
    records: data
    primary_key: [id]
    pagination: ` + pagination + `
    schema: schemas/items.json
`
}

// TestWalkEnds: every clear end of a listing, over every pagination type,
// ends the walk as complete with every record; every clear truncation, and
// an absent next path that was never seen present, fails the stream as a
// partial run (the pages read are kept, the run is not complete).
func TestWalkEnds(t *testing.T) {
	nextURL := func(i int) string { return fmt.Sprintf(`"next":"/items?p=%d"`, i) }
	token := func(i int) string { return fmt.Sprintf(`"next":"%d"`, i) }
	body := func(s string) func() (string, string) { return func() (string, string) { return "", s } }
	cases := []struct {
		name, pagination string
		page             pageFn
		wantRecords      int64
		wantErr          error // nil = complete
	}{
		// clear ends
		{"link: no rel=next", `{type: link}`, func(i int, b string) (string, string) {
			if i < 2 {
				return linkTo(b, i+1), "{" + data(i, 3) + "}"
			}
			if i == 2 {
				return "", "{" + data(i, 3) + "}"
			}
			return "", ""
		}, 9, nil},
		{"link: a short page ends though rel=next is there", `{type: link, page_size: 3}`, func(i int, b string) (string, string) {
			if i < 3 {
				return linkTo(b, i+1), "{" + data(i, 3-i/2*2) + "}"
			}
			return "", ""
		}, 7, nil},
		{"next_url: null", `{type: next_url, field: next}`, threePages(nextURL, body(`{`+data(2, 3)+`,"next":null}`)), 9, nil},
		{"next_url: empty string", `{type: next_url, field: next}`, threePages(nextURL, body(`{`+data(2, 3)+`,"next":""}`)), 9, nil},
		{"next_url: absent after an earlier page of the walk showed it", `{type: next_url, field: next}`, threePages(nextURL, body(`{`+data(2, 3)+`}`)), 9, nil},
		{"next_url: absent on a short page", `{type: next_url, field: next, page_size: 3}`, func(i int, _ string) (string, string) {
			if i == 0 {
				return "", "{" + data(0, 2) + "}"
			}
			return "", ""
		}, 2, nil},
		{"next_url: absent on an empty page", `{type: next_url, field: next}`, func(i int, _ string) (string, string) {
			if i == 0 {
				return "", `{"data":[]}`
			}
			return "", ""
		}, 0, nil},
		{"next_url: escaped dot in the key (Graph)", `{type: next_url, field: '@odata\.nextLink'}`, threePages(func(i int) string {
			return fmt.Sprintf(`"@odata.nextLink":"/items?p=%d"`, i)
		}, body(`{`+data(2, 3)+`}`)), 9, nil},
		{"cursor: null token", `{type: cursor, next: next, param: p}`, threePages(token, body(`{`+data(2, 3)+`,"next":null}`)), 9, nil},
		{"cursor: has_more false with a token", `{type: cursor, next: next, param: p, has_more: more}`, threePages(func(i int) string { return token(i) + `,"more":true` },
			body(`{`+data(2, 3)+`,"next":"3","more":false}`)), 9, nil},
		{"cursor: total reached with a token", `{type: cursor, next: next, param: p, total: meta.total}`, threePages(func(i int) string { return token(i) + `,"meta":{"total":9}` },
			body(`{`+data(2, 3)+`,"next":"3","meta":{"total":9}}`)), 9, nil},
		{"cursor: a short page with a token", `{type: cursor, next: next, param: p, page_size: 3}`, threePages(token, body(`{`+data(2, 1)+`,"next":"3"}`)), 7, nil},
		{"cursor: records null is an empty page", `{type: cursor, next: next, param: p}`, threePages(token, body(`{"data":null,"next":null}`)), 6, nil},
		{"offset: short page", `{type: offset, param: offset, limit_param: limit, limit: 3}`, threePages(func(int) string { return `"x":0` }, body(`{`+data(2, 1)+`}`)), 7, nil},
		{"offset: total reached on a full page", `{type: offset, param: offset, limit_param: limit, limit: 3, total: total}`, threePages(func(int) string { return `"total":9` }, body(`{`+data(2, 3)+`,"total":9}`)), 9, nil},
		{"page: empty page", `{type: page, param: page}`, func(i int, _ string) (string, string) {
			if i < 3 {
				return "", "{" + data(i, 3) + "}"
			}
			if i == 3 {
				return "", `{"data":[]}`
			}
			return "", ""
		}, 9, nil},
		{"page: short page with a size", `{type: page, param: page, size_param: size, size: 3}`, threePages(func(int) string { return `"x":0` }, body(`{`+data(2, 2)+`}`)), 8, nil},
		{"page: has_more false on a full page", `{type: page, param: page, has_more: more}`, threePages(func(int) string { return `"more":true` }, body(`{`+data(2, 3)+`,"more":false}`)), 9, nil},
		{"none: one page", `{type: none}`, func(i int, _ string) (string, string) { return "", "{" + data(0, 3) + "}" }, 3, nil},

		// clear truncations
		{"link: has_more true without rel=next", `{type: link, has_more: more}`, func(i int, b string) (string, string) {
			if i < 2 {
				return linkTo(b, i+1), "{" + data(i, 3) + `,"more":true}`
			}
			return "", "{" + data(i, 3) + `,"more":true}`
		}, 9, ingest.ErrMoreWithoutNext},
		{"link: total not reached", `{type: link, total: total}`, func(i int, b string) (string, string) {
			if i < 2 {
				return linkTo(b, i+1), "{" + data(i, 3) + `,"total":12}`
			}
			return "", "{" + data(i, 3) + `,"total":12}`
		}, 9, ingest.ErrMoreWithoutNext},
		{"next_url: has_more true, next null", `{type: next_url, field: next, has_more: more}`, threePages(func(i int) string { return nextURL(i) + `,"more":true` },
			body(`{`+data(2, 3)+`,"next":null,"more":true}`)), 9, ingest.ErrMoreWithoutNext},
		{"next_url: has_more true, next absent", `{type: next_url, field: next, has_more: more}`, threePages(func(i int) string { return nextURL(i) + `,"more":true` },
			body(`{`+data(2, 3)+`,"more":true}`)), 9, ingest.ErrMoreWithoutNext},
		{"next_url: total not reached", `{type: next_url, field: next, total: total}`, threePages(func(i int) string { return nextURL(i) + `,"total":10` },
			body(`{`+data(2, 3)+`,"next":null,"total":10}`)), 9, ingest.ErrMoreWithoutNext},
		{"next_url: absent on a full first page", `{type: next_url, field: next}`, func(i int, _ string) (string, string) {
			if i == 0 {
				return "", "{" + data(0, 3) + "}"
			}
			return "", ""
		}, 3, ingest.ErrAmbiguousEnd},
		{"next_url: a typo in the path", `{type: next_url, field: nxt}`, threePages(nextURL, body(`{`+data(2, 3)+`,"next":null}`)), 3, ingest.ErrAmbiguousEnd},
		{"next_url: an unescaped dot in the key", `{type: next_url, field: '@odata.nextLink'}`, threePages(func(i int) string {
			return fmt.Sprintf(`"@odata.nextLink":"/items?p=%d"`, i)
		}, body(`{`+data(2, 3)+`}`)), 3, ingest.ErrAmbiguousEnd},
		{"cursor: has_more true, token empty", `{type: cursor, next: next, param: p, has_more: more}`, threePages(func(i int) string { return token(i) + `,"more":true` },
			body(`{`+data(2, 3)+`,"next":"","more":true}`)), 9, ingest.ErrMoreWithoutNext},
		{"cursor: has_more true, token absent", `{type: cursor, next: next, param: p, has_more: more}`, threePages(func(i int) string { return token(i) + `,"more":true` },
			body(`{`+data(2, 3)+`,"more":true}`)), 9, ingest.ErrMoreWithoutNext},
		{"cursor: token absent on a full first page", `{type: cursor, next: paging.next.after, param: p}`, func(i int, _ string) (string, string) {
			if i == 0 {
				return "", "{" + data(0, 3) + `,"paging":{"prev":"x"}}`
			}
			return "", ""
		}, 3, ingest.ErrAmbiguousEnd},
		{"cursor: total not reached", `{type: cursor, next: next, param: p, total: total}`, threePages(func(i int) string { return token(i) + `,"total":"20"` },
			body(`{`+data(2, 3)+`,"next":null,"total":"20"}`)), 9, ingest.ErrMoreWithoutNext},
		{"cursor: records path absent", `{type: cursor, next: next, param: p}`, threePages(token, body(`{"items":[],"next":null}`)), 6, ingest.ErrTruncated},
		{"offset: total not reached", `{type: offset, param: offset, limit_param: limit, limit: 3, total: total}`, threePages(func(int) string { return `"total":20` },
			body(`{`+data(2, 1)+`,"total":20}`)), 7, ingest.ErrMoreWithoutNext},
		{"offset: has_more true on an empty page", `{type: offset, param: offset, limit_param: limit, limit: 3, has_more: more}`, threePages(func(int) string { return `"more":true` },
			body(`{"data":[],"more":true}`)), 6, ingest.ErrMoreWithoutNext},
		{"page: total not reached", `{type: page, param: page, total: total}`, threePages(func(int) string { return `"total":20` },
			body(`{"data":[],"total":20}`)), 6, ingest.ErrMoreWithoutNext},
		{"page: has_more true on an empty page", `{type: page, param: page, has_more: more}`, threePages(func(int) string { return `"more":true` },
			body(`{"data":[],"more":true}`)), 6, ingest.ErrMoreWithoutNext},
		{"none: has_more true", `{type: none, has_more: more}`, func(i int, _ string) (string, string) { return "", "{" + data(0, 3) + `,"more":true}` }, 3, ingest.ErrMoreWithoutNext},
		{"none: total not reached", `{type: none, total: total}`, func(i int, _ string) (string, string) { return "", "{" + data(0, 3) + `,"total":4}` }, 3, ingest.ErrMoreWithoutNext},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := servePages(t, tc.page)
			e := newEnv(t, itemsConfig(tc.pagination), srv.URL)
			res, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["items"])
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("a clear end must complete the run: %v", err)
				}
				if !res.Run.Complete || res.Run.Records != tc.wantRecords {
					t.Fatalf("run = complete %v, %d records; want complete, %d", res.Run.Complete, res.Run.Records, tc.wantRecords)
				}
				return
			}
			if !errors.Is(err, ingest.ErrTruncated) || !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want a truncated walk (%v)", err, tc.wantErr)
			}
			if res.Run.Status != state.StatusCommitted || res.Run.Complete || res.Run.Records != tc.wantRecords {
				t.Fatalf("run = %s, complete %v, %d records; want the %d records read committed as an incomplete run", res.Run.Status, res.Run.Complete, res.Run.Records, tc.wantRecords)
			}
		})
	}
}
