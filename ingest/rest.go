package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/ingest/fetch"
	"github.com/rawland/rawland/landing"
)

// Doer sends one request with retries, quotas and limits; *fetch.Client is
// the implementation, shared by all streams of a source.
type Doer interface {
	Do(ctx context.Context, r fetch.Request) (*fetch.Response, error)
}

// batch is what a source hands the runner: one page's records and its log
// entry. Records alias the page body; the runner lands them before asking
// for the next page, so memory is one page.
type batch struct {
	page    landing.Page
	records []json.RawMessage
	// total is the record count the page announced (pagination total),
	// 0 when unknown: progress shows an ETA from it.
	total int64
}

// listing describes one REST walk: a path, its params, method and body
// template, and pagination.
type listing struct {
	path       string
	params     map[string]string
	records    string
	pagination config.Pagination
	method     string         // "" = GET
	body       map[string]any // JSON body template (nil: none)
}

func streamListing(s *config.Stream) listing {
	return listing{path: s.Path, params: s.Params, records: s.Records, pagination: s.Pagination, method: s.Method, body: s.Body}
}

// reconcileListing is a stream's full listing for reconcile: its own
// endpoint when it has one, else the stream's.
func reconcileListing(s *config.Stream) listing {
	if r := s.Reconcile; r != nil {
		return listing{path: r.Path, params: r.Params, records: r.Records, pagination: r.Pagination, method: r.Method, body: r.Body}
	}
	return streamListing(s)
}

// endpoint joins a source's base URL (which may carry a path prefix) and a
// stream path.
func endpoint(base, path string) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("bad base_url %q: %w", base, err)
	}
	p, err := url.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("bad path %q: %w", path, err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + strings.TrimPrefix(p.Path, "/")
	q := u.Query()
	for k, vs := range p.Query() {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u, nil
}

// walkSpec is one walk: where, how far, and what earlier runs saw.
type walkSpec struct {
	base          string
	l             listing
	extra         map[string]string // query parameters to add (the cursor)
	stream, runID string
	maxPages      int64
	maxDuration   time.Duration
	now           func() time.Time
	// known are the response paths earlier runs of the stream saw present
	// (state.Paths), scoped by listing path.
	known map[string]bool
}

// firstRequest is the walk's first request: the endpoint with the
// stream's params, the body template, the incremental cursor's parameters
// (extra) where the page parameter goes (pagination in: body puts them in
// the body, integers as JSON numbers; otherwise the query) and the first
// page's parameters.
func firstRequest(w walkSpec, pg paginator) (pageReq, error) {
	u, err := endpoint(w.base, w.l.path)
	if err != nil {
		return pageReq{}, err
	}
	q := u.Query()
	for k, v := range w.l.params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	method := w.l.method
	if method == "" {
		method = http.MethodGet
	}
	r := pageReq{method: method, url: u, body: cloneBody(w.l.body)}
	if r.method == http.MethodPost && r.body == nil && w.l.pagination.In == config.InBody {
		r.body = map[string]any{}
	}
	in := config.InQuery
	if w.l.pagination.In == config.InBody {
		in = config.InBody
	}
	for _, k := range slices.Sorted(maps.Keys(w.extra)) {
		v := w.extra[k]
		r = r.set(in, k, paramValue{text: v, number: in == config.InBody && isInteger(v)})
	}
	return pg.first(r), nil
}

// walk reads every page of a listing, calling sink for each. It returns
// nil only when the end of the listing was observed (see endJudge), a
// *TruncatedError when the walk was cut short, or the error of a page that
// failed or of the context. seen are the response paths first seen present
// in this walk, for state.Paths (also on error: they were observed).
func walk(ctx context.Context, d Doer, w walkSpec, sink func(batch) error) (seen []string, err error) {
	defer func() { err = redactErr(d, err) }() // links may echo the key
	pg, pageSize, err := newPaginator(w.l.pagination)
	if err != nil {
		return nil, err
	}
	req, err := firstRequest(w, pg)
	if err != nil {
		return nil, err
	}
	if w.now == nil {
		w.now = time.Now
	}
	guard := newWalkGuard(w.stream, w.maxPages, w.maxDuration, w.now)
	judge := newEndJudge(w.stream, w.l.path, w.l.pagination, pageSize, w.known)
	defer func() { seen = judge.newlySeen() }()
	endStatuses := w.l.pagination.EndStatuses
	emptyPage := false
	for n := int64(1); ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		key := req.key()
		if emptyPage && guard.requested(key) {
			// an empty page that sends the walk back to a request it
			// made: nothing is left to read (a feed whose token repeats
			// at its end)
			return nil, judge.end(n-1, req.describe())
		}
		if err := guard.request(n, key, req.describe()); err != nil {
			return nil, err
		}
		fr, err := req.request(w.stream, w.runID)
		if err != nil {
			return nil, err
		}
		resp, err := d.Do(ctx, fr)
		var he *fetch.HTTPError
		if n > 1 && errors.As(err, &he) && slices.Contains(endStatuses, he.Status) {
			// past the first page, an end status says there are no more
			// pages; the request was made: it is logged as a page
			lp := landing.Page{N: n, URL: he.URL, Status: he.Status, TrackingID: he.TrackingID, Attempts: he.Attempts}
			if err := sink(batch{page: lp}); err != nil {
				return nil, err
			}
			return nil, judge.endStatus(n, he.URL, he.Status)
		}
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", n, err)
		}
		doc := newDoc(resp.Body)
		if resp.ValidJSON {
			doc = validDoc(resp.Body) // the client validated it already
		}
		recs, err := extractRecords(doc, w.l.records)
		if errors.Is(err, errRecordsAbsent) {
			return nil, &TruncatedError{Stream: w.stream, Page: n, URL: resp.URL, Err: err,
				Reason: fmt.Sprintf("tracking id %q: %v", resp.TrackingID, err)}
		}
		if err != nil {
			return nil, fmt.Errorf("page %d (%s, tracking id %q): %w", n, resp.URL, resp.TrackingID, err)
		}
		if err := guard.records(n, resp.URL, recs); err != nil {
			return nil, err
		}
		lp := landing.Page{N: n, URL: resp.URL, Status: resp.Status, Records: len(recs), Bytes: len(resp.Body),
			TrackingID: resp.TrackingID, Attempts: resp.Attempts, LatencyMS: resp.Latency.Milliseconds()}
		var total int64
		if judge.total != "" {
			if t, ok, err := judge.readCount(doc, judge.total, "total", "a record count"); err == nil && ok {
				total = t
			}
		}
		if err := sink(batch{page: lp, records: recs, total: total}); err != nil {
			return nil, err
		}
		p := page{Req: req, Header: resp.Header, Doc: doc, Records: len(recs)}
		if len(recs) > 0 {
			p.Last = recs[len(recs)-1]
		}
		nx, err := pg.next(p)
		if err != nil {
			return nil, fmt.Errorf("page %d (%s): next page: %w", n, resp.URL, err)
		}
		next, more, err := judge.judge(n, resp.URL, p, nx)
		if err != nil {
			var te *TruncatedError
			if errors.As(err, &te) {
				return nil, err
			}
			return nil, fmt.Errorf("page %d (%s): next page: %w", n, resp.URL, err)
		}
		if !more {
			return nil, nil
		}
		req, emptyPage = next, len(recs) == 0
	}
}
