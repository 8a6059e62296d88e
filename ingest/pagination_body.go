package ingest

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// nextURLPaginator follows a next-page URL found in the body at a dot path;
// null or "" ends the walk, a missing field is ambiguous (see endJudge).
type nextURLPaginator struct{ field string }

func (nextURLPaginator) first(r pageReq) pageReq { return r }

func (n nextURLPaginator) next(p page) (nextPage, error) {
	s, kind, err := tokenAt(p.Doc, n.field)
	if err != nil || kind != nextFollow {
		return nextPage{kind: kind, path: n.field}, err
	}
	ref, err := url.Parse(s)
	if err != nil {
		return nextPage{}, fmt.Errorf("bad next URL %q at %s: %w", s, n.field, err)
	}
	return nextPage{kind: nextFollow, req: p.Req.withURL(p.Req.url.ResolveReference(ref)), path: n.field}, nil
}

// cursorPaginator sends a next-page token back in the page parameter (in
// the query, the body or a header). The token is read from one of: a body
// path (next: null or "" ends the walk, absent is ambiguous), the page's
// last record (next_from_last_record: an empty page ends the walk) or a
// response header (next_header: empty ends the walk, absent is
// ambiguous).
type cursorPaginator struct {
	token, fromLast, header string
	param, in               string
}

func (c *cursorPaginator) first(r pageReq) pageReq { return r }

func (c *cursorPaginator) next(p page) (nextPage, error) {
	var (
		tok  string
		kind nextKind
		path = c.token
		err  error
	)
	var where string
	switch {
	case c.fromLast != "":
		path = ""
		if p.Last == nil {
			return nextPage{kind: nextEnd}, nil // nothing after an empty page
		}
		tok, kind, err = tokenAt(validDoc(p.Last), c.fromLast)
		if err == nil && kind != nextFollow {
			return nextPage{}, fmt.Errorf("the page's last record has no usable %s (next_from_last_record): %.120s", c.fromLast, p.Last)
		}
	case c.header != "":
		path = "header " + http.CanonicalHeaderKey(c.header)
		vs, ok := p.Header[http.CanonicalHeaderKey(c.header)]
		switch {
		case !ok:
			kind, where = nextAbsent, "headers present: "+headerNames(p.Header)
		case len(vs) == 0 || strings.TrimSpace(vs[0]) == "":
			kind = nextEnd
		default:
			tok, kind = strings.TrimSpace(vs[0]), nextFollow
		}
	default:
		tok, kind, err = tokenAt(p.Doc, c.token)
	}
	if err != nil || kind != nextFollow {
		return nextPage{kind: kind, path: path, where: where}, err
	}
	return nextPage{kind: nextFollow, req: p.Req.set(c.in, c.param, token(tok)), path: path}, nil
}

func headerNames(h http.Header) string {
	ks := make([]string, 0, len(h))
	for k := range h {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	if len(ks) == 0 {
		return "none"
	}
	return strings.Join(ks, ", ")
}
