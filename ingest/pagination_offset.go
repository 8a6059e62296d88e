package ingest

import (
	"net/url"
	"strconv"
)

// offsetPaginator asks for limit records at a growing offset. It always has
// a next offset; endJudge ends the walk on a short page (limit is the page
// size), has_more false or the total reached.
type offsetPaginator struct {
	param, limitParam string
	limit             int
}

func (o *offsetPaginator) first(q url.Values) {
	q.Set(o.param, "0")
	q.Set(o.limitParam, strconv.Itoa(o.limit))
}

func (o *offsetPaginator) next(p page) (nextPage, error) {
	off := atoiDefault(p.URL.Query().Get(o.param), 0) + p.Records
	return nextPage{kind: nextFollow, url: withParam(p.URL, o.param, strconv.Itoa(off))}, nil
}

// pagePaginator asks for page numbers from start. It always has a next
// number; endJudge ends the walk on an empty page, a short one when the
// size is configured, has_more false or the total reached.
type pagePaginator struct {
	param, sizeParam string
	n, size          int
}

func (pp *pagePaginator) first(q url.Values) {
	q.Set(pp.param, strconv.Itoa(pp.n))
	if pp.sizeParam != "" {
		q.Set(pp.sizeParam, strconv.Itoa(pp.size))
	}
}

func (pp *pagePaginator) next(p page) (nextPage, error) {
	cur := atoiDefault(p.URL.Query().Get(pp.param), pp.n)
	return nextPage{kind: nextFollow, url: withParam(p.URL, pp.param, strconv.Itoa(cur+1))}, nil
}
