package fetch

import (
	"sync"
	"time"
)

// RateLimit is a client-side request budget for a source: at most Requests
// per Per, paced evenly (a token bucket of Burst tokens refilled at
// Requests/Per). With Options.QuotaDir the budget is shared by every process
// using that directory.
type RateLimit struct {
	// Requests is the number of requests allowed per Per.
	Requests int
	// Per is the window the Requests are spread over.
	Per time.Duration
	// Burst is how many requests may go back to back after an idle spell
	// (default 1: strictly paced).
	Burst int
}

// interval is the time one request's token takes to refill, paced a little
// under the budget: the Requests of a window are spread over Per plus
// pacingMargin(Per). A request leaves a few milliseconds after it was
// admitted (scheduling, a loaded machine), and without the margin a window
// measured at the upstream between a late request and an on-time one could
// hold one request more than the budget.
func (r RateLimit) interval() time.Duration {
	return max((r.Per+pacingMargin(r.Per))/time.Duration(r.Requests), time.Nanosecond)
}

// pacingMargin is the slack added to a budget's window: 5% of it, at most
// 100 ms (negligible for hourly quotas, 5% of throughput for per-second ones).
func pacingMargin(per time.Duration) time.Duration {
	return min(per/20, 100*time.Millisecond)
}

// quotaState is everything known about a source's quota: the client budget's
// next free slot, the upstream's remaining requests and reset, a pause the
// upstream asked for, and the breaker. The same struct is kept in memory or,
// with QuotaDir, in a JSON file shared by processes (see quota_file.go).
type quotaState struct {
	Version int    `json:"version"`
	Source  string `json:"source"`

	// NextSlot is the client budget's theoretical arrival time (GCRA): the
	// next request may go at NextSlot - (Burst-1)·interval. File store only;
	// in-process budgets use golang.org/x/time/rate.
	NextSlot time.Time `json:"next_slot,omitzero"`

	// PausedUntil is when a pause the upstream asked for (Retry-After, or a
	// rate-limit refusal) ends; PauseReason says which.
	PausedUntil time.Time `json:"paused_until,omitzero"`
	PauseReason string    `json:"pause_reason,omitempty"`

	// Remaining is a conservative count of requests left in the upstream's
	// window (from its rate-limit headers, minus what was sent since),
	// valid while RemainingKnown and before ResetAt.
	RemainingKnown bool      `json:"remaining_known,omitempty"`
	Remaining      int64     `json:"remaining"`
	ResetAt        time.Time `json:"reset_at,omitzero"`

	breakerState
}

// stateStore holds a source's quotaState; update runs fn atomically with
// respect to every other update of the same source (in this process, and
// across processes for the file store).
type stateStore interface {
	update(fn func(s *quotaState)) error
	// file is the shared state file, "" for the in-memory store.
	file() string
}

// memStore is the in-process stateStore.
type memStore struct {
	mu sync.Mutex
	st quotaState
}

var _ stateStore = (*memStore)(nil)

func newMemStore(source string) *memStore {
	return &memStore{st: quotaState{Version: stateVersion, Source: source}}
}

func (m *memStore) update(fn func(s *quotaState)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	fn(&m.st)
	return nil
}

func (m *memStore) file() string { return "" }

// defaultWindow is assumed when an upstream says how many requests remain
// but not when its window resets.
const defaultWindow = time.Minute

// gateDecision is the verdict on whether a request may be sent now.
type gateDecision struct {
	wait   time.Duration // > 0: wait this long, then ask again
	until  time.Time
	reason string
	lock   *LockoutError // breaker open: fail fast
	seq    uint64        // throttle sequence seen at send (see breaker.go)
	probe  bool          // this request is the half-open breaker's probe
}

