package ingest

import (
	"net/url"
	"strconv"
)

// offsetPaginator asks for limit records at a growing offset; a short page
// ends the walk.
type offsetPaginator struct {
	param, limitParam string
	limit             int
}

func (o *offsetPaginator) first(q url.Values) {
	q.Set(o.param, "0")
	q.Set(o.limitParam, strconv.Itoa(o.limit))
}

func (o *offsetPaginator) next(p page) (string, error) {
	if p.Records < o.limit || p.Records == 0 {
		return "", nil
	}
	off := atoiDefault(p.URL.Query().Get(o.param), 0) + p.Records
	return withParam(p.URL, o.param, strconv.Itoa(off)), nil
}

// pagePaginator asks for page numbers from start; an empty page (or, when a
// page size is configured, a short one) ends the walk.
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

func (pp *pagePaginator) next(p page) (string, error) {
	if p.Records == 0 || (pp.size > 0 && p.Records < pp.size) {
		return "", nil
	}
	cur := atoiDefault(p.URL.Query().Get(pp.param), pp.n)
	return withParam(p.URL, pp.param, strconv.Itoa(cur+1)), nil
}
