package fetch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Client is the resilient HTTP client of one source. Create one per source
// per process with New; it is safe for concurrent use by all the source's
// streams, which then share its concurrency limit, budget and breaker.
type Client struct {
	source          string
	auth            Auth
	origins         originPolicy
	secrets         []string
	headers         http.Header
	hc              *http.Client
	sem             chan struct{}
	rateLimit       *RateLimit
	limiter         *rate.Limiter // in-process budget; nil with QuotaDir
	store           stateStore
	retry           Retry
	breaker         Breaker
	timeout         time.Duration
	probeLease      time.Duration
	maxBody         int64
	maxWait         time.Duration
	trackingHeaders []string
	log             *slog.Logger
	sleep           func(context.Context, time.Duration) error
	now             func() time.Time
	realClock       bool

	inflight atomic.Int64
	stats    counters
}

// New validates opts, fills in defaults and returns a Client.
func New(opts Options) (*Client, error) {
	if opts.Source == "" {
		return nil, errors.New("fetch: Options.Source is required (it names the source in logs and the quota file)")
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("fetch: source %s: "+format, append([]any{opts.Source}, args...)...)
	}
	switch {
	case opts.Concurrency < 0:
		return nil, bad("concurrency must be positive, got %d", opts.Concurrency)
	case opts.Retry.MaxAttempts < 0 || opts.Retry.InitialBackoff < 0 || opts.Retry.MaxBackoff < 0:
		return nil, bad("retry settings must not be negative")
	case opts.Timeout < 0 || opts.MaxWait < 0 || opts.MaxResponseBytes < 0:
		return nil, bad("timeout, max_wait and max_response_bytes must not be negative")
	case opts.RateLimit != nil && (opts.RateLimit.Requests <= 0 || opts.RateLimit.Per <= 0 || opts.RateLimit.Burst < 0):
		return nil, bad("rate_limit needs requests > 0 and per > 0, e.g. {requests: 5000, per: 1h}")
	}
	var err error
	c := &Client{
		source:    opts.Source,
		auth:      opts.Auth,
		headers:   http.Header{},
		retry:     opts.Retry.withDefaults(),
		breaker:   opts.Breaker.withDefaults(),
		timeout:   orDefault(opts.Timeout, DefaultTimeout),
		maxBody:   orDefault(opts.MaxResponseBytes, DefaultMaxResponseBytes),
		maxWait:   orDefault(opts.MaxWait, DefaultMaxWait),
		log:       opts.Logger,
		sleep:     opts.Sleep,
		now:       opts.Now,
		hc:        opts.HTTPClient,
		realClock: opts.Sleep == nil && opts.Now == nil,
	}
	if c.origins, err = newOriginPolicy(opts.BaseURL, opts.AllowedOrigins, opts.SendCredentialsToAllowed); err != nil {
		return nil, bad("%w", err)
	}
	c.probeLease = c.timeout // the probe's lease ends when its answer must have come
	if c.auth == nil {
		c.auth = NoAuth()
	}
	c.secrets = expandSecrets(c.auth.Secrets())
	for k, v := range opts.Headers {
		c.headers.Set(k, v)
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.sem = make(chan struct{}, orDefault(opts.Concurrency, DefaultConcurrency))
	if c.hc == nil {
		c.hc = defaultHTTPClient(cap(c.sem))
	}
	hc := *c.hc // a copy: the caller's client keeps its own redirect policy
	hc.CheckRedirect = c.checkRedirect(c.hc.CheckRedirect)
	c.hc = &hc
	if opts.TrackingHeader != "" {
		c.trackingHeaders = append(c.trackingHeaders, opts.TrackingHeader)
	}
	c.trackingHeaders = append(c.trackingHeaders, "X-Request-Id", "X-Github-Request-Id")
	if opts.RateLimit != nil {
		rl := *opts.RateLimit
		rl.Burst = max(rl.Burst, 1)
		c.rateLimit = &rl
		if opts.QuotaDir == "" && opts.QuotaBackend == nil {
			c.limiter = rate.NewLimiter(rate.Every(rl.interval()), rl.Burst)
		}
	}
	if opts.QuotaBackend != nil {
		c.store = &backendStore{b: opts.QuotaBackend, source: c.source, corrupt: func(err error) {
			c.log.Warn("shared quota state unreadable; starting from a fresh state",
				slog.String(KeySource, c.source), slog.String(KeyError, err.Error()))
		}}
	} else if opts.QuotaDir != "" {
		fs, err := newFileStore(opts.QuotaDir, c.source, func(err error) {
			c.log.Warn("quota state file unreadable; starting from a fresh state",
				slog.String(KeySource, c.source), slog.String(KeyError, err.Error()))
		})
		if err != nil {
			return nil, bad("%w", err)
		}
		c.store = fs
	} else {
		c.store = newMemStore(c.source)
	}
	return c, nil
}

// Do sends r, waiting as the source's quota requires and retrying transient
// failures with full-jitter backoff, and returns the 2xx answer. Errors:
// *HTTPError (a non-retryable status, or a retryable one when attempts ran
// out), *LockoutError (ErrLockout: the breaker is open), *QuotaExhaustedError
// (ErrQuotaExhausted: the source is paused longer than MaxWait),
// ErrResponseTooLarge, ErrMalformedBody, *TransportError, or the context's
// error, or ErrForeignOrigin (usually *OriginError: the request or a
// redirect led to an origin the source does not allow; nothing was sent
// there, and it is not retried). No error or log line contains a secret.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	p, err := c.prepare(r)
	if err != nil {
		return nil, err
	}
	maxAttempts := c.retry.MaxAttempts
	if r.MaxAttempts > 0 {
		maxAttempts = r.MaxAttempts
	}
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, c.ctxError(p, err)
		}
		if n > 1 {
			c.stats.retries.Add(1)
		}
		o := c.attempt(ctx, p, n)
		if o.err == nil {
			c.logAttempt(ctx, p, n, o, false, 0)
			return o.resp, nil
		}
		if !o.retry || n >= maxAttempts {
			if o.sent {
				c.logAttempt(ctx, p, n, o, false, 0)
			}
			return nil, o.err
		}
		wait := c.retry.backoff(n)
		c.logAttempt(ctx, p, n, o, true, wait)
		if err := c.sleep(ctx, wait); err != nil {
			return nil, c.ctxError(p, err)
		}
	}
}

