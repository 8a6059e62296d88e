package mockapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The dialect endpoints serve the tickets table's records (the same bytes
// as GET /tickets, ordered by (updated_at, id); Truth(StreamTickets) is
// what they hold) in the request and pagination dialects of other APIs,
// so that a client can be checked to land exactly those records with the
// fewest requests:
//
//	GET  /dialects/stripe?limit=&starting_after=ID  {"object":"list","data":[…],"has_more":bool}
//	POST /dialects/search {"limit":n,"after":"tok","filter":{"updated_since":"RFC 3339"}}
//	                      {"results":[…],"paging":{"next":{"after":"tok"}}}, paging absent on the last page (HubSpot)
//	POST /dialects/graphql {"query":"…issues…","variables":{"first":n,"after":"tok"}}
//	                      {"data":{"repository":{"issues":{"nodes":[…],"pageInfo":{"endCursor":…,"hasNextPage":bool}}}}}
//	GET  /dialects/header?cursor=&limit=            JSON array; X-Next-Cursor header, absent on the last page
//	GET  /dialects/odata?$skiptoken=&$top=          {"value":[…],"@odata.nextLink":"<url>"}, absent on the last page
//	GET  /dialects/offset404?offset=&limit=         {"items":[…]}; 404 for an offset past the end
//	GET  /dialects/offset_more?offset=&limit=       {"rows":[…],"more":"true"|"false"} (has_more as a string)
//	GET  /dialects/pages?page=&per_page=            {"data":[…],"meta":{"page":p,"total_pages":P}}
//	GET  /dialects/feed?cursor=&limit=              {"tickets":[…],"after_cursor":"tok","end_of_stream":bool} (Zendesk)
//	GET  /dialects/poll?cursor=&limit=              {"events":[…],"next":"tok"}: at the end an empty page repeats the token
//	GET  /dialects/me                               one object: MeRecord
//
// Page sizes default to DialectPageSize and are clamped to 100.
const (
	// DialectPageSize is the dialect endpoints' default page size.
	DialectPageSize = 10
	dialectMaxSize  = 100
	dialectPrefix   = "/dialects/"
)

// MeRecord is the single object GET /dialects/me serves.
const MeRecord = `{"id":1,"login":"rawland","plan":{"name":"pro","seats":5},"@odata.context":"me"}`

// dialectPaths are the dialect endpoints, for Stats.ByPath.
var dialectPaths = map[string]bool{}

func init() {
	for _, n := range []string{"stripe", "search", "graphql", "header", "odata", "offset404", "offset_more", "pages", "feed", "poll", "me"} {
		dialectPaths[dialectPrefix+n] = true
	}
}

func (s *Server) dialectRoutes(mux *http.ServeMux) {
	p := s.opts.PathPrefix + dialectPrefix
	handle := func(method, name string, h func(http.ResponseWriter, *http.Request, *table)) {
		mux.HandleFunc(method+" "+p+name, func(w http.ResponseWriter, r *http.Request) { h(w, r, s.tables[StreamTickets].load()) })
	}
	handle("GET", "stripe", s.serveStripe)
	handle("POST", "search", s.serveSearch)
	handle("POST", "graphql", s.serveGraphQL)
	handle("GET", "header", s.serveHeaderCursor)
	handle("GET", "odata", s.serveOData)
	handle("GET", "offset404", s.serveOffset404)
	handle("GET", "offset_more", s.serveOffsetMore)
	handle("GET", "pages", s.servePages)
	handle("GET", "feed", s.serveFeed)
	handle("GET", "poll", s.servePoll)
	mux.HandleFunc("GET "+p+"me", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, []byte(MeRecord)) })
}

// window is one page of the table from position pos (after the since
// filter's start): the records and whether any follow.
func (s *Server) window(t *table, since int32, hasSince bool, pos, n int) (refs []ref, more bool, total int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	start := 0
	if hasSince {
		start = t.lowerBound(since)
	}
	total = len(t.order) - start
	refs = t.refs(start+pos, n)
	return refs, pos+len(refs) < total, total
}

// posToken is an opaque position token of the dialect endpoints.
func posToken(pos int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("d1." + strconv.Itoa(pos)))
}

func parsePos(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "d1."))
	if err != nil || err2 != nil || !strings.HasPrefix(string(raw), "d1.") || n < 0 {
		return 0, &badRequest{fmt.Sprintf("cursor %q is not a cursor this API issued", tok)}
	}
	return n, nil
}

