package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rawland/rawland/config"
)

// Download is a request for a file read as a stream (an export's result),
// not held in memory as Do's answers are.
type Download struct {
	// URL is absolute http(s).
	URL string
	// Anonymous sends the request, and follows its redirects, to any
	// http(s) origin without any credential, source header or Referer: for
	// the pre-signed URLs an export job names, which live on storage hosts
	// the source cannot list in advance. Without it the source's origin
	// policy applies as for Do (allowed origins only, credentials where the
	// source sends them).
	Anonymous bool
	// Offset > 0 asks for the bytes from Offset on (Range: bytes=Offset-).
	Offset int64
	// IfRange (an ETag) makes a ranged request return the whole file if it
	// changed since.
	IfRange string
	// Stream and RunID label log lines.
	Stream, RunID string
}

// Body is an open download. Read it to the end or Close it: it holds one of
// the source's concurrency slots until closed.
type Body struct {
	// Status is 200, or 206 for a ranged answer.
	Status int
	// Header is the response header.
	Header http.Header
	// URL is the final URL with secrets redacted; for anonymous downloads
	// its query (a pre-signed URL's signature) is left out.
	URL string
	// Offset is where the body starts in the file: Download.Offset on a
	// 206, 0 when the server sent the whole file.
	Offset int64
	// Size is the whole file's size when the server said (-1 otherwise).
	Size int64
	// ETag is the file's entity tag ("" if none).
	ETag string
	// AcceptRanges says the server announced byte ranges.
	AcceptRanges bool
	// TrackingID is the upstream's tracking ID, if any.
	TrackingID string
	// Attempts is how many requests were sent, this one included.
	Attempts int

	rc      io.ReadCloser
	idle    time.Duration
	timer   *time.Timer
	cancel  context.CancelFunc
	release func()
	once    sync.Once
}

// Read reads the body; each read must make progress within the source's
// timeout, or the body fails with a timeout (a stalled transfer).
func (b *Body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.timer.Reset(b.idle)
	return n, err
}

// Close ends the transfer and frees the concurrency slot.
func (b *Body) Close() error {
	var err error
	b.once.Do(func() {
		b.timer.Stop()
		err = b.rc.Close()
		b.cancel()
		b.release()
	})
	return err
}

// Open starts a download: it sends d (retrying transient failures as Do
// does, with the source's quota and breaker when the URL is on the source's
// own origin) and returns the open body of the first 2xx answer. Each read
// of the body must make progress within the source's timeout. Errors are
// Do's; a 416 (range not satisfiable) is an *HTTPError like any other 4xx.
// No error, log line or Body.URL contains a secret, and for anonymous
// downloads no URL query.
func (c *Client) Open(ctx context.Context, d Download) (*Body, error) {
	u, err := url.Parse(d.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("source %s: download URL %s is not an absolute http(s) URL", c.source, DownloadURL(d.URL, c.secrets))
	}
	p := &prepared{method: http.MethodGet, rawURL: d.URL, stream: d.Stream, runID: d.RunID}
	hc := c.hc
	if d.Anonymous {
		p.redactedURL = DownloadURL(d.URL, c.secrets)
		p.logPath = p.redactedURL
		anon := *c.hc
		anon.CheckRedirect = c.anonymousRedirect
		hc = &anon
	} else {
		if !c.origins.permits(config.Origin(u)) {
			e := c.refuse(u, nil)
			e.URL = DownloadURL(d.URL, c.secrets)
			return nil, e
		}
		p.home = c.origins.homeFor(u)
		probe := &http.Request{URL: u, Header: http.Header{}}
		if err := c.credentials(probe, p.home); err != nil {
			return nil, err
		}
		p.redactedURL, p.logPath = redactURL(probe.URL, c.secrets), redactRequestURI(probe.URL, c.secrets)
	}
	// the API's quota and breaker govern its own origin; a storage host's
	// answers say nothing about them
	gated := config.Origin(u) == c.origins.homeFor(u)
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, c.ctxError(p, err)
		}
		body, o := c.openAttempt(ctx, hc, p, d, gated, n)
		if o.err == nil {
			c.logAttempt(ctx, p, n, o, false, 0)
			return body, nil
		}
		if !o.retry || n >= c.retry.MaxAttempts {
			if o.sent {
				c.logAttempt(ctx, p, n, o, false, 0)
			}
			return nil, o.err
		}
		wait := c.retry.backoff(n)
		var he *HTTPError
		if errors.As(o.err, &he) && he.RetryAfter > wait && !gated {
			wait = min(he.RetryAfter, c.maxWait) // gated requests wait in admit
		}
		c.logAttempt(ctx, p, n, o, true, wait)
		if err := c.sleep(ctx, wait); err != nil {
			return nil, c.ctxError(p, err)
		}
	}
}

