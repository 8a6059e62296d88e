package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

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

// walk reads every page of a listing, calling sink for each. extra holds
// query parameters to add (the cursor). It returns when the last page is
// read, the context ends, or a page fails.
func walk(ctx context.Context, d Doer, base string, l listing, extra map[string]string, stream, runID string, sink func(batch) error) (err error) {
	defer func() { err = redactErr(d, err) }() // links may echo the key
	u, err := endpoint(base, l.path)
	if err != nil {
		return err
	}
	pg, err := newPaginator(l.pagination)
	if err != nil {
		return err
	}
	q := u.Query()
	for k, v := range l.params {
		q.Set(k, v)
	}
	for k, v := range extra {
		q.Set(k, v)
	}
	pg.first(q)
	u.RawQuery = q.Encode()
	next := u.String()
	guard := newLoopGuard()
	for n := int64(1); next != ""; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := guard.request(next); err != nil {
			return err
		}
		resp, err := d.Do(ctx, fetch.Request{Method: "GET", URL: next, Stream: stream, RunID: runID})
		if err != nil {
			return fmt.Errorf("page %d: %w", n, err)
		}
		doc := newDoc(resp.Body)
		recs, err := extractRecords(doc, l.records)
		if err != nil {
			return fmt.Errorf("page %d (%s, tracking id %q): %w", n, resp.URL, resp.TrackingID, err)
		}
		if err := guard.body(resp.Body, len(recs)); err != nil {
			return err
		}
		cur, _ := url.Parse(next)
		lp := landing.Page{N: n, URL: resp.URL, Status: resp.Status, Records: len(recs), Bytes: len(resp.Body),
			TrackingID: resp.TrackingID, Attempts: resp.Attempts, LatencyMS: resp.Latency.Milliseconds()}
		if err := sink(batch{page: lp, records: recs}); err != nil {
			return err
		}
		next, err = pg.next(page{URL: cur, Header: resp.Header, Doc: doc, Records: len(recs)})
		if err != nil {
			return fmt.Errorf("page %d (%s): next page: %w", n, resp.URL, err)
		}
	}
	return nil
}
