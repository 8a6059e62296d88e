package mockapi

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
)

// Incremental dialects served over the orders table (the same records as
// /orders, in other shapes):
//
//   - GET /range/orders?since=MS&until=MS&offset=&limit= needs both ends of
//     the range, as Unix milliseconds (400 without either): the records with
//     since <= updated_at < until, oldest first, as {"data": [...],
//     "total": N}. Each record carries updated_ms, its updated_at in Unix
//     milliseconds. rawland: cursor {field: updated_ms, format: unix_ms,
//     param: since, end_param: until, window: 1d}, offset pagination.
//   - GET /feed/orders?page=&per_page= ignores any since: every live order,
//     newest first (updated_at, id descending), as a bare array. rawland:
//     cursor {field: updated_at, filter: client, order: desc}, page
//     pagination.
const (
	feedPerPage, feedMaxPerPage = 20, 100
)

// msParam reads a required Unix-milliseconds parameter as seconds since
// timeBase, rounded up (an inclusive lower bound, or an exclusive upper
// bound: both admit whole seconds from it on).
func msParam(q url.Values, name string) (int32, error) {
	v := q.Get(name)
	if v == "" {
		return 0, &badRequest{fmt.Sprintf("%s is required: this endpoint needs both ends of the range (since and until, Unix milliseconds)", name)}
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, &badRequest{fmt.Sprintf("%s=%q: want Unix milliseconds such as 1704067200000", name, v)}
	}
	sec := ms/1000 - timeBase
	if ms%1000 > 0 {
		sec++
	}
	return int32(max(min(sec, math.MaxInt32), math.MinInt32)), nil
}

// serveRange: GET /range/orders (see above).
func (s *Server) serveRange(w http.ResponseWriter, r *http.Request, t *table) {
	q := r.URL.Query()
	since, err := msParam(q, "since")
	if err == nil {
		var until int32
		if until, err = msParam(q, "until"); err == nil && until < since {
			err = &badRequest{"until is before since"}
		}
		if err == nil {
			s.serveRangePage(w, q, t, since, until)
			return
		}
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

func (s *Server) serveRangePage(w http.ResponseWriter, q url.Values, t *table, since, until int32) {
	var off, limit int
	if !params(w, q, param{"offset", 0, 0, math.MaxInt32, &off}, param{"limit", ordersLimit, 1, ordersMaxLimit, &limit}) {
		return
	}
	t.mu.RLock()
	lo, hi := t.lowerBound(since), t.lowerBound(until)
	refs := t.refs(lo+off, min(limit, max(hi-lo-off, 0)))
	total := hi - lo
	t.mu.RUnlock()
	rd := s.renderer(t.def)
	b := append(make([]byte, 0, 512*len(refs)+32), `{"data":[`...)
	for i, x := range refs {
		if i > 0 {
			b = append(b, ',')
		}
		b = rd.append(b, x)
		b = append(b[:len(b)-1], `,"updated_ms":`...) // the record's closing brace, reopened
		b = strconv.AppendInt(b, (int64(x.upd)+timeBase)*1000, 10)
		b = append(b, '}')
	}
	b = append(b, `],"total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	writeJSON(w, http.StatusOK, append(b, '}'))
}

// serveDescFeed: GET /feed/orders (see above).
func (s *Server) serveDescFeed(w http.ResponseWriter, r *http.Request, t *table) {
	q := r.URL.Query()
	var page, per int
	if !params(w, q, param{"page", 1, 1, math.MaxInt32, &page}, param{"per_page", feedPerPage, 1, feedMaxPerPage, &per}) {
		return
	}
	t.mu.RLock()
	n := len(t.order)
	from := min(n, (page-1)*per)
	to := min(n, from+per)
	refs := make([]ref, 0, to-from)
	for i := from; i < to; i++ {
		refs = append(refs, t.refOf(t.order[n-1-i]))
	}
	t.mu.RUnlock()
	writeJSON(w, http.StatusOK, s.renderer(t.def).appendArray(nil, refs))
}

// incrementalRoutes registers the dialects above under prefix p.
func (s *Server) incrementalRoutes(mux *http.ServeMux, p string) {
	t := s.tables[StreamOrders]
	mux.HandleFunc("GET "+p+"/range/orders", func(w http.ResponseWriter, r *http.Request) { s.serveRange(w, r, t.load()) })
	mux.HandleFunc("GET "+p+"/feed/orders", func(w http.ResponseWriter, r *http.Request) { s.serveDescFeed(w, r, t.load()) })
}
