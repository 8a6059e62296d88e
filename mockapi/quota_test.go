package mockapi

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestAuth(t *testing.T) {
	_, ts := start(t, Options{Seed: 1, Size: 5, Token: "s3cret"})
	tests := []struct {
		name, auth string
		want       int
	}{
		{"no header", "", 401},
		{"wrong token", "Bearer nope", 401},
		{"wrong scheme", "Basic s3cret", 401},
		{"right token", "Bearer s3cret", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			for _, p := range []string{"/users", "/delta", "/records/1"} {
				r := get(t, ts.Client(), ts.URL+p, hdr...)
				if r.status != tc.want {
					t.Errorf("%s: status %d, want %d", p, r.status, tc.want)
				}
				if tc.want == 401 && (r.header.Get("WWW-Authenticate") == "" || string(r.body[:11]) != `{"message":`) {
					t.Errorf("%s: 401 without WWW-Authenticate or JSON body: %s", p, r.body)
				}
			}
		})
	}
}

func TestQuotaHeadersAndCredentialDisabling(t *testing.T) {
	clk := newClock()
	s, ts := start(t, Options{Seed: 1, Size: 5, Now: clk.Now,
		Faults: Faults{Quota: 3, QuotaWindow: time.Minute, DisableAfter: 3}})
	reset := strconv.FormatInt(clk.Now().Add(time.Minute).Unix(), 10)
	tests := []struct {
		status    int
		remaining string
	}{
		{200, "2"}, {200, "1"}, {200, "0"},
		{429, "0"}, {429, "0"}, // violations 1 and 2
		{429, "0"}, // violation 3: the credential is disabled from now on
		{403, ""},
	}
	for i, tc := range tests {
		r := get(t, ts.Client(), ts.URL+"/users")
		if r.status != tc.status || r.header.Get("X-RateLimit-Remaining") != tc.remaining {
			t.Fatalf("request %d: status %d remaining %q, want %d and %q", i+1, r.status, r.header.Get("X-RateLimit-Remaining"), tc.status, tc.remaining)
		}
		if tc.status == 200 {
			h := r.header
			want := map[string]string{
				"X-RateLimit-Limit": "3", "X-RateLimit-Reset": reset,
				"RateLimit":        "limit=3, remaining=" + tc.remaining + ", reset=60",
				"RateLimit-Policy": "3;w=60",
			}
			for k, v := range want {
				if h.Get(k) != v {
					t.Errorf("request %d: %s %q, want %q", i+1, k, h.Get(k), v)
				}
			}
		}
		if tc.status == 429 && r.header.Get("Retry-After") != "60" {
			t.Errorf("request %d: Retry-After %q, want 60", i+1, r.header.Get("Retry-After"))
		}
		if tc.status == 403 && string(r.body) != `{"message":"credential disabled"}` {
			t.Errorf("403 body %s", r.body)
		}
	}
	st := s.Stats()
	if st.QuotaViolations != 3 || !st.CredentialDisabled || !st.DisabledAt.Equal(clk.Now()) {
		t.Errorf("violations %d disabled %v at %s", st.QuotaViolations, st.CredentialDisabled, st.DisabledAt)
	}
	clk.Add(time.Hour) // a new window does not re-enable a disabled credential
	if r := get(t, ts.Client(), ts.URL+"/users"); r.status != http.StatusForbidden {
		t.Errorf("next window: status %d, want 403", r.status)
	}
	s.ResetCredential()
	if r := get(t, ts.Client(), ts.URL+"/users"); r.status != 200 || r.header.Get("X-RateLimit-Remaining") != "2" {
		t.Errorf("after reset: status %d remaining %q", r.status, r.header.Get("X-RateLimit-Remaining"))
	}
}

func TestQuotaWindowResets(t *testing.T) {
	clk := newClock()
	s, ts := start(t, Options{Seed: 1, Size: 5, Now: clk.Now, Faults: Faults{Quota: 2, QuotaWindow: 10 * time.Second}})
	got := statuses(t, ts.Client(), ts.URL+"/countries", 3)
	clk.Add(10 * time.Second)
	got = append(got, statuses(t, ts.Client(), ts.URL+"/countries", 3)...)
	want := []int{200, 200, 429, 200, 200, 429}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
	if st := s.Stats(); st.QuotaViolations != 2 || st.CredentialDisabled || st.QuotaUsed != 2 {
		t.Errorf("violations %d disabled %v used %d; want 2, false, 2 (DisableAfter 0 never disables)", st.QuotaViolations, st.CredentialDisabled, st.QuotaUsed)
	}
}
