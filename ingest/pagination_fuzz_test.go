package ingest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/rawland/rawland/config"
)

// FuzzNextLink parses arbitrary Link header values. It must never panic; a
// target it returns is a substring of the header; and a well-formed
// `<target>; rel="next"` (target without '>') always yields that target,
// whatever links come before it.
func FuzzNextLink(f *testing.F) {
	for _, s := range []struct{ header, target string }{
		{`<https://api.example.com/items?page=2>; rel="next", <https://api.example.com/items?page=9>; rel="last"`, "/x?page=2"},
		{`<https://a/p?x=1>; rel="prev next"`, "https://a/p?x=2"},
		{`<https://a/p>; rel=next`, "https://a/q"},
		{`<https://a/p>; title="a, b"; rel="next"`, ""},
		{`<https://a/p>; REL="NEXT"`, "?after=abc"},
		{`<>; rel="next"`, "http://evil.example/"},
		{`<https://a/p>`, "<nested"},
		{`,,,  ,`, "x"},
		{`<https://a/p>; rel="last", <https://a/q>; rel="next"`, "y"},
		{`<https://a/p; rel="next"`, "z"},
		{`<https://a/p>; rel="next`, "w"},
	} {
		f.Add(s.header, s.target)
	}
	f.Fuzz(func(t *testing.T, header, target string) {
		if got, ok := nextLink(header); ok && !strings.Contains(header, got) {
			t.Fatalf("nextLink(%q) = %q, not part of the header", header, got)
		}
		if strings.ContainsAny(target, ">") {
			return
		}
		// a previous link that is itself well formed (no quotes or
		// separators that could swallow what follows)
		prefix := ""
		if h := strings.Map(func(r rune) rune {
			if strings.ContainsRune(`<>",;`, r) {
				return -1
			}
			return r
		}, header); h != "" {
			prefix = "<" + h + `>; rel="prev", `
		}
		h := prefix + "<" + target + `>; rel="next"`
		if got, ok := nextLink(h); !ok || got != target {
			t.Fatalf("nextLink(%q) = %q, %v; want %q", h, got, ok, target)
		}
	})
}

// fuzzPaginators are the stream paginations the fuzz target drives, one
// per type, as the mock and typical APIs configure them.
func fuzzPaginators() map[string]config.Pagination {
	one := 1
	return map[string]config.Pagination{
		"link":     {Type: config.PageLink},
		"next_url": {Type: config.PageNextURL, Field: "next"},
		"cursor":   {Type: config.PageCursor, Next: "next_cursor", Param: "cursor", HasMore: "has_more"},
		"offset":   {Type: config.PageOffset, Param: "offset", LimitParam: "limit", Limit: 10},
		"page":     {Type: config.PagePage, Param: "page", Start: &one, SizeParam: "size", Size: 10},
	}
}

// FuzzPaginatorNext gives every paginator an arbitrary page (body, Link
// header, current query, record count). It must never panic. A next URL it
// returns parses and is absolute, keeps the page's origin for the numbered
// paginations (offset, page) and moves them forward, never back to the
// same page. And `complete` is never a guess: a page whose has_more is
// true must not end a cursor walk without a token to continue with.
func FuzzPaginatorNext(f *testing.F) {
	for _, s := range []struct {
		body, link, query string
		records           int
	}{
		{`{"results":[{"id":1}],"next_cursor":"abc","has_more":true}`, "", "cursor=xyz", 1},
		{`{"results":[],"next_cursor":null,"has_more":false}`, "", "", 0},
		{`{"results":[{"id":1}],"has_more":true}`, "", "", 1},
		{`{"results":[{"id":1}],"next_cursor":"","has_more":true}`, "", "", 1},
		{`{"records":[{"id":1}],"next":"http://127.0.0.1:1/tickets?after=5"}`, "", "limit=100", 1},
		{`{"records":[],"next":"//evil.example/steal"}`, "", "", 0},
		{`[{"id":1}]`, `<http://127.0.0.1:1/users?page=2>; rel="next"`, "page=1", 1},
		{`{"data":[]}`, "", "offset=990&limit=10", 10},
		{`{"items":[]}`, "", "page=99999999999999999999", 10},
		{`{"items":[]}`, "", "page=-3&size=10", 10},
		{`not json`, `<%zz>; rel="next"`, "offset=abc", 10},
	} {
		f.Add([]byte(s.body), s.link, s.query, s.records)
	}
	f.Fuzz(func(t *testing.T, body []byte, link, query string, records int) {
		if records < 0 || records > 1000 {
			return
		}
		base, err := url.Parse("http://127.0.0.1:1/items")
		if err != nil {
			t.Fatal(err)
		}
		base.RawQuery = query
		for name, pc := range fuzzPaginators() {
			pg, pageSize, err := newPaginator(pc)
			if err != nil {
				t.Fatal(err)
			}
			req := pg.first(pageReq{method: "GET", url: base})
			p := page{Req: req, Header: http.Header{"Link": {link}}, Doc: newDoc(body), Records: records}
			nx, err := pg.next(p)
			if err != nil {
				continue
			}
			judge := newEndJudge("s", "/items", pc, pageSize, nil)
			nreq, more, jerr := judge.judge(1, base.String(), p, nx)
			if name == "cursor" && jerr == nil && !more {
				said, set, merr := newEndJudge("s", "/items", pc, pageSize, nil).readMore(newDoc(body))
				if merr == nil && set && said {
					t.Fatalf("cursor: a page with has_more true ended the walk as complete (body %q)", body)
				}
			}
			if jerr != nil || !more {
				continue
			}
			// absolute, so the walk can check its origin before it follows it
			u := nreq.url
			next := ""
			if u != nil {
				next = u.String()
			}
			if u == nil || !u.IsAbs() {
				t.Fatalf("%s: next URL %q is not an absolute URL", name, next)
			}
			if name != "offset" && name != "page" {
				continue
			}
			if u.Scheme != base.Scheme || u.Host != base.Host || u.Path != base.Path {
				t.Fatalf("%s: next URL %q leaves %s", name, next, base)
			}
			if next == req.url.String() {
				t.Fatalf("%s: next URL %q is the page itself", name, next)
			}
			param := pc.Param
			cur, cerr := strconv.Atoi(req.url.Query().Get(param))
			nxt, nerr := strconv.Atoi(u.Query().Get(param))
			if nerr != nil {
				t.Fatalf("%s: next URL %q has no numeric %s", name, next, param)
			}
			if cerr == nil && nxt <= cur {
				t.Fatalf("%s: %s goes from %d to %d", name, param, cur, nxt)
			}
		}
	})
}
