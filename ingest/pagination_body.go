package ingest

import (
	"fmt"
	"net/url"
)

// nextURLPaginator follows a next-page URL found in the body at a dot path;
// null or "" ends the walk, a missing field is ambiguous (see endJudge).
type nextURLPaginator struct{ field string }

func (nextURLPaginator) first(url.Values) {}

func (n nextURLPaginator) next(p page) (nextPage, error) {
	s, kind, err := tokenAt(p.Doc, n.field)
	if err != nil || kind != nextFollow {
		return nextPage{kind: kind, path: n.field}, err
	}
	ref, err := url.Parse(s)
	if err != nil {
		return nextPage{}, fmt.Errorf("bad next URL %q at %s: %w", s, n.field, err)
	}
	return nextPage{kind: nextFollow, url: p.URL.ResolveReference(ref).String(), path: n.field}, nil
}

// cursorPaginator sends the body's next-page token back in a query
// parameter; null or "" ends the walk, a missing token is ambiguous.
type cursorPaginator struct {
	token, param string
}

func (c *cursorPaginator) first(url.Values) {}

func (c *cursorPaginator) next(p page) (nextPage, error) {
	tok, kind, err := tokenAt(p.Doc, c.token)
	if err != nil || kind != nextFollow {
		return nextPage{kind: kind, path: c.token}, err
	}
	return nextPage{kind: nextFollow, url: withParam(p.URL, c.param, tok), path: c.token}, nil
}
