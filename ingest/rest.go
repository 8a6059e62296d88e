package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
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
}

// listing describes one REST walk: a path, its params and pagination.
type listing struct {
	path       string
	params     map[string]string
	records    string
	pagination config.Pagination
}

func streamListing(s *config.Stream) listing {
	return listing{path: s.Path, params: s.Params, records: s.Records, pagination: s.Pagination}
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

// walk reads every page of a listing, calling sink for each. It returns
// nil only when the end of the listing was observed (see endJudge), a
// *TruncatedError when the walk was cut short, or the error of a page that
// failed or of the context. seen are the response paths first seen present
// in this walk, for state.Paths (also on error: they were observed).
func walk(ctx context.Context, d Doer, w walkSpec, sink func(batch) error) (seen []string, err error) {
	defer func() { err = redactErr(d, err) }() // links may echo the key
	u, err := endpoint(w.base, w.l.path)
	if err != nil {
		return nil, err
	}
	pg, pageSize, err := newPaginator(w.l.pagination)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	for k, v := range w.l.params {
		q.Set(k, v)
	}
	for k, v := range w.extra {
		q.Set(k, v)
	}
	pg.first(q)
	u.RawQuery = q.Encode()
	next := u.String()
	if w.now == nil {
		w.now = time.Now
	}
	guard := newWalkGuard(w.stream, w.maxPages, w.maxDuration, w.now)
	judge := newEndJudge(w.stream, w.l.path, w.l.pagination, pageSize, w.known)
	defer func() { seen = judge.newlySeen() }()
	for n := int64(1); next != ""; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := guard.request(n, next); err != nil {
			return nil, err
		}
		resp, err := d.Do(ctx, fetch.Request{Method: "GET", URL: next, Stream: w.stream, RunID: w.runID})
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", n, err)
		}
		doc := newDoc(resp.Body)
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
		cur, _ := url.Parse(next)
		lp := landing.Page{N: n, URL: resp.URL, Status: resp.Status, Records: len(recs), Bytes: len(resp.Body),
			TrackingID: resp.TrackingID, Attempts: resp.Attempts, LatencyMS: resp.Latency.Milliseconds()}
		if err := sink(batch{page: lp, records: recs}); err != nil {
			return nil, err
		}
		p := page{URL: cur, Header: resp.Header, Doc: doc, Records: len(recs)}
		nx, err := pg.next(p)
		if err != nil {
			return nil, fmt.Errorf("page %d (%s): next page: %w", n, resp.URL, err)
		}
		if next, err = judge.judge(n, resp.URL, p, nx); err != nil {
			var te *TruncatedError
			if errors.As(err, &te) {
				return nil, err
			}
			return nil, fmt.Errorf("page %d (%s): next page: %w", n, resp.URL, err)
		}
	}
	return nil, nil
}
