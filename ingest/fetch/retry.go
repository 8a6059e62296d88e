package fetch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Retry bounds the retries of transient failures.
type Retry struct {
	// MaxAttempts is the most requests sent for one Do, the first included
	// (default 6).
	MaxAttempts int
	// InitialBackoff is the ceiling of the first backoff (default 500ms);
	// the ceiling doubles per attempt.
	InitialBackoff time.Duration
	// MaxBackoff caps the ceiling (default 1m).
	MaxBackoff time.Duration
}

// Retry defaults.
const (
	DefaultMaxAttempts    = 6
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = time.Minute
)

func (r Retry) withDefaults() Retry {
	if r.MaxAttempts == 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.InitialBackoff == 0 {
		r.InitialBackoff = DefaultInitialBackoff
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = DefaultMaxBackoff
	}
	if r.MaxBackoff < r.InitialBackoff {
		r.MaxBackoff = r.InitialBackoff
	}
	return r
}

// ceiling is the exponential backoff ceiling after the given failed attempt
// (1-based): InitialBackoff·2^(attempt-1), capped at MaxBackoff.
func (r Retry) ceiling(attempt int) time.Duration {
	d := r.InitialBackoff
	for i := 1; i < attempt && d < r.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.MaxBackoff)
}

// backoff is the "full jitter" backoff: uniform in [0, ceiling(attempt)], so
// that workers failing together do not retry together.
func (r Retry) backoff(attempt int) time.Duration {
	c := r.ceiling(attempt)
	if c <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(c) + 1))
}

// throttlePause is how long the whole source pauses after a counted
// rate-limit refusal that came without any hint (no Retry-After, no
// remaining=0 header): max(InitialBackoff, 1s)·4^(strikes-1), capped at
// MaxBackoff.
func (r Retry) throttlePause(strikes int) time.Duration {
	d := max(r.InitialBackoff, time.Second)
	for i := 1; i < strikes && d < r.MaxBackoff; i++ {
		d *= 4
	}
	return min(d, r.MaxBackoff)
}

// retryableStatus reports the statuses retried after a backoff.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// malformedJSON reports whether body claims to be JSON (by Content-Type, or
// by starting with '[' or '{') but does not parse as a sequence of JSON
// values; newline-delimited JSON is accepted. That is what a truncated
// response looks like.
func malformedJSON(contentType string, body []byte) bool {
	malformed, _ := checkJSON(contentType, body)
	return malformed
}

// checkJSON is malformedJSON that also reports whether the body was found
// to be one valid JSON document (gjson.ValidBytes), which spares the
// caller validating it again.
func checkJSON(contentType string, body []byte) (malformed, oneDoc bool) {
	ct := strings.ToLower(contentType)
	if strings.Contains(ct, "json-seq") {
		return false, false
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return false, false
	}
	if !strings.Contains(ct, "json") && trimmed[0] != '[' && trimmed[0] != '{' {
		return false, false
	}
	// gjson's validator is several times faster than json.Valid and is on
	// every page's path
	if gjson.ValidBytes(trimmed) {
		return false, true
	}
	return !validJSONStream(trimmed), false
}

func validJSONStream(b []byte) bool {
	if gjson.ValidBytes(b) {
		return true
	}
	// the stdlib decoder handles NDJSON bodies
	dec := json.NewDecoder(bytes.NewReader(b))
	// Each Decode consumes at least one byte, so len(b)+1 rounds suffice.
	for range len(b) + 1 {
		var v json.RawMessage
		switch err := dec.Decode(&v); {
		case err == io.EOF:
			return true
		case err != nil:
			return false
		}
	}
	return false
}

// intermediaryPage reports a body that did not come from the API itself: an
// HTML error page from a proxy or load balancer ('<'), or JSON that does not
// parse. On an error status that makes the failure transient.
func intermediaryPage(contentType string, body []byte) bool {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '<' {
		return true
	}
	return malformedJSON(contentType, body)
}

// retryableStatusBody decides whether an error status not in the retryable
// list is still transient because of its body: any other 5xx with an
// intermediary's page, or a 4xx whose JSON body is cut short.
func retryableStatusBody(code int, contentType string, body []byte) bool {
	switch {
	case code >= 500:
		return intermediaryPage(contentType, body)
	case code >= 400:
		return malformedJSON(contentType, body)
	}
	return false
}

// retryableTransport reports whether a transport-level error is transient.
// The caller has already handled the caller's own context ending.
func retryableTransport(err error) bool {
	var (
		certErr    *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		dnsErr     *net.DNSError
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return false
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return false
	case errors.Is(err, errUnsupportedEncoding), errors.Is(err, ErrResponseTooLarge):
		return false
	case errors.Is(err, context.Canceled):
		// Canceled without the caller's context ending: treat as transient.
		return true
	}
	// Resets, refused connections, EOFs, timeouts, truncated bodies, corrupt
	// gzip streams: all worth another try.
	return true
}
