package fetch

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors. Match them with errors.Is; the typed errors below carry the
// details and unwrap to these.
var (
	// ErrLockout means the source's breaker is open: the upstream kept refusing
	// requests for quota or credential reasons, so the Client stopped sending.
	// The concrete error is a *LockoutError.
	ErrLockout = errors.New("source locked out")

	// ErrQuotaExhausted means the upstream's quota is used up until a time
	// later than the caller may wait (Options.MaxWait or the context
	// deadline). Nothing was sent. The concrete error is a *QuotaExhaustedError.
	ErrQuotaExhausted = errors.New("quota exhausted")

	// ErrResponseTooLarge means a decoded response body exceeded
	// Options.MaxResponseBytes. It is not retried; it is wrapped with the URL
	// and the limit.
	ErrResponseTooLarge = errors.New("response too large")

	// ErrMalformedBody means a body that should have been JSON did not parse
	// on every attempt (typically a truncated response). It is wrapped with
	// the URL and the status.
	ErrMalformedBody = errors.New("malformed response body")

	// ErrForeignOrigin means a request or one of its redirects led to an
	// origin the source does not allow (neither base_url's origin nor one
	// of allowed_origins), or would have carried the credential to an
	// origin that may not receive it. Nothing was sent there and it is not
	// retried. The concrete error is usually an *OriginError.
	ErrForeignOrigin = errors.New("foreign origin")
)

// HTTPError is an HTTP answer that Do gives up on: a non-retryable status
// (most 4xx), or a retryable one (408, 429, 5xx) after the attempts ran out.
type HTTPError struct {
	// Method is the request method.
	Method string
	// Status is the HTTP status code of the last answer.
	Status int
	// URL is the request URL with secrets redacted.
	URL string
	// TrackingID is the upstream's tracking ID of the last answer, if any.
	TrackingID string
	// BodyStart is the first ~200 bytes of the body, secrets redacted.
	BodyStart string
	// Attempts is how many requests were sent.
	Attempts int
	// RetryAfter is the wait the upstream asked for (Retry-After), if any.
	RetryAfter time.Duration
	// Retryable reports whether the status was transient (the attempts ran
	// out) rather than a permanent refusal.
	Retryable bool
}

// Error describes the failed request: method, redacted URL, status, attempts,
// tracking ID and the start of the body.
func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	fmt.Fprintf(&b, " after %d %s", e.Attempts, plural(e.Attempts, "attempt"))
	if e.TrackingID != "" {
		fmt.Fprintf(&b, " (tracking id %s)", e.TrackingID)
	}
	if e.BodyStart != "" {
		fmt.Fprintf(&b, ": %s", e.BodyStart)
	}
	return b.String()
}

// LockoutError is returned when the source's breaker is open: the upstream
// answered 429 (or a rate-limit / quota / "disabled" 403, or 401) again and
// again although the Client had waited as told. Every further Do of the
// source fails fast with it until Until; after that one probe request is let
// through, and the breaker closes if the probe is not refused.
type LockoutError struct {
	// Source is the source name.
	Source string
	// Reason says what the upstream kept answering.
	Reason string
	// Strikes is how many consecutive refusals opened the breaker.
	Strikes int
	// Until is when the breaker lets one probe request through.
	Until time.Time
	// LastStatus is the status of the refusal that opened the breaker.
	LastStatus int
	// TrackingID is the upstream's tracking ID of that refusal, if any.
	TrackingID string
	// StateFile is the shared quota file holding the lockout ("" when the
	// state lives only in this process).
	StateFile string
}

// Error says what happened, to which source, and what to do next.
func (e *LockoutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "source %q locked out: %s", e.Source, e.Reason)
	if e.TrackingID != "" {
		fmt.Fprintf(&b, " (last tracking id %s)", e.TrackingID)
	}
	fmt.Fprintf(&b, "; stopped sending until %s to protect the credentials from being disabled. "+
		"Check the upstream's quota and credential status (vendor dashboard or support)", e.Until.UTC().Format(time.RFC3339))
	if e.StateFile != "" {
		fmt.Fprintf(&b, "; runs after that time probe once, or delete %s to retry now", e.StateFile)
	} else {
		b.WriteString("; a new run retries")
	}
	return b.String()
}

// Unwrap returns ErrLockout.
func (e *LockoutError) Unwrap() error { return ErrLockout }

// QuotaExhaustedError is returned instead of waiting when the upstream's quota
// (or a server-requested pause) ends later than the caller may wait.
type QuotaExhaustedError struct {
	// Source is the source name.
	Source string
	// Until is when the upstream's quota resets or the pause ends.
	Until time.Time
	// Reason says where the pause came from (headers, Retry-After, ...).
	Reason string
	// Limit is the longest wait allowed (Options.MaxWait or what was left
	// of the context deadline).
	Limit time.Duration
}

// Error says which source is paused, until when, and what to do.
func (e *QuotaExhaustedError) Error() string {
	return fmt.Sprintf("source %q: quota exhausted until %s (%s), longer than the allowed wait of %s; nothing was sent, retry after that time",
		e.Source, e.Until.UTC().Format(time.RFC3339), e.Reason, e.Limit.Round(time.Second))
}

// Unwrap returns ErrQuotaExhausted.
func (e *QuotaExhaustedError) Unwrap() error { return ErrQuotaExhausted }

// TransportError is a failure below HTTP (connection refused or reset,
// timeout, truncated body) that Do gave up on. Its message carries the
// redacted URL; Err is the cause with the URL redacted too.
type TransportError struct {
	// Method is the request method.
	Method string
	// URL is the request URL with secrets redacted.
	URL string
	// Attempts is how many requests were sent.
	Attempts int
	// Err is the underlying error.
	Err error

	secrets []string
}

// Error describes the failure with secrets redacted.
func (e *TransportError) Error() string {
	return Redact(fmt.Sprintf("%s %s: %v (after %d %s)", e.Method, e.URL, e.Err, e.Attempts, plural(e.Attempts, "attempt")), e.secrets)
}

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
