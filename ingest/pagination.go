package ingest

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/rawland/rawland/config"
)

// page is one fetched page as the paginators see it.
type page struct {
	Req     pageReq // the request that fetched it
	Header  http.Header
	Doc     *jsonDoc // the body
	Records int
	Last    json.RawMessage // the last record (nil on an empty page)
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
	// nextAbsent: the configured next path (or header) is not in the
	// response at all: an API that omits it on the last page and a typo in
	// the path look the same (see endJudge).
	nextAbsent
)

// nextPage is a paginator's reading of one page.
type nextPage struct {
	kind nextKind
	req  pageReq // nextFollow: the next request
	path string  // the configured next path (next_url field, cursor next, "header NAME")
	// where says what the response has instead, for a message about an
	// absent path ("" = the body's keys along path).
	where string
}

// paginator walks a stream's pages: it sets the first request's page
// parameters and reads from a page where the next one is. Whether the walk
// really ends there (has_more, total, page size) is endJudge's decision.
// A paginator serves one walk (offset and page keep their position).
type paginator interface {
	first(r pageReq) pageReq
	next(p page) (nextPage, error)
}

// newPaginator returns the stream's paginator and the number of records a
// full page holds (0 = not known).
func newPaginator(p config.Pagination) (paginator, int, error) {
	in := p.In
	switch p.Type {
	case config.PageNone, "":
		return nonePaginator{}, p.PageSize, nil
	case config.PageLink:
		return linkPaginator{}, p.PageSize, nil
	case config.PageNextURL:
		return nextURLPaginator{field: p.Field}, p.PageSize, nil
	case config.PageCursor:
		return &cursorPaginator{token: p.Next, fromLast: p.NextFromLastRecord, header: p.NextHeader, param: p.Param, in: in}, p.PageSize, nil
	case config.PageOffset:
		return &offsetPaginator{param: p.Param, limitParam: p.LimitParam, limit: p.Limit, in: in}, p.Limit, nil
	case config.PagePage:
		start := 1
		if p.Start != nil {
			start = *p.Start
		}
		full := p.Size
		if full == 0 {
			full = p.PageSize
		}
		return &pagePaginator{param: p.Param, n: start, sizeParam: p.SizeParam, size: p.Size, in: in}, full, nil
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

func (nonePaginator) first(r pageReq) pageReq     { return r }
func (nonePaginator) next(page) (nextPage, error) { return nextPage{kind: nextEnd}, nil }

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