func (c *Client) ctxError(p *prepared, err error) error {
	return fmt.Errorf("%s %s: %w", p.method, p.redactedURL, err)
}

// outcome is the result of one attempt.
type outcome struct {
	resp  *Response
	err   error
	retry bool // err is transient
	sent  bool // a request went out

	status     int
	latency    time.Duration
	bytes      int
	trackingID string
}

// attempt sends the request once: it takes a concurrency slot, waits for
// admission (breaker, pause, quota, budget), sends, reads the body, records
// what the answer says about the quota, and classifies the result.
func (c *Client) attempt(ctx context.Context, p *prepared, n int) outcome {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return outcome{err: c.ctxError(p, ctx.Err())}
	}
	defer func() { <-c.sem }()

	gd, err := c.admit(ctx)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = c.ctxError(p, ctxErr)
		}
		return outcome{err: err}
	}

	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := p.newRequest(actx, c)
	if err != nil {
		return outcome{err: err}
	}
	c.stats.requests.Add(1)
	c.stats.noteInFlight(c.inflight.Add(1))
	start := time.Now()
	resp, err := c.hc.Do(req)
	var body []byte
	if err == nil {
		body, err = c.readBody(resp)
		resp.Body.Close()
	}
	o := outcome{sent: true, latency: time.Since(start), bytes: len(body)}
	others := c.inflight.Add(-1)
	now := c.now()

	if err != nil {
		c.observe(ctx, p, now, answer{probe: gd.probe, seq: gd.seq}, rateHints{}, others)
		return c.transportOutcome(ctx, actx, p, n, o, err)
	}

	status := resp.StatusCode
	ct := resp.Header.Get("Content-Type")
	hints := parseRateHints(resp.Header, now)
	o.status, o.trackingID = status, c.trackingID(resp.Header)
	throttled := status == http.StatusTooManyRequests || (status == http.StatusForbidden && throttled403(hints, body))
	if throttled {
		c.stats.throttled.Add(1)
		if status == http.StatusTooManyRequests {
			c.stats.tooMany.Add(1)
		}
	}
	eff := c.observe(ctx, p, now, answer{status: status, throttled: throttled, seq: gd.seq, probe: gd.probe, trackingID: o.trackingID}, hints, others)
	if eff.lock != nil && (throttled || status == http.StatusUnauthorized) {
		o.err = eff.lock
		return o
	}

	switch {
	case status >= 200 && status < 300:
		malformed, oneDoc := checkJSON(ct, body)
		if malformed {
			o.err = fmt.Errorf("%s %s: %d answer whose JSON body does not parse (truncated?) after %d %s: %w",
				p.method, p.redactedURL, status, n, plural(n, "attempt"), ErrMalformedBody)
			o.retry = true
			return o
		}
		o.resp = &Response{
			Status:     status,
			Header:     resp.Header,
			Body:       body,
			TrackingID: o.trackingID,
			URL:        redactURL(resp.Request.URL, c.secrets),
			Attempts:   n,
			Latency:    o.latency,
			ValidJSON:  oneDoc,
		}
		return o
	case throttled || retryableStatus(status) || retryableStatusBody(status, ct, body):
		// A Retry-After is enforced source-wide by observe and admit.
		o.retry = true
	}
	o.err = &HTTPError{
		Method:     p.method,
		Status:     status,
		URL:        p.redactedURL,
		TrackingID: o.trackingID,
		BodyStart:  bodyStart(body, c.secrets),
		Attempts:   n,
		RetryAfter: hints.retryAfter,
		Retryable:  o.retry,
	}
	return o
}

func (c *Client) transportOutcome(ctx, actx context.Context, p *prepared, n int, o outcome, err error) outcome {
	if ctxErr := ctx.Err(); ctxErr != nil {
		o.err = c.ctxError(p, ctxErr)
		return o
	}
	if errIsOrigin(err) {
		// refused by the origin policy (a redirect): final, and already
		// free of secrets
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the unredacted URL
		}
		o.err = err
		return o
	}
	if errors.Is(err, ErrResponseTooLarge) {
		o.err = fmt.Errorf("%s %s: %w", p.method, p.redactedURL, err)
		return o
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its message repeats the unredacted URL
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("no complete answer within the %s timeout: %w", c.timeout, err)
	}
	o.retry = retryableTransport(err)
	o.err = &TransportError{Method: p.method, URL: p.redactedURL, Attempts: n, Err: err, secrets: c.secrets}
	return o
}

func (c *Client) trackingID(h http.Header) string {
	for _, k := range c.trackingHeaders {
		if v := h.Get(k); v != "" {
			return Redact(v, c.secrets) // a hostile upstream may echo the credential
		}
	}
	return ""
}