// gate decides whether a request may go now. Without commit it only looks;
// with commit it also spends one of the upstream's remaining requests and
// takes the breaker's probe if one is due.
func (s *quotaState) gate(now time.Time, commit bool, b Breaker, probeLease time.Duration, file string) gateDecision {
	if now.Before(s.LockoutUntil) {
		return gateDecision{lock: s.lockoutError(file)}
	}
	until, reason := s.blockedUntil()
	if now.Before(until) {
		return gateDecision{wait: until.Sub(now), until: until, reason: reason}
	}
	var d gateDecision
	if s.halfOpen(b) {
		if now.Before(s.ProbeUntil) {
			// Poll the local state (not the upstream) until the probe answers.
			wait := min(s.ProbeUntil.Sub(now), time.Second)
			return gateDecision{wait: wait, until: now.Add(wait), reason: "breaker half-open, waiting for the probe request"}
		}
		if commit {
			s.ProbeUntil = now.Add(probeLease)
			d.probe = true
		}
	}
	if commit && s.RemainingKnown {
		if now.Before(s.ResetAt) {
			s.Remaining--
		} else {
			s.RemainingKnown = false // window over: unknown until the next answer
		}
	}
	d.seq = s.ThrottleSeq
	return d
}

// observeRemaining merges an answer's remaining/reset into the state.
// othersInFlight requests were sent but not answered yet; the upstream may
// not have counted them, so they are subtracted: the local count can only
// err on the low side, and the Client never sends a request known to exceed
// the quota. It reports whether the quota is now used up.
func (s *quotaState) observeRemaining(now time.Time, h rateHints, othersInFlight int64) bool {
	if !h.hasRemaining {
		return false
	}
	reset := h.resetAt
	switch {
	case reset.IsZero():
		w := h.window
		if w <= 0 {
			w = defaultWindow
		}
		reset = now.Add(w)
	case !reset.After(now):
		if h.remaining > 0 {
			return false // that window is over already
		}
		reset = now.Add(time.Second) // "none left" yet "reset passed": skewed clocks; wait a little
	}
	rem := max(h.remaining-max(othersInFlight, 0), 0)
	if h.remaining <= 0 {
		rem = 0
	}
	// Same window if the reset moved by less than the headers' resolution.
	newWindow := !s.RemainingKnown || !now.Before(s.ResetAt) || reset.After(s.ResetAt.Add(2*time.Second))
	if newWindow {
		s.Remaining, s.ResetAt, s.RemainingKnown = rem, reset, true
	} else {
		s.Remaining = min(s.Remaining, rem)
		if reset.After(s.ResetAt) {
			s.ResetAt = reset
		}
	}
	return s.Remaining <= 0 && now.Before(s.ResetAt)
}

// pause extends the source-wide pause to until; it reports whether it did.
func (s *quotaState) pause(until time.Time, reason string) bool {
	if !until.After(s.PausedUntil) {
		return false
	}
	s.PausedUntil, s.PauseReason = until, reason
	return true
}

// takeSlot takes a slot of the cross-process budget (GCRA, the token bucket
// written as one timestamp) if one is free now, and otherwise says how long
// to wait before asking again. A slot is taken at the moment the request is
// sent, never reserved ahead: a process that wakes late for a reserved slot
// would send bunched with the next holders' requests and break the budget
// in the window the upstream counts.
func (s *quotaState) takeSlot(now time.Time, r RateLimit) (time.Duration, bool) {
	interval := r.interval()
	tau := time.Duration(max(r.Burst, 1)-1) * interval
	if at := s.NextSlot.Add(-tau); at.After(now) {
		return at.Sub(now), false
	}
	tat := s.NextSlot
	if tat.Before(now) {
		tat = now
	}
	s.NextSlot = tat.Add(interval)
	return 0, true
}

// blockedUntil is when the source may send again and why.
func (s *quotaState) blockedUntil() (time.Time, string) {
	until, reason := s.PausedUntil, s.PauseReason
	if s.RemainingKnown && s.Remaining <= 0 && s.ResetAt.After(until) {
		until, reason = s.ResetAt, "the upstream's rate-limit headers say no requests remain until the window resets"
	}
	return until, reason
}
