package fetch

import "sync/atomic"

// Stats are a Client's counters since New, for tests and run summaries.
type Stats struct {
	// Requests is the number of HTTP requests sent (attempts).
	Requests int64
	// Retries is the number of attempts after the first of a Do.
	Retries int64
	// TooManyRequests is the number of 429 answers.
	TooManyRequests int64
	// Throttled is the number of rate-limit refusals: 429s plus 403s that
	// mention rate limits, quota or a disabled credential.
	Throttled int64
	// QuotaWaits is the number of requests that waited because the source
	// was paused (quota used up, Retry-After, breaker probe).
	QuotaWaits int64
	// BudgetWaits is the number of requests that waited for the client-side
	// rate budget (Options.RateLimit).
	BudgetWaits int64
	// Refused is the number of requests refused by the open breaker.
	Refused int64
	// MaxInFlight is the most requests observed in flight at once.
	MaxInFlight int64
}

type counters struct {
	requests, retries, tooMany, throttled, quotaWaits, budgetWaits, refused atomic.Int64
	maxInFlight                                                             atomic.Int64
}

func (c *counters) noteInFlight(n int64) {
	for {
		m := c.maxInFlight.Load()
		if n <= m || c.maxInFlight.CompareAndSwap(m, n) {
			return
		}
	}
}

// Stats returns a snapshot of the Client's counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{
		Requests:        s.requests.Load(),
		Retries:         s.retries.Load(),
		TooManyRequests: s.tooMany.Load(),
		Throttled:       s.throttled.Load(),
		QuotaWaits:      s.quotaWaits.Load(),
		BudgetWaits:     s.budgetWaits.Load(),
		Refused:         s.refused.Load(),
		MaxInFlight:     s.maxInFlight.Load(),
	}
}
