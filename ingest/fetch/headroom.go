package fetch

import "time"

// Headroom reports what the upstream last said of the source's quota: a
// conservative count of the requests left before resetAt (requests sent
// since are subtracted). known is false when the upstream sends no
// rate-limit headers or the window has reset. Callers that plan a batch of
// requests (the delta queue) size it with this, so that a cycle does not
// start work the quota cannot finish before the reset.
func (c *Client) Headroom() (remaining int64, resetAt time.Time, known bool) {
	now := c.now()
	c.store.update(func(s *quotaState) {
		if s.RemainingKnown && s.ResetAt.After(now) {
			remaining, resetAt, known = s.Remaining, s.ResetAt, true
		}
	})
	return remaining, resetAt, known
}