// openAttempt sends one download request and classifies the answer; on
// success the returned Body owns the concurrency slot.
func (c *Client) openAttempt(ctx context.Context, hc *http.Client, p *prepared, d Download, gated bool, n int) (*Body, outcome) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, outcome{err: c.ctxError(p, ctx.Err())}
	}
	released := false
	release := func() {
		if !released {
			released = true
			<-c.sem
		}
	}
	var gd gateDecision
	if gated {
		var err error
		if gd, err = c.admit(ctx); err != nil {
			release()
			if ctxErr := ctx.Err(); ctxErr != nil {
				err = c.ctxError(p, ctxErr)
			}
			return nil, outcome{err: err}
		}
	}
	actx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(c.timeout, cancel)
	fail := func(o outcome) (*Body, outcome) {
		timer.Stop()
		cancel()
		release()
		return nil, o
	}
	req, err := http.NewRequestWithContext(actx, http.MethodGet, p.rawURL, nil)
	if err != nil {
		return fail(outcome{err: fmt.Errorf("build request: %s", Redact(err.Error(), c.secrets))})
	}
	if d.Anonymous {
		if err := c.stripCredentials(req); err != nil {
			return fail(outcome{err: err})
		}
	} else {
		for k, v := range c.headers {
			req.Header[k] = append([]string(nil), v...)
		}
		if err := c.credentials(req, p.home); err != nil {
			return fail(outcome{err: err})
		}
	}
	req.Header.Set("User-Agent", "rawland")
	// identity: byte offsets (Range, resume) are the file's own, and a
	// compressed file is detected and decoded by the reader
	req.Header.Set("Accept-Encoding", "identity")
	if d.Offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(d.Offset, 10)+"-")
		if d.IfRange != "" {
			req.Header.Set("If-Range", d.IfRange)
		}
	}
	c.stats.requests.Add(1)
	c.stats.noteInFlight(c.inflight.Add(1))
	start := time.Now()
	resp, err := hc.Do(req)
	others := c.inflight.Add(-1)
	o := outcome{sent: true, latency: time.Since(start)}
	now := c.now()
	if err != nil {
		if gated {
			c.observe(ctx, p, now, answer{probe: gd.probe, seq: gd.seq}, rateHints{}, others)
		}
		o = c.transportOutcome(ctx, actx, p, n, o, err)
		return fail(o)
	}
	status := resp.StatusCode
	hints := parseRateHints(resp.Header, now)
	o.status, o.trackingID = status, c.trackingID(resp.Header)
	if status < 200 || status >= 300 {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		throttled := status == http.StatusTooManyRequests || (status == http.StatusForbidden && throttled403(hints, head))
		if gated {
			eff := c.observe(ctx, p, now, answer{status: status, throttled: throttled, seq: gd.seq, probe: gd.probe, trackingID: o.trackingID}, hints, others)
			if eff.lock != nil && (throttled || status == http.StatusUnauthorized) {
				o.err = eff.lock
				return fail(o)
			}
		}
		o.retry = throttled || retryableStatus(status) || retryableStatusBody(status, resp.Header.Get("Content-Type"), head)
		o.err = &HTTPError{Method: http.MethodGet, Status: status, URL: p.redactedURL, TrackingID: o.trackingID,
			BodyStart: bodyStart(head, c.secrets), Attempts: n, RetryAfter: hints.retryAfter, Retryable: o.retry}
		return fail(o)
	}
	if gated {
		c.observe(ctx, p, now, answer{status: status, seq: gd.seq, probe: gd.probe, trackingID: o.trackingID}, hints, others)
	}
	b := &Body{Status: status, Header: resp.Header, Size: -1, ETag: resp.Header.Get("ETag"), TrackingID: o.trackingID, Attempts: n,
		AcceptRanges: strings.EqualFold(resp.Header.Get("Accept-Ranges"), "bytes"),
		rc:           resp.Body, idle: c.timeout, timer: timer, cancel: cancel, release: release}
	if d.Anonymous {
		b.URL = DownloadURL(resp.Request.URL.String(), c.secrets)
	} else {
		b.URL = redactURL(resp.Request.URL, c.secrets)
	}
	switch {
	case status == http.StatusPartialContent:
		first, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || first != d.Offset {
			b.Close()
			o.err = fmt.Errorf("GET %s: 206 answer with Content-Range %q does not start at the asked offset %d", p.redactedURL, resp.Header.Get("Content-Range"), d.Offset)
			return nil, o
		}
		b.Offset, b.Size, b.AcceptRanges = first, size, true
	default:
		if resp.ContentLength >= 0 {
			b.Size = resp.ContentLength
		}
	}
	return b, o
}

// parseContentRange reads "bytes first-last/size" (size may be "*": -1).
func parseContentRange(v string) (first, size int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, total, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	f, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	first, err := strconv.ParseInt(f, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	size = -1
	if total != "*" {
		if size, err = strconv.ParseInt(total, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return first, size, true
}

// anonymousRedirect follows an anonymous download's redirects to any
// http(s) origin, at most maxRedirects hops, never with a credential or a
// Referer.
func (c *Client) anonymousRedirect(req *http.Request, via []*http.Request) error {
	req.Header.Del("Referer")
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to a %s: URL refused", req.URL.Scheme)
	}
	return c.stripCredentials(req)
}

// DownloadURL is how a download URL appears in logs, errors and page logs:
// secrets redacted and the query left out ("?…"), since a pre-signed URL's
// query is its signature.
func DownloadURL(raw string, secrets []string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	q := u.RawQuery != ""
	u.RawQuery, u.Fragment, u.User = "", "", nil
	s := Redact(u.String(), secrets)
	if q {
		s += "?…"
	}
	return s
}
