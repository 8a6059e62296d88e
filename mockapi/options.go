package mockapi

import (
	"strings"
	"time"
)

// Defaults applied by New.
const (
	// DefaultSize is the number of records per stream at start.
	DefaultSize = 1000
	// DefaultDeltaDeadline is how long a listed delta-queue ID stays leased
	// before the queue hands it out again (the RMIS upstream's 2 minutes).
	DefaultDeltaDeadline = 2 * time.Minute
	// DefaultQuotaWindow is the length of one quota window.
	DefaultQuotaWindow = time.Hour
	// DefaultRetryAfter is the Retry-After sent with injected 429 and 503.
	DefaultRetryAfter = time.Second
)

// DefaultEpoch is when the generated initial history ends unless
// Options.Epoch says otherwise. It is fixed so that a seed always yields the
// same bytes.
var DefaultEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Options configures a Server. The zero value serves DefaultSize records per
// stream, without authentication and without faults.
type Options struct {
	// Seed makes all data and all fault decisions deterministic.
	Seed int64
	// Size is the number of records per stream at start (default
	// DefaultSize). Records are generated lazily; a million is fine.
	Size int
	// Token, when non-empty, is required as "Authorization: Bearer <Token>"
	// on every request; anything else gets 401.
	Token string
	// Faults injects upstream misbehaviour; the zero value injects none.
	Faults Faults
	// Now is the operational clock (quota windows, delta-queue deadlines,
	// HTTP dates, latency windows); default time.Now. When set, Advance also
	// moves record timestamps at least up to Now().
	Now func() time.Time
	// Epoch is when the initial four-year history of every stream ends
	// (default DefaultEpoch). Record timestamps never depend on the wall
	// clock unless Now is set.
	Epoch time.Time
	// Drift is the fraction (0..1, e.g. 0.02) of users records whose status
	// is served as "enabled", a value their schema does not allow: the
	// upstream renamed an enum value. Deterministic per record version.
	Drift float64
	// Delta configures the certificates delta queue.
	Delta DeltaOptions
	// PathPrefix, e.g. "/v2", mounts every endpoint under a prefix, like an
	// API whose base URL carries a path.
	PathPrefix string
}

// DeltaOptions configures the certificates delta queue.
type DeltaOptions struct {
	// QueueSize is the number of certificate IDs queued at start: 0 means
	// all of them (Size), a negative value means none.
	QueueSize int
	// Fail500 lists certificate IDs whose fetch always answers 500.
	Fail500 []int64
	// Fail404 lists certificate IDs whose fetch always answers 404 although
	// they are queued and live.
	Fail404 []int64
}

// Faults switches on upstream misbehaviour. Every switch is independent and
// off at its zero value; all decisions derive from the seed, the request URL
// and how many times that URL was requested, so a sequential client sees the
// same faults on every run.
type Faults struct {
	// Paths limits the random faults (ErrorRate, ResetRate, TruncateRate,
	// HTMLErrorRate, latency) to request paths with one of these prefixes
	// (without PathPrefix), e.g. "/records". Empty means every path.
	Paths []string

	// ErrorRate is the fraction of requests answered 503 or 429 (half each)
	// with a Retry-After header: seconds, or for one in four an HTTP date.
	ErrorRate float64
	// RetryAfter is the delay Retry-After announces (default 1s).
	RetryAfter time.Duration

	// Quota is the number of requests allowed per QuotaWindow (0 = no
	// quota). Responses carry X-RateLimit-* (GitHub style) and IETF
	// RateLimit / RateLimit-Policy headers; an exhausted quota answers 429.
	Quota int
	// QuotaWindow is the quota's fixed window (default 1h).
	QuotaWindow time.Duration
	// DisableAfter disables the credential after this many quota violations
	// (requests sent while the quota was known to be exhausted): every later
	// request gets 403 {"message":"credential disabled"}. 0 = never.
	DisableAfter int
	// MaxConcurrent, when positive, answers 429 (a "secondary rate limit")
	// to any request that arrives while that many are already in flight.
	MaxConcurrent int

	// Latency is added to every request, plus a uniform random Jitter.
	Latency time.Duration
	// Jitter is the maximum random extra latency.
	Jitter time.Duration
	// SpikeEvery makes every Nth request (by arrival) sleep SpikeLatency more.
	SpikeEvery int
	// SpikeLatency is the extra sleep of a spike.
	SpikeLatency time.Duration
	// SpikeAfter and SpikeFor define a time window, relative to New, in which
	// every request sleeps SpikeLatency more (SpikeFor 0 = no window).
	SpikeAfter, SpikeFor time.Duration

	// ResetRate is the fraction of requests whose connection is reset
	// without a response.
	ResetRate float64
	// TruncateRate is the fraction of 200 responses whose body is cut: half
	// of them announce the full Content-Length and close early, half send a
	// consistent Content-Length with the JSON cut in the middle.
	TruncateRate float64
	// HTMLErrorRate is the fraction of requests answered by an HTML error
	// page with status 502 or 500 (a proxy in front of the API).
	HTMLErrorRate float64

	// DeltaDeadline is how long listed delta-queue IDs stay leased before
	// they are queued again (default 2m).
	DeltaDeadline time.Duration
	// BreakListingAfterPages makes full listings (requests without since)
	// fail with 500 from this page on (0-based page index; 0 = never).
	BreakListingAfterPages int
}

func (o Options) withDefaults() Options {
	if o.Size <= 0 {
		o.Size = DefaultSize
	}
	if o.Epoch.IsZero() {
		o.Epoch = DefaultEpoch
	}
	if o.Faults.DeltaDeadline <= 0 {
		o.Faults.DeltaDeadline = DefaultDeltaDeadline
	}
	if o.Faults.QuotaWindow <= 0 {
		o.Faults.QuotaWindow = DefaultQuotaWindow
	}
	if o.Faults.RetryAfter <= 0 {
		o.Faults.RetryAfter = DefaultRetryAfter
	}
	o.PathPrefix = strings.TrimRight(o.PathPrefix, "/")
	if o.PathPrefix != "" && !strings.HasPrefix(o.PathPrefix, "/") {
		o.PathPrefix = "/" + o.PathPrefix
	}
	return o
}