// queryPage reads a GET dialect request's size and position (token in
// tokParam); ok is false when an error answer was written.
func queryPage(w http.ResponseWriter, q url.Values, sizeParam, tokParam string) (size, pos int, ok bool) {
	if !params(w, q, param{sizeParam, DialectPageSize, 1, dialectMaxSize, &size}) {
		return 0, 0, false
	}
	pos, err := parsePos(q.Get(tokParam))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return 0, 0, false
	}
	return size, pos, true
}

func (s *Server) records(b []byte, t *table, refs []ref) []byte {
	return s.renderer(t.def).appendArray(b, refs)
}

// serveStripe: the next page starts after the record whose id is
// starting_after.
func (s *Server) serveStripe(w http.ResponseWriter, r *http.Request, t *table) {
	q := r.URL.Query()
	var size int
	if !params(w, q, param{"limit", DialectPageSize, 1, dialectMaxSize, &size}) {
		return
	}
	pos := 0
	if v := q.Get("starting_after"); v != "" {
		id, err := strconv.ParseInt(v, 10, 32)
		t.mu.RLock()
		x, ok := t.lookup(id)
		if ok {
			pos = t.after(x.upd, x.id)
		}
		t.mu.RUnlock()
		if err != nil || !ok {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("starting_after %q: no such object", v))
			return
		}
	}
	refs, more, _ := s.window(t, 0, false, pos, size)
	b := s.records([]byte(`{"object":"list","data":`), t, refs)
	b = append(b, `,"has_more":`...)
	b = strconv.AppendBool(b, more)
	writeJSON(w, http.StatusOK, append(b, '}'))
}

// searchBody is POST /dialects/search's body.
type searchBody struct {
	Limit  *int   `json:"limit"`
	After  string `json:"after"`
	Filter struct {
		UpdatedSince string `json:"updated_since"`
	} `json:"filter"`
}

// readBody decodes a JSON request body (at most 1 MiB) into v, answering
// 400 when it is not JSON.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "the body must be a JSON object: "+err.Error())
		return false
	}
	return true
}

