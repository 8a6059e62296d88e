package ingest

// offsetPaginator asks for limit records at a growing offset. It always has
// a next offset; endJudge ends the walk on a short page (limit is the page
// size), has_more false, the total reached or an end status.
type offsetPaginator struct {
	param, limitParam, in string
	limit                 int
	off                   int
}

func (o *offsetPaginator) first(r pageReq) pageReq {
	o.off = 0
	return r.set(o.in, o.param, number(0)).set(o.in, o.limitParam, number(o.limit))
}

func (o *offsetPaginator) next(p page) (nextPage, error) {
	o.off += p.Records
	return nextPage{kind: nextFollow, req: p.Req.set(o.in, o.param, number(o.off))}, nil
}

// pagePaginator asks for page numbers from start. It always has a next
// number; endJudge ends the walk on an empty page, a short one when the
// size is known, has_more false, the total or total pages reached, or an
// end status.
type pagePaginator struct {
	param, sizeParam, in string
	n, size              int
}

func (pp *pagePaginator) first(r pageReq) pageReq {
	r = r.set(pp.in, pp.param, number(pp.n))
	if pp.sizeParam != "" {
		r = r.set(pp.in, pp.sizeParam, number(pp.size))
	}
	return r
}

func (pp *pagePaginator) next(p page) (nextPage, error) {
	pp.n++
	return nextPage{kind: nextFollow, req: p.Req.set(pp.in, pp.param, number(pp.n))}, nil
}
