package mockapi

import (
	"crypto/subtle"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The credential: bearer-token authentication, a requests-per-window quota
// with GitHub-style and IETF rate-limit headers, and the upstream's penalty
// for clients that keep calling once the quota is gone: after
// Faults.DisableAfter violations the credential is disabled for good (until
// ResetCredential), as the RMIS upstream of seeds/000 did.

// withAuth requires "Authorization: Bearer <Options.Token>" when a token is set.
func (s *Server) withAuth(next http.Handler) http.Handler {
	if s.opts.Token == "" {
		return next
	}
	want := []byte("Bearer " + s.opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mockapi"`)
			writeError(w, http.StatusUnauthorized, "requires authentication: send Authorization: Bearer <token>")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withCredential answers 403 once the credential is disabled.
func (s *Server) withCredential(next http.Handler) http.Handler {
	if s.opts.Faults.Quota <= 0 || s.opts.Faults.DisableAfter <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.quota.isDisabled() {
			writeError(w, http.StatusForbidden, "credential disabled")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withQuota counts the request against the window and sets the headers.
func (s *Server) withQuota(next http.Handler) http.Handler {
	if s.opts.Faults.Quota <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := s.now()
		ok, remaining, reset := s.quota.take(now)
		q := s.quota
		secs := max(int64(math.Ceil(reset.Sub(now).Seconds())), 0)
		h := w.Header()
		h.Set("X-RateLimit-Limit", strconv.Itoa(q.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Used", strconv.Itoa(q.limit-remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
		h.Set("RateLimit", "limit="+strconv.Itoa(q.limit)+", remaining="+strconv.Itoa(remaining)+", reset="+strconv.FormatInt(secs, 10))
		h.Set("RateLimit-Policy", strconv.Itoa(q.limit)+";w="+strconv.FormatInt(int64(q.window/time.Second), 10))
		if !ok {
			h.Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
			writeError(w, http.StatusTooManyRequests, "API rate limit exceeded: wait for the reset; repeated violations disable the credential")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ResetCredential re-enables a disabled credential and forgets the
// violations, like a support ticket to the vendor.
func (s *Server) ResetCredential() {
	s.quota.mu.Lock()
	defer s.quota.mu.Unlock()
	s.quota.disabled, s.quota.violations, s.quota.disabledAt = false, 0, time.Time{}
}

// quota is a fixed-window request budget for the one credential.
type quota struct {
	mu           sync.Mutex
	limit        int
	window       time.Duration
	disableAfter int
	start        time.Time
	idx          int64 // current window number since start
	used         int
	violations   int
	disabled     bool
	disabledAt   time.Time
}

func newQuota(f Faults, start time.Time) *quota {
	return &quota{limit: f.Quota, window: f.QuotaWindow, disableAfter: f.DisableAfter, start: start}
}

func (q *quota) roll(now time.Time) {
	if idx := int64(now.Sub(q.start) / q.window); idx > q.idx {
		q.idx, q.used = idx, 0
	}
}

// take spends one request. When the window is exhausted it counts a
// violation (the previous response said remaining=0) and may disable the
// credential.
func (q *quota) take(now time.Time) (ok bool, remaining int, reset time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.roll(now)
	reset = q.start.Add(time.Duration(q.idx+1) * q.window)
	if q.used >= q.limit {
		q.violations++
		if q.disableAfter > 0 && q.violations >= q.disableAfter && !q.disabled {
			q.disabled, q.disabledAt = true, now
		}
		return false, 0, reset
	}
	q.used++
	return true, q.limit - q.used, reset
}

func (q *quota) isDisabled() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.disabled
}

func (q *quota) snapshot(out *Stats, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.limit > 0 {
		q.roll(now)
	}
	out.QuotaUsed, out.QuotaViolations = q.used, q.violations
	out.CredentialDisabled, out.DisabledAt = q.disabled, q.disabledAt
}
