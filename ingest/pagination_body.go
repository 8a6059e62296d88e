package ingest

import (
	"fmt"
	"net/url"
)

// nextURLPaginator follows a next-page URL found in the body at a dot path;
// null, "" or a missing field ends the walk.
type nextURLPaginator struct{ field string }

func (nextURLPaginator) first(url.Values) {}

func (n nextURLPaginator) next(p page) (string, error) {
	s, err := stringAt(p.Doc, n.field)
	if err != nil || s == "" {
		return "", err
	}
	ref, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("bad next URL %q at %s: %w", s, n.field, err)
	}
	return p.URL.ResolveReference(ref).String(), nil
}

// cursorPaginator sends the body's next-page token back in a query
// parameter. A false has_more (when configured), or an empty token, ends it.
type cursorPaginator struct {
	token, param, hasMore string
}

func (c *cursorPaginator) first(url.Values) {}

func (c *cursorPaginator) next(p page) (string, error) {
	if c.hasMore != "" {
		more, ok, err := boolAt(p.Doc, c.hasMore)
		if err != nil {
			return "", err
		}
		if ok && !more {
			return "", nil
		}
	}
	tok, err := stringAt(p.Doc, c.token)
	if err != nil || tok == "" {
		return "", err
	}
	return withParam(p.URL, c.param, tok), nil
}
