package fetch

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Options configure a Client. The zero value of every field but Source is
// usable.
type Options struct {
	// Source is the source name: it labels log lines and errors and names
	// the shared quota file. Required.
	Source string
	// Headers are sent with every request (e.g. Accept).
	Headers map[string]string
	// Auth authenticates requests (default NoAuth).
	Auth Auth
	// BaseURL is the source's base_url. Its origin (scheme, host, port) is
	// the only one that receives the credentials, and with AllowedOrigins
	// the only ones a request or redirect may reach: any other fails with
	// *OriginError (ErrForeignOrigin) before anything is sent there. Empty:
	// each request's own origin gets the credentials and redirects to
	// another origin are followed without them.
	BaseURL string
	// AllowedOrigins are further origins (scheme://host[:port]) that
	// requests and redirects may reach. They receive the credentials only
	// with SendCredentialsToAllowed.
	AllowedOrigins []string
	// SendCredentialsToAllowed sends the credentials to AllowedOrigins too.
	SendCredentialsToAllowed bool
	// Concurrency is the most requests in flight for this source, all
	// streams together (default 5).
	Concurrency int
	// RateLimit is an optional client-side budget, shared across processes
	// when QuotaDir is set.
	RateLimit *RateLimit
	// Retry bounds the retries of transient failures.
	Retry Retry
	// Breaker configures the lockout guard.
	Breaker Breaker
	// Timeout bounds each attempt, body included (default 30s).
	Timeout time.Duration
	// TrackingHeader is the response header with the upstream's tracking ID
	// (e.g. "Trackingid"); X-Request-Id and X-GitHub-Request-Id are tried
	// after it.
	TrackingHeader string
	// MaxResponseBytes caps the decoded body (default 64 MiB).
	MaxResponseBytes int64
	// MaxWait is the longest a request waits for a paused source (quota
	// reset, Retry-After) before Do fails with ErrQuotaExhausted instead
	// (default 1h). A context deadline that ends sooner lowers it.
	MaxWait time.Duration
	// QuotaDir, when set, shares the rate budget, the upstream's quota
	// state and the breaker with every process using the same directory.
	QuotaDir string
	// QuotaBackend, when set, shares the same state through a database
	// that workers on many hosts reach (it takes precedence over QuotaDir).
	QuotaBackend QuotaBackend
	// Logger receives one line per attempt (default slog.Default()).
	Logger *slog.Logger
	// HTTPClient sends the requests (default: a client that keeps up to
	// Concurrency idle connections). The Client uses a copy whose
	// CheckRedirect enforces the origin policy (see BaseURL) and drops the
	// Referer before calling the given CheckRedirect. Its Timeout should be
	// zero: Timeout applies per attempt.
	HTTPClient *http.Client
	// Sleep waits for d or until ctx ends (default: a timer). Tests inject a
	// fake together with Now.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultConcurrency      = 5
	DefaultTimeout          = 30 * time.Second
	DefaultMaxResponseBytes = 64 << 20
	DefaultMaxWait          = time.Hour
)

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func defaultHTTPClient(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(conns, 2)
	t.DisableCompression = true // we ask for gzip and decode (and cap) it ourselves
	return &http.Client{Transport: t}
}
