package ingest

import (
	"crypto/sha256"
	"errors"
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

// paginator walks a stream's pages: it may add parameters to the first
// request and, given a page, says where the next one is ("" = last page).
type paginator interface {
	first(q url.Values)
	next(p page) (string, error)
}

func newPaginator(p config.Pagination) (paginator, error) {
	switch p.Type {
	case config.PageNone, "":
		return nonePaginator{}, nil
	case config.PageLink:
		return linkPaginator{}, nil
	case config.PageNextURL:
		return nextURLPaginator{field: p.Field}, nil
	case config.PageCursor:
		return &cursorPaginator{token: p.Next, param: p.Param, hasMore: p.HasMore}, nil
	case config.PageOffset:
		return &offsetPaginator{param: p.Param, limitParam: p.LimitParam, limit: p.Limit}, nil
	case config.PagePage:
		start := 1
		if p.Start != nil {
			start = *p.Start
		}
		return &pagePaginator{param: p.Param, n: start, sizeParam: p.SizeParam, size: p.Size}, nil
	}
	return nil, fmt.Errorf("unknown pagination type %q", p.Type)
}

type nonePaginator struct{}

func (nonePaginator) first(url.Values)          {}
func (nonePaginator) next(page) (string, error) { return "", nil }

// withParam returns u with one query parameter set.
func withParam(u *url.URL, name, value string) string {
	c := *u
	q := c.Query()
	q.Set(name, value)
	c.RawQuery = q.Encode()
	return c.String()
}

// ErrPaginationLoop means the upstream sent the stream back to a page it had
// already served, or served the same page twice in a row.
var ErrPaginationLoop = errors.New("pagination loop")

// loopGuard remembers every URL requested in a walk and the previous page's
// content, so a broken upstream cannot keep a run going forever. Memory is
// one 32-byte hash per page.
type loopGuard struct {
	seen     map[[32]byte]int
	lastBody [32]byte
	n        int
}

func newLoopGuard() *loopGuard { return &loopGuard{seen: map[[32]byte]int{}} }

// request checks the URL about to be requested as page n+1.
func (g *loopGuard) request(u string) error {
	g.n++
	h := sha256.Sum256([]byte(u))
	if prev, ok := g.seen[h]; ok {
		return fmt.Errorf("page %d would request %s again (first requested as page %d): %w; check the stream's pagination settings", g.n, u, prev, ErrPaginationLoop)
	}
	g.seen[h] = g.n
	return nil
}

// body checks that a page with records is not a repeat of the previous one.
func (g *loopGuard) body(b []byte, records int) error {
	h := sha256.Sum256(b)
	if records > 0 && g.n > 1 && h == g.lastBody {
		return fmt.Errorf("page %d repeats page %d exactly: %w; the upstream ignores the pagination parameter", g.n, g.n-1, ErrPaginationLoop)
	}
	g.lastBody = h
	return nil
}

func atoiDefault(s string, d int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return d
}
