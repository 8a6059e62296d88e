package ingest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/rawland/rawland/config"
)

// page is one fetched page as the paginators see it.
type page struct {
	URL     *url.URL
	Header  http.Header
	Doc     *jsonDoc // the body
	Records int
}

// nextKind is what a page says about the page after it.
type nextKind int

const (
	// nextFollow: a next page to request (a link, URL or token, or the
	// computed offset or page number).
	nextFollow nextKind = iota
	// nextEnd: a clear end: no rel="next" link, a next URL or token that is
	// null or "", or a stream without pagination.
	nextEnd
	// nextAbsent: the configured next path is not in the body at all: an
	// API that omits it on the last page and a typo in the path look the
	// same (see endJudge).
	nextAbsent
)

// nextPage is a paginator's reading of one page.
type nextPage struct {
	kind nextKind
	url  string // nextFollow
	path string // the configured next path (next_url field, cursor next)
}

// paginator walks a stream's pages: it may add parameters to the first
// request and reads from a page where the next one is. Whether the walk
// really ends there (has_more, total, page size) is endJudge's decision.
type paginator interface {
	first(q url.Values)
	next(p page) (nextPage, error)
}

// newPaginator returns the stream's paginator and the number of records a
// full page holds (0 = not known).
func newPaginator(p config.Pagination) (paginator, int, error) {
	switch p.Type {
	case config.PageNone, "":
		return nonePaginator{}, p.PageSize, nil
	case config.PageLink:
		return linkPaginator{}, p.PageSize, nil
	case config.PageNextURL:
		return nextURLPaginator{field: p.Field}, p.PageSize, nil
	case config.PageCursor:
		return &cursorPaginator{token: p.Next, param: p.Param}, p.PageSize, nil
	case config.PageOffset:
		return &offsetPaginator{param: p.Param, limitParam: p.LimitParam, limit: p.Limit}, p.Limit, nil
	case config.PagePage:
		start := 1
		if p.Start != nil {
			start = *p.Start
		}
		full := p.Size
		if full == 0 {
			full = p.PageSize
		}
		return &pagePaginator{param: p.Param, n: start, sizeParam: p.SizeParam, size: p.Size}, full, nil
	}
	return nil, 0, fmt.Errorf("unknown pagination type %q", p.Type)
}

// computed reports whether a pagination type derives the next request
// itself (offset, page) rather than reading it from the upstream: an empty
// page ends such a walk, whatever else the page says.
func computed(p config.Pagination) bool {
	return p.Type == config.PageOffset || p.Type == config.PagePage
}

type nonePaginator struct{}

func (nonePaginator) first(url.Values)            {}
func (nonePaginator) next(page) (nextPage, error) { return nextPage{kind: nextEnd}, nil }

// withParam returns u with one query parameter set.
func withParam(u *url.URL, name, value string) string {
	c := *u
	q := c.Query()
	q.Set(name, value)
	c.RawQuery = q.Encode()
	return c.String()
}

// tokenAt reads a next URL or token at a dot path: nextAbsent when the path
// is not in the body, nextEnd when it is null or "".
func tokenAt(doc *jsonDoc, path string) (string, nextKind, error) {
	v, ok, err := doc.lookup(path)
	if err != nil {
		return "", nextEnd, err
	}
	if !ok {
		return "", nextAbsent, nil
	}
	if isNull(v) {
		return "", nextEnd, nil
	}
	s, err := stringAt(doc, path)
	if err != nil {
		return "", nextEnd, err
	}
	if s == "" {
		return "", nextEnd, nil
	}
	return s, nextFollow, nil
}

func atoiDefault(s string, d int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return d
}
