package mockapi

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Every listing orders records by (updated_at, id) and filters on
// updated_at >= since when the since parameter is given. Page lookups cost
// O(log n): a binary search, never a scan.

// Page size limits per endpoint: requests above the maximum are clamped to
// it, like GitHub's per_page.
const (
	usersPerPage, usersMaxPerPage       = 30, 100
	ordersLimit, ordersMaxLimit         = 50, 500
	eventsPageSize, eventsMaxPageSize   = 25, 200
	productsSize, productsMaxSize       = 20, 100
	ticketsLimit, ticketsMaxLimit       = 50, 100
	certificatesSize, certificatesMaxSz = 100, 1000
)

// badRequest is a client error in query parameters.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

// parseSince reads the since parameter (RFC 3339) as an inclusive lower
// bound in whole seconds.
func parseSince(q url.Values) (sec int32, ok bool, err error) {
	v := q.Get("since")
	if v == "" {
		return 0, false, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, false, &badRequest{fmt.Sprintf("since %q is not an RFC 3339 time such as 2024-01-01T00:00:00Z", v)}
	}
	s := t.Unix() - timeBase
	if t.Nanosecond() > 0 {
		s++
	}
	return int32(max(min(s, math.MaxInt32), math.MinInt32)), true, nil
}

// intParam reads an integer parameter: def when absent, an error below lo,
// clamped to hi.
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo {
		return 0, &badRequest{fmt.Sprintf("%s=%q: want an integer >= %d", name, v, lo)}
	}
	return min(n, hi), nil
}

// pageToken is the opaque keyset cursor of events (cursor) and tickets
// (after): the last record served and the page number that follows.
type pageToken struct {
	upd, id int32
	page    int
}

func (p pageToken) String() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "v1.%d.%d.%d", p.upd, p.id, p.page))
}

func parseToken(q url.Values, name string) (pageToken, bool, error) {
	v := q.Get(name)
	if v == "" {
		return pageToken{}, false, nil
	}
	bad := &badRequest{fmt.Sprintf("%s %q is not a cursor this API issued", name, v)}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return pageToken{}, false, bad
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 4 || parts[0] != "v1" {
		return pageToken{}, false, bad
	}
	var n [3]int64
	for i, p := range parts[1:] {
		if n[i], err = strconv.ParseInt(p, 10, 32); err != nil {
			return pageToken{}, false, bad
		}
	}
	return pageToken{upd: int32(n[0]), id: int32(n[1]), page: int(n[2])}, true, nil
}

// listing is the common part of a page request: where the since filter
// starts and whether this is a full listing.
type listing struct {
	q        url.Values
	since    int32
	hasSince bool
}

func (s *Server) listing(w http.ResponseWriter, r *http.Request) (*listing, bool) {
	q := r.URL.Query()
	since, ok, err := parseSince(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return &listing{q: q, since: since, hasSince: ok}, true
}

// start is the first position the since filter admits. Caller holds t.mu.
func (l *listing) start(t *table) int {
	if !l.hasSince {
		return 0
	}
	return t.lowerBound(l.since)
}

// param is one integer query parameter: default, lower bound, clamp, and
// where to store it.
type param struct {
	name        string
	def, lo, hi int
	dst         *int
}

// params reads integer parameters, answering 400 on the first bad one.
func params(w http.ResponseWriter, q url.Values, specs ...param) bool {
	for _, p := range specs {
		v, err := intParam(q, p.name, p.def, p.lo, p.hi)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return false
		}
		*p.dst = v
	}
	return true
}

// brokenListing answers 500 for a full listing past Faults.BreakListingAfterPages.
func (s *Server) brokenListing(w http.ResponseWriter, l *listing, pageIdx int) bool {
	n := s.opts.Faults.BreakListingAfterPages
	if n <= 0 || l.hasSince || pageIdx < n {
		return false
	}
	s.stats.fault(FaultBrokenListing)
	writeError(w, http.StatusInternalServerError, "internal error while listing: try again later")
	return true
}

