package fetch

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestParseRateHints(t *testing.T) {
	now := clockStart
	skewedDate := now.Add(-90 * time.Second).Format(http.TimeFormat) // server clock 90s behind
	tests := []struct {
		name          string
		headers       map[string]string
		wantRetry     time.Duration
		wantRemaining int64
		wantReset     time.Duration // from now; -1: no remaining known
	}{
		{"nothing", nil, 0, 0, -1},
		{"retry-after seconds", map[string]string{"Retry-After": "30"}, 30 * time.Second, 0, -1},
		{"retry-after date", map[string]string{"Retry-After": now.Add(2 * time.Minute).Format(http.TimeFormat)}, 2 * time.Minute, 0, -1},
		{"retry-after date, skewed server clock", map[string]string{
			"Date": skewedDate, "Retry-After": now.Add(-60 * time.Second).Format(http.TimeFormat),
		}, 30 * time.Second, 0, -1},
		{"github epoch reset", map[string]string{
			"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(now.Add(10*time.Minute).Unix(), 10),
		}, 0, 0, 10*time.Minute + time.Second},
		{"github epoch reset, skewed server clock", map[string]string{
			"Date": skewedDate, "X-RateLimit-Remaining": "3", "X-RateLimit-Reset": strconv.FormatInt(now.Add(-30*time.Second).Unix(), 10),
		}, 0, 3, 61 * time.Second},
		{"x-ratelimit delta reset", map[string]string{"X-RateLimit-Remaining": "12", "X-RateLimit-Reset": "45"}, 0, 12, 45 * time.Second},
		{"ietf draft list", map[string]string{"RateLimit": "limit=100, remaining=7, reset=50"}, 0, 7, 50 * time.Second},
		{"ietf structured, most restrictive policy", map[string]string{
			"RateLimit": `"hour";r=40;t=1800, "minute";r=0;t=20`,
		}, 0, 0, 20 * time.Second},
		{"ietf separate headers", map[string]string{"RateLimit-Remaining": "2", "RateLimit-Reset": "9"}, 0, 2, 9 * time.Second},
		{"ietf remaining with policy window only", map[string]string{"RateLimit": "r=5", "RateLimit-Policy": "100;w=3600"}, 0, 5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			got := parseRateHints(h, now)
			if got.retryAfter != tt.wantRetry {
				t.Errorf("retryAfter = %s, want %s", got.retryAfter, tt.wantRetry)
			}
			if tt.wantReset < 0 {
				if got.hasRemaining {
					t.Errorf("hasRemaining = true, want false")
				}
				return
			}
			if !got.hasRemaining || got.remaining != tt.wantRemaining {
				t.Errorf("remaining = %d (known %v), want %d", got.remaining, got.hasRemaining, tt.wantRemaining)
			}
			var reset time.Duration
			if !got.resetAt.IsZero() {
				reset = got.resetAt.Sub(now)
			}
			if reset != tt.wantReset {
				t.Errorf("reset in %s, want %s", reset, tt.wantReset)
			}
		})
	}
}

func TestThrottled403(t *testing.T) {
	tests := []struct {
		name string
		body string
		h    map[string]string
		want bool
	}{
		{"permission", `{"message":"Resource not accessible by integration"}`, nil, false},
		{"secondary rate limit", `{"message":"You have exceeded a secondary rate limit"}`, nil, true},
		{"disabled key", `{"error":"Account disabled"}`, nil, true},
		{"remaining zero header", `{}`, map[string]string{"X-RateLimit-Remaining": "0"}, true},
		{"retry-after header", `{}`, map[string]string{"Retry-After": "60"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.h {
				h.Set(k, v)
			}
			if got := throttled403(parseRateHints(h, clockStart), []byte(tt.body)); got != tt.want {
				t.Errorf("throttled403 = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"no source", Options{}},
		{"negative concurrency", Options{Source: "s", Concurrency: -1}},
		{"zero rate", Options{Source: "s", RateLimit: &RateLimit{Requests: 0, Per: time.Second}}},
		{"negative retries", Options{Source: "s", Retry: Retry{MaxAttempts: -1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil {
				t.Error("New accepted invalid options")
			}
		})
	}
}
