package fetch

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rawland/rawland/config"
)

// Request is one HTTP request of a stream.
type Request struct {
	// Method defaults to GET.
	Method string
	// URL is absolute (http or https). Its origin must be the base URL's or
	// an allowed one (Options.BaseURL); Auth is applied to it only where
	// the credentials may go.
	URL string
	// Body is sent as is (Content-Type application/json unless Header sets
	// one) and re-sent on retries.
	Body []byte
	// Header adds headers to this request (e.g. an idempotency key).
	Header http.Header
	// Stream and RunID label log lines.
	Stream, RunID string
	// MaxAttempts overrides Options.Retry.MaxAttempts when > 0 (1: no
	// retry, for requests that must not be repeated).
	MaxAttempts int
}

// Response is a successful (2xx) answer, its body read and decoded.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Header is the response header.
	Header http.Header
	// Body is the decoded body.
	Body []byte
	// TrackingID is the upstream's tracking ID ("" if none).
	TrackingID string
	// URL is the final request URL with secrets redacted.
	URL string
	// Attempts is how many requests were sent, this one included.
	Attempts int
	// Latency is the time of the successful attempt, from sending the
	// request to the last byte of the body.
	Latency time.Duration
	// ValidJSON reports that Body was checked to be one valid JSON
	// document (gjson.ValidBytes), so that the caller need not check again;
	// false says nothing (not JSON, NDJSON, or not checked).
	ValidJSON bool
}

// prepared is a Request checked once for all its attempts.
type prepared struct {
	method, rawURL string
	body           []byte
	header         http.Header
	stream, runID  string
	home           string // the origin that receives the credentials
	redactedURL    string
	logPath        string
}

func (c *Client) prepare(r Request) (*prepared, error) {
	method := strings.ToUpper(orDefault(r.Method, http.MethodGet))
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("source %s: request URL does not parse: %s", c.source, Redact(err.Error(), c.secrets))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("source %s: request URL %s must be absolute http(s)", c.source, redactURL(u, c.secrets))
	}
	if !c.origins.permits(config.Origin(u)) {
		return nil, c.refuse(u, nil)
	}
	home := c.origins.homeFor(u)
	probe := &http.Request{URL: u, Header: http.Header{}}
	if err := c.credentials(probe, home); err != nil {
		return nil, err
	}
	return &prepared{
		home:        home,
		method:      method,
		rawURL:      r.URL,
		body:        r.Body,
		header:      r.Header,
		stream:      r.Stream,
		runID:       r.RunID,
		redactedURL: redactURL(probe.URL, c.secrets),
		logPath:     redactRequestURI(probe.URL, c.secrets),
	}, nil
}

func (p *prepared) newRequest(ctx context.Context, c *Client) (*http.Request, error) {
	var req *http.Request
	var err error
	if p.body != nil {
		req, err = http.NewRequestWithContext(ctx, p.method, p.rawURL, bytes.NewReader(p.body))
	} else {
		req, err = http.NewRequestWithContext(ctx, p.method, p.rawURL, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("build request: %s", Redact(err.Error(), c.secrets))
	}
	for k, v := range c.headers {
		req.Header[k] = slices.Clone(v)
	}
	for k, v := range p.header {
		req.Header[http.CanonicalHeaderKey(k)] = slices.Clone(v)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "rawland")
	}
	if p.body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept-Encoding", "gzip")
	if err := c.credentials(req, p.home); err != nil {
		return nil, err
	}
	return req, nil
}