// serveLink: GET /users?since=&page=&per_page= → JSON array, RFC 8288 Link header.
func (s *Server) serveLink(w http.ResponseWriter, r *http.Request, t *table) {
	l, ok := s.listing(w, r)
	var page, per int
	if !ok || !params(w, l.q, param{"page", 1, 1, math.MaxInt32, &page}, param{"per_page", usersPerPage, 1, usersMaxPerPage, &per}) {
		return
	}
	if s.brokenListing(w, l, page-1) {
		return
	}
	t.mu.RLock()
	start := l.start(t)
	total := len(t.order) - start
	refs := t.refs(start+(page-1)*per, per)
	t.mu.RUnlock()
	last := max(1, (total+per-1)/per)
	var links []string
	link := func(p int, rel string) {
		q := cloneQuery(l.q)
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		links = append(links, fmt.Sprintf("<%s>; rel=%q", s.absURL(r, t.def.path, q), rel))
	}
	if page > 1 {
		link(min(page-1, last), "prev")
	}
	if page < last {
		link(page+1, "next")
		link(last, "last")
	}
	if page > 1 {
		link(1, "first")
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeJSON(w, http.StatusOK, s.renderer(t.def).appendArray(make([]byte, 0, 512*len(refs)+2), refs))
}

// serveOffset: GET /orders?since=&offset=&limit= → {"data":[...],"total":N}.
func (s *Server) serveOffset(w http.ResponseWriter, r *http.Request, t *table) {
	l, ok := s.listing(w, r)
	var off, limit int
	if !ok || !params(w, l.q, param{"offset", 0, 0, math.MaxInt32, &off}, param{"limit", ordersLimit, 1, ordersMaxLimit, &limit}) {
		return
	}
	if s.brokenListing(w, l, off/limit) {
		return
	}
	t.mu.RLock()
	start := l.start(t)
	total := len(t.order) - start
	refs := t.refs(start+off, limit)
	t.mu.RUnlock()
	b := append(make([]byte, 0, 512*len(refs)+32), `{"data":`...)
	b = s.renderer(t.def).appendArray(b, refs)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	writeJSON(w, http.StatusOK, append(b, '}'))
}

// keysetPage reads one page of a keyset-paginated listing (events,
// tickets): size from the size parameter, the position from an opaque token
// in tokenParam. next is the token of the following page, nil on the last.
// ok is false when an error answer was already written.
func (s *Server) keysetPage(w http.ResponseWriter, r *http.Request, t *table, size param, tokenParam string) (l *listing, refs []ref, next *pageToken, ok bool) {
	l, ok = s.listing(w, r)
	var n int
	size.dst = &n
	if !ok || !params(w, l.q, size) {
		return nil, nil, nil, false
	}
	tok, hasTok, err := parseToken(l.q, tokenParam)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, nil, nil, false
	}
	if s.brokenListing(w, l, tok.page) {
		return nil, nil, nil, false
	}
	t.mu.RLock()
	start := l.start(t)
	if hasTok {
		start = max(start, t.after(tok.upd, tok.id))
	}
	refs = t.refs(start, n)
	if start+len(refs) < len(t.order) {
		x := refs[len(refs)-1]
		next = &pageToken{upd: x.upd, id: x.id, page: tok.page + 1}
	}
	t.mu.RUnlock()
	return l, refs, next, true
}

// serveCursor: GET /events?since=&cursor=&page_size= →
// {"results":[...],"next_cursor":"…"|null,"has_more":bool}.
func (s *Server) serveCursor(w http.ResponseWriter, r *http.Request, t *table) {
	_, refs, next, ok := s.keysetPage(w, r, t, param{"page_size", eventsPageSize, 1, eventsMaxPageSize, nil}, "cursor")
	if !ok {
		return
	}
	b := append(make([]byte, 0, 512*len(refs)+64), `{"results":`...)
	b = s.renderer(t.def).appendArray(b, refs)
	b = append(b, `,"next_cursor":`...)
	if next != nil {
		b = appendJSONString(b, next.String())
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"has_more":`...)
	b = strconv.AppendBool(b, next != nil)
	writeJSON(w, http.StatusOK, append(b, '}'))
}

// servePage: GET /products?since=&page=&size= → {"items":[...]} and
// GET /certificates?since=&page=&size= → {"page":N,"data":[...]}; pages
// start at 1 and an empty page ends the listing.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request, t *table) {
	l, ok := s.listing(w, r)
	def, hi := productsSize, productsMaxSize
	if t.def.name == StreamCertificates {
		def, hi = certificatesSize, certificatesMaxSz
	}
	var page, size int
	if !ok || !params(w, l.q, param{"page", 1, 1, math.MaxInt32, &page}, param{"size", def, 1, hi, &size}) {
		return
	}
	if s.brokenListing(w, l, page-1) {
		return
	}
	t.mu.RLock()
	refs := t.refs(l.start(t)+(page-1)*size, size)
	t.mu.RUnlock()
	b := make([]byte, 0, 512*len(refs)+32)
	if t.def.name == StreamCertificates {
		b = append(b, `{"page":`...)
		b = strconv.AppendInt(b, int64(page), 10)
		b = append(b, `,"data":`...)
	} else {
		b = append(b, `{"items":`...)
	}
	b = s.renderer(t.def).appendArray(b, refs)
	writeJSON(w, http.StatusOK, append(b, '}'))
}

// serveNextURL: GET /tickets?since=&after=&limit= →
// {"records":[...],"next":"<absolute URL>"|null}.
func (s *Server) serveNextURL(w http.ResponseWriter, r *http.Request, t *table) {
	l, refs, next, ok := s.keysetPage(w, r, t, param{"limit", ticketsLimit, 1, ticketsMaxLimit, nil}, "after")
	if !ok {
		return
	}
	b := append(make([]byte, 0, 512*len(refs)+256), `{"records":`...)
	b = s.renderer(t.def).appendArray(b, refs)
	b = append(b, `,"next":`...)
	if next != nil {
		q := cloneQuery(l.q)
		q.Set("after", next.String())
		b = appendJSONString(b, s.absURL(r, t.def.path, q))
	} else {
		b = append(b, "null"...)
	}
	writeJSON(w, http.StatusOK, append(b, '}'))
}

// serveWhole: GET /countries → the whole (small) JSON array.
func (s *Server) serveWhole(w http.ResponseWriter, _ *http.Request, t *table) {
	t.mu.RLock()
	refs := t.refs(0, len(t.order))
	t.mu.RUnlock()
	writeJSON(w, http.StatusOK, s.renderer(t.def).appendArray(nil, refs))
}

func cloneQuery(q url.Values) url.Values {
	out := make(url.Values, len(q)+1)
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
