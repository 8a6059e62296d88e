package fetch

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// rateHints is what an answer's headers say about the source's quota, with
// every time converted to the local clock.
type rateHints struct {
	retryAfter    time.Duration // Retry-After, if hasRetryAfter
	hasRetryAfter bool
	remaining     int64 // requests left in the window, if hasRemaining
	hasRemaining  bool
	resetAt       time.Time     // when the window resets (zero if unknown)
	window        time.Duration // window length from RateLimit-Policy (0 if unknown)
	family        string        // header family that gave remaining, for log lines
}

// epochThreshold separates X-RateLimit-Reset values that are unix times
// (GitHub) from ones that are delta seconds (some other APIs).
const epochThreshold = 1_000_000_000

// parseRateHints reads Retry-After (delta-seconds or HTTP-date), GitHub-style
// X-RateLimit-Remaining / X-RateLimit-Reset (unix seconds), the IETF draft's
// RateLimit (limit=, remaining=, reset= or the newer r=, t= parameters),
// RateLimit-Remaining / RateLimit-Reset and RateLimit-Policy (w= window).
// Absolute times are corrected for clock skew with the Date header.
func parseRateHints(h http.Header, now time.Time) rateHints {
	var hints rateHints
	serverNow := now
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		serverNow = d
	}
	local := func(t time.Time) time.Time { return now.Add(t.Sub(serverNow)) }

	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
			hints.retryAfter, hints.hasRetryAfter = secondsDur(secs), true
		} else if t, err := http.ParseTime(v); err == nil {
			hints.retryAfter, hints.hasRetryAfter = max(0, local(t).Sub(now)), true
		}
	}

	type candidate struct {
		remaining int64
		resetAt   time.Time
		family    string
	}
	var cands []candidate

	// GitHub and friends: X-RateLimit-Remaining + X-RateLimit-Reset.
	for _, prefix := range []string{"X-Ratelimit-", "X-Rate-Limit-"} {
		rem, ok := headerInt(h, prefix+"Remaining")
		if !ok {
			continue
		}
		c := candidate{remaining: rem, family: "x-ratelimit"}
		if v, ok := headerInt(h, prefix+"Reset"); ok {
			if v > epochThreshold {
				// Whole seconds on both sides: add one so we never come early.
				c.resetAt = local(time.Unix(v, 0)).Add(time.Second)
			} else {
				c.resetAt = now.Add(secondsDur(v))
			}
		}
		cands = append(cands, c)
	}

	// IETF draft, older form: RateLimit-Remaining + RateLimit-Reset (delta).
	if rem, ok := headerInt(h, "Ratelimit-Remaining"); ok {
		c := candidate{remaining: rem, family: "ratelimit"}
		if v, ok := headerInt(h, "Ratelimit-Reset"); ok {
			c.resetAt = now.Add(secondsDur(v))
		}
		cands = append(cands, c)
	}

	// IETF draft, structured form: RateLimit: limit=10, remaining=0, reset=30
	// or RateLimit: "default";r=0;t=30 (possibly several policies).
	for _, v := range h.Values("Ratelimit") {
		for _, item := range parseLimitItems(v) {
			rem, ok := item.get("remaining", "r")
			if !ok {
				continue
			}
			c := candidate{remaining: rem, family: "ratelimit"}
			if t, ok := item.get("reset", "t"); ok {
				c.resetAt = now.Add(secondsDur(t))
			}
			cands = append(cands, c)
		}
	}

	for _, v := range h.Values("Ratelimit-Policy") {
		for _, item := range parseLimitItems(v) {
			if w, ok := item.get("w"); ok && secondsDur(w) > hints.window {
				hints.window = secondsDur(w)
			}
		}
	}

	for i, c := range cands {
		better := i == 0 || c.remaining < hints.remaining ||
			(c.remaining == hints.remaining && c.resetAt.After(hints.resetAt))
		if better {
			hints.remaining, hints.resetAt, hints.family, hints.hasRemaining = c.remaining, c.resetAt, c.family, true
		}
	}
	return hints
}

func secondsDur(s int64) time.Duration {
	const maxSecs = int64(1<<63-1) / int64(time.Second)
	return time.Duration(min(max(s, 0), maxSecs)) * time.Second
}

func headerInt(h http.Header, key string) (int64, bool) {
	v := strings.TrimSpace(h.Get(key))
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		// Some servers send "0.0" or "12.5".
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil {
			return 0, false
		}
		n = int64(f + 0.999999)
	}
	return n, true
}

// limitItem is one policy of a RateLimit / RateLimit-Policy header.
type limitItem map[string]int64

func (it limitItem) get(keys ...string) (int64, bool) {
	for _, k := range keys {
		if v, ok := it[k]; ok {
			return v, true
		}
	}
	return 0, false
}

// parseLimitItems splits a RateLimit-style header into policies. It accepts
// both the comma-separated parameters of the early drafts
// ("limit=10, remaining=0, reset=30") and the structured-field items of the
// later ones ("\"day\";r=0;t=30, \"hour\";r=5;t=10", "100;w=60").
func parseLimitItems(v string) []limitItem {
	var items []limitItem
	var cur limitItem
	for part := range strings.SplitSeq(v, ",") {
		pieces := strings.Split(part, ";")
		first := strings.TrimSpace(pieces[0])
		startsItem := first != "" && !strings.Contains(first, "=")
		if cur == nil || startsItem || keysOverlap(cur, pieces) {
			cur = limitItem{}
			items = append(items, cur)
		}
		if startsItem {
			// A bare number is the quota of an early-draft policy ("100;w=60").
			if n, err := strconv.ParseInt(strings.Trim(first, `"`), 10, 64); err == nil {
				cur["q"] = n
			}
		}
		for _, p := range pieces {
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
			if err != nil {
				continue
			}
			cur[strings.ToLower(strings.TrimSpace(k))] = n
		}
	}
	return items
}

func keysOverlap(it limitItem, pieces []string) bool {
	for _, p := range pieces {
		if k, _, ok := strings.Cut(strings.TrimSpace(p), "="); ok {
			if _, dup := it[strings.ToLower(strings.TrimSpace(k))]; dup {
				return true
			}
		}
	}
	return false
}

// throttleWords are what a 403 body says when the refusal is about quota or a
// disabled credential rather than permissions.
var throttleWords = [][]byte{
	[]byte("rate limit"), []byte("rate-limit"), []byte("ratelimit"), []byte("quota"),
	[]byte("too many requests"), []byte("throttl"), []byte("disabled"),
}

// throttled403 reports whether a 403 is a rate-limit refusal: its headers say
// remaining=0 or carry Retry-After, or its body mentions rate limits, quota,
// throttling or a disabled credential.
func throttled403(hints rateHints, body []byte) bool {
	if (hints.hasRemaining && hints.remaining <= 0) || hints.hasRetryAfter {
		return true
	}
	head := bytes.ToLower(body[:min(len(body), 4096)])
	for _, w := range throttleWords {
		if bytes.Contains(head, w) {
			return true
		}
	}
	return false
}