func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request, t *table) {
	var in searchBody
	if !readBody(w, r, &in) {
		return
	}
	size := DialectPageSize
	if in.Limit != nil {
		if *in.Limit < 1 {
			writeError(w, http.StatusBadRequest, "limit must be >= 1")
			return
		}
		size = min(*in.Limit, dialectMaxSize)
	}
	pos, err := parsePos(in.After)
	var since int32
	hasSince := in.Filter.UpdatedSince != ""
	if err == nil && hasSince {
		since, _, err = parseSince(url.Values{"since": {in.Filter.UpdatedSince}})
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	refs, more, total := s.window(t, since, hasSince, pos, size)
	b := append([]byte(`{"total":`), strconv.Itoa(total)...)
	b = s.records(append(b, `,"results":`...), t, refs)
	if more {
		b = appendJSONString(append(b, `,"paging":{"next":{"after":`...), posToken(pos+len(refs)))
		b = append(b, "}}"...)
	}
	writeJSON(w, http.StatusOK, append(b, '}'))
}

// serveGraphQL answers a query over issues: variables first and after.
func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request, t *table) {
	var in struct {
		Query     string `json:"query"`
		Variables struct {
			First *int    `json:"first"`
			After *string `json:"after"`
		} `json:"variables"`
	}
	if !readBody(w, r, &in) {
		return
	}
	if !strings.Contains(in.Query, "issues") {
		writeJSON(w, http.StatusOK, []byte(`{"data":null,"errors":[{"message":"the query must select repository.issues"}]}`))
		return
	}
	size := DialectPageSize
	if f := in.Variables.First; f != nil {
		size = max(1, min(*f, dialectMaxSize))
	}
	pos := 0
	if a := in.Variables.After; a != nil {
		var err error
		if pos, err = parsePos(*a); err != nil {
			writeJSON(w, http.StatusOK, append(appendJSONString([]byte(`{"data":null,"errors":[{"message":`), err.Error()), "}]}"...))
			return
		}
	}
	refs, more, _ := s.window(t, 0, false, pos, size)
	b := s.records([]byte(`{"data":{"repository":{"issues":{"nodes":`), t, refs)
	b = append(b, `,"pageInfo":{"endCursor":`...)
	if len(refs) > 0 {
		b = appendJSONString(b, posToken(pos+len(refs)))
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"hasNextPage":`...)
	b = strconv.AppendBool(b, more)
	writeJSON(w, http.StatusOK, append(b, "}}}}}"...))
}

func (s *Server) serveHeaderCursor(w http.ResponseWriter, r *http.Request, t *table) {
	size, pos, ok := queryPage(w, r.URL.Query(), "limit", "cursor")
	if !ok {
		return
	}
	refs, more, _ := s.window(t, 0, false, pos, size)
	if more {
		w.Header().Set("X-Next-Cursor", posToken(pos+len(refs)))
	}
	writeJSON(w, http.StatusOK, s.records(nil, t, refs))
}

func (s *Server) serveOData(w http.ResponseWriter, r *http.Request, t *table) {
	q := r.URL.Query()
	size, pos, ok := queryPage(w, q, "$top", "$skiptoken")
	if !ok {
		return
	}
	refs, more, _ := s.window(t, 0, false, pos, size)
	b := s.records([]byte(`{"@odata.context":"tickets","value":`), t, refs)
	if more {
		nq := cloneQuery(q)
		nq.Set("$skiptoken", posToken(pos+len(refs)))
		b = appendJSONString(append(b, `,"@odata.nextLink":`...), s.absURL(r, dialectPrefix+"odata", nq))
	}
	writeJSON(w, http.StatusOK, append(b, '}'))
}

// offsetWindow reads offset and limit; ok is false when an error answer was
// written.
func offsetWindow(w http.ResponseWriter, q url.Values) (off, limit int, ok bool) {
	ok = params(w, q, param{"offset", 0, 0, math.MaxInt32, &off}, param{"limit", DialectPageSize, 1, dialectMaxSize, &limit})
	return off, limit, ok
}

// serveOffset404 answers 404 for an offset at or past the end (but an
// empty listing's first page is an empty 200).
func (s *Server) serveOffset404(w http.ResponseWriter, r *http.Request, t *table) {
	off, limit, ok := offsetWindow(w, r.URL.Query())
	if !ok {
		return
	}
	refs, _, total := s.window(t, 0, false, off, limit)
	if off > 0 && off >= total {
		writeError(w, http.StatusNotFound, fmt.Sprintf("offset %d is past the end", off))
		return
	}
	writeJSON(w, http.StatusOK, append(s.records([]byte(`{"items":`), t, refs), '}'))
}

func (s *Server) serveOffsetMore(w http.ResponseWriter, r *http.Request, t *table) {
	off, limit, ok := offsetWindow(w, r.URL.Query())
	if !ok {
		return
	}
	refs, more, _ := s.window(t, 0, false, off, limit)
	b := s.records([]byte(`{"rows":`), t, refs)
	b = append(b, `,"more":"`...)
	b = strconv.AppendBool(b, more)
	writeJSON(w, http.StatusOK, append(b, `"}`...))
}

func (s *Server) servePages(w http.ResponseWriter, r *http.Request, t *table) {
	var page, per int
	if !params(w, r.URL.Query(), param{"page", 1, 1, math.MaxInt32, &page}, param{"per_page", DialectPageSize, 1, dialectMaxSize, &per}) {
		return
	}
	refs, _, total := s.window(t, 0, false, (page-1)*per, per)
	b := s.records([]byte(`{"data":`), t, refs)
	b = fmt.Appendf(b, `,"meta":{"page":%d,"total_pages":%d}}`, page, max(1, (total+per-1)/per))
	writeJSON(w, http.StatusOK, b)
}

// serveFeed: Zendesk's cursor export: a cursor on every page, and
// end_of_stream true on the page that holds the last records.
func (s *Server) serveFeed(w http.ResponseWriter, r *http.Request, t *table) {
	size, pos, ok := queryPage(w, r.URL.Query(), "limit", "cursor")
	if !ok {
		return
	}
	refs, more, _ := s.window(t, 0, false, pos, size)
	b := s.records([]byte(`{"tickets":`), t, refs)
	b = appendJSONString(append(b, `,"after_cursor":`...), posToken(pos+len(refs)))
	b = append(b, `,"end_of_stream":`...)
	b = strconv.AppendBool(b, !more)
	writeJSON(w, http.StatusOK, append(b, '}'))
}

// servePoll: a feed that never says it ended: past the last record it
// answers an empty page whose token is the one it was asked with.
func (s *Server) servePoll(w http.ResponseWriter, r *http.Request, t *table) {
	size, pos, ok := queryPage(w, r.URL.Query(), "limit", "cursor")
	if !ok {
		return
	}
	refs, _, _ := s.window(t, 0, false, pos, size)
	b := s.records([]byte(`{"events":`), t, refs)
	b = appendJSONString(append(b, `,"next":`...), posToken(pos+len(refs)))
	writeJSON(w, http.StatusOK, append(b, '}'))
}
