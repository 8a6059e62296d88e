package fetch

import (
	"fmt"
	"net/http"
	"time"
)

// Breaker configures the lockout guard. Upstreams that keep answering 429
// disable credentials (the RMIS incident); the breaker stops sending before
// that happens.
type Breaker struct {
	// Threshold is how many consecutive rate-limit refusals (429, or a 403
	// that mentions rate limits, quota or a disabled credential) open the
	// breaker (default 3). Refusals only count when the request was sent
	// after the previous counted refusal was known, so a burst of in-flight
	// requests refused together counts once, and every counted refusal
	// after the first comes despite the source having waited as told. The
	// same number of consecutive 401s opens it too.
	Threshold int
	// Cooldown is how long the breaker stays open before it lets a single
	// probe request through (default 15m). With QuotaDir the open breaker
	// is shared: other and later processes fail fast too.
	Cooldown time.Duration
}

// Breaker defaults.
const (
	DefaultBreakerThreshold = 3
	DefaultBreakerCooldown  = 15 * time.Minute
)

func (b Breaker) withDefaults() Breaker {
	if b.Threshold <= 0 {
		b.Threshold = DefaultBreakerThreshold
	}
	if b.Cooldown <= 0 {
		b.Cooldown = DefaultBreakerCooldown
	}
	return b
}

// breakerState is the breaker's part of quotaState.
type breakerState struct {
	// Strikes counts consecutive counted rate-limit refusals.
	Strikes int `json:"strikes,omitempty"`
	// AuthStrikes counts consecutive 401 answers.
	AuthStrikes int `json:"auth_strikes,omitempty"`
	// ThrottleSeq increases with every counted refusal. A request records it
	// when sent; a refusal of a request sent before the latest counted one
	// is an echo of the same episode and does not count again.
	ThrottleSeq uint64 `json:"throttle_seq,omitempty"`

	LockoutUntil      time.Time `json:"lockout_until,omitzero"`
	LockoutReason     string    `json:"lockout_reason,omitempty"`
	LockoutStrikes    int       `json:"lockout_strikes,omitempty"`
	LockoutStatus     int       `json:"lockout_status,omitempty"`
	LockoutTrackingID string    `json:"lockout_tracking_id,omitempty"`

	// ProbeUntil is the lease of the half-open breaker's single probe.
	ProbeUntil time.Time `json:"probe_until,omitzero"`
}

// halfOpen reports whether the breaker has tripped before: once its
// cooldown is over, requests go one at a time until one is not refused.
func (s *quotaState) halfOpen(b Breaker) bool {
	return s.Strikes >= b.Threshold || s.AuthStrikes >= b.Threshold
}

func (s *quotaState) lockoutError(file string) *LockoutError {
	return &LockoutError{
		Source:     s.Source,
		Reason:     s.LockoutReason,
		Strikes:    s.LockoutStrikes,
		Until:      s.LockoutUntil,
		LastStatus: s.LockoutStatus,
		TrackingID: s.LockoutTrackingID,
		StateFile:  file,
	}
}

// answer is what the breaker needs to know about one HTTP exchange.
type answer struct {
	status     int // 0: no HTTP answer (transport error)
	throttled  bool
	seq        uint64
	probe      bool
	trackingID string
}

// answerEffect is what recording an answer changed.
type answerEffect struct {
	counted bool // a new rate-limit strike
	strikes int
	opened  bool          // this answer opened the breaker
	lock    *LockoutError // the breaker is open now
}

// recordAnswer updates the strikes and opens the breaker when they reach
// the threshold.
func (s *quotaState) recordAnswer(now time.Time, a answer, b Breaker, file string) answerEffect {
	var eff answerEffect
	if a.probe {
		s.ProbeUntil = time.Time{}
	}
	if a.status == 0 {
		return eff
	}
	switch {
	case a.throttled:
		if a.seq == s.ThrottleSeq {
			s.ThrottleSeq++
			s.Strikes++
			eff.counted = true
		}
		if eff.counted && s.Strikes >= b.Threshold {
			s.open(now, b, a, s.Strikes, fmt.Sprintf(
				"the upstream refused %d requests in a row for rate-limit or quota reasons (last answer %d %s) although rawland waited as told between them",
				s.Strikes, a.status, http.StatusText(a.status)))
			eff.opened = true
		}
	case a.seq == s.ThrottleSeq:
		// An answer to a request sent after the last refusal was known:
		// the refusals are no longer consecutive.
		s.Strikes = 0
	}
	eff.strikes = s.Strikes
	if a.status == http.StatusUnauthorized {
		s.AuthStrikes++
		if s.AuthStrikes >= b.Threshold && !eff.opened {
			s.open(now, b, a, s.AuthStrikes, fmt.Sprintf(
				"the upstream rejected the credentials %d times in a row (401 Unauthorized); check the secret's environment variable, as repeated failed logins can get an account disabled",
				s.AuthStrikes))
			eff.opened = true
		}
	} else {
		s.AuthStrikes = 0
	}
	if now.Before(s.LockoutUntil) {
		eff.lock = s.lockoutError(file)
	}
	return eff
}

func (s *quotaState) open(now time.Time, b Breaker, a answer, strikes int, reason string) {
	s.LockoutUntil = now.Add(b.Cooldown)
	s.LockoutReason = reason
	s.LockoutStrikes = strikes
	s.LockoutStatus = a.status
	s.LockoutTrackingID = a.trackingID
	s.ProbeUntil = time.Time{}
}
